"""Entity-layer figures over ../shared (issue 7): what a litigation analyst can check by rule.

Runs ``lexprep run`` on ../shared/corpus (read in place) into a fresh SQLite store, exports it, and prints:

1. **Duplicate mention spans**: (document, start, end) exported more than once in mentions.jsonl, and
   spans of one document that overlap (both must be 0).
2. **Full case citation recall**: per court PDF, eyecite's FullCaseCitations on the whitespace-
   normalised raw text (pypdfium2, pages joined) found among our CASE mentions (a citation counts when
   it is a CASE mention's citation or one of its parallel citations). Record and appendix cites that
   eyecite reads as a reporter ("1 App. 24" -> Ohio App.) without both a case name and a year are left out
   of the reference:
   they are not cases (lexprep.ner.citations.RECORD_REPORTERS); so are a slip opinion's own "569 U. S. ____"
   running headers (no page number: cleaning drops them as running headers). Goal >= 0.98.
3. **Short forms resolved**: of the Id., supra, short and reference citations eyecite finds in each
   document's cleaned text (soft line breaks joined), the share that are our mentions resolved to a full
   citation's entity (linked, or "Id. § x" read as the same code's section x). Left out of the reference:
   "supra" with no name before it ("see supra, at 7": the opinion's own pages) and "Id." after a record
   cite or after no citation at all. Goal >= 0.9.
4. **CUAD defined terms**: for each contract in ../shared/eval/contracts/cuad_gold.csv, whether each
   defined role of its Parties column ("Distributor", "Sponsor"...) is an alias of the entity of the
   party it defines (an ORG/PERSON entity mentioned in that contract whose name or aliases match one of
   the party's names). Goal: all.
5. **Role-word entities**: matter-wide entities whose name is only a role or generic word (Plaintiff,
   Court, State, Agreement, Company...). Goal 0.
6. Counts per label, and with ``--sample FILE`` a random sample (25 per label, seed 7) of entities with
   the context of up to two mentions each, for reading.

Usage: ``python bench/eval_entities.py [--keep DIR] [--db URL --export DIR] [--sample FILE]``.
"""

from __future__ import annotations

import argparse
import ast
import collections
import csv
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LEXPREP_SHARED_DIR", REPO.parent / "shared"))
sys.path.insert(0, str(REPO))

from bench.eval_cuad_parties import is_role, norm  # noqa: E402 - the same party matching as the CUAD recall

ROLE_WORDS = frozenset("""plaintiff plaintiffs defendant defendants appellant appellants appellee appellees petitioner
petitioners respondent respondents court state commonwealth agreement company party parties clerk government
customer distributor carrier shipper sponsor licensor licensee buyer seller borrower lender tenant landlord
employee employer contractor consultant supplier vendor purchaser guarantor trustee agent board plan holder
registrant""".split())
SHORT_FORMS = ("IdCitation", "SupraCitation", "ShortCaseCitation", "ReferenceCitation")
RESOLVED_METHODS = {"id_cite", "supra", "short_cite", "reference"}


def run_lexprep(work: Path) -> tuple[Path, Path]:
    bin_dir = Path(sys.executable).parent
    db = work / "entities.db"
    env = dict(os.environ, PREFECT_HOME=str(work / "prefect-home"))
    url = f"sqlite:///{db}"
    subprocess.run([str(bin_dir / "lexprep"), "run", str(SHARED / "corpus"), "--matter", "shared", "--db", url, "--json"],
                   check=True, capture_output=True, env=env, cwd=work)
    subprocess.run([str(bin_dir / "lexprep"), "export", "--matter", "shared", "--db", url, "--out", str(work / "out")],
                   check=True, capture_output=True, env=env, cwd=work)
    return db, work / "out"


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def figures(db: Path, out: Path, verbose: bool = False) -> dict:
    """The figures of the module docstring from a store of ../shared/corpus and its export.

    Returns ``{"mentions", "duplicate_spans", "overlapping_spans", "case_citations": (found, total),
    "short_forms": (resolved, total), "cuad_roles": {(file, role): owner or None}, "cuad_all": bool,
    "role_entities": [names], "entities_by_label": {label: n}}``; with ``verbose`` it also prints them.
    """
    from eyecite import get_citations

    from lexprep.ner.citations import RECORD_REPORTERS

    say = print if verbose else (lambda *a, **k: None)
    docs = {d["id"]: d for d in read(out / "documents.jsonl")}
    mentions = read(out / "mentions.jsonl")
    entities = {e["id"]: e for e in read(out / "entities.jsonl")}
    texts = dict(sqlite3.connect(db).execute("select id, text from documents").fetchall())
    by_doc: dict[str, list[dict]] = collections.defaultdict(list)
    for m in mentions:
        by_doc[m["document_id"]].append(m)
    result: dict = {"mentions": len(mentions)}

    # 1. duplicates and overlaps
    spans = collections.Counter((m["document_id"], m["doc_start"], m["doc_end"]) for m in mentions)
    result["duplicate_spans"] = sum(n - 1 for n in spans.values() if n > 1)
    overlaps = 0
    for ms in by_doc.values():
        ms.sort(key=lambda m: (m["doc_start"], m["doc_end"]))
        overlaps += sum(1 for a, b in zip(ms, ms[1:]) if b["doc_start"] < a["doc_end"])
    result["overlapping_spans"] = overlaps
    say(f"mentions: {len(mentions)}; duplicate spans: {result['duplicate_spans']}; overlapping spans: {overlaps}")

    # 2. full case citation recall on the court PDFs
    import pypdfium2 as pdfium

    total = found = 0
    for d in sorted(docs.values(), key=lambda d: d["file_name"]):
        if not d["file_name"].lower().endswith(".pdf") or "/court/" not in d["source_uri"]:
            continue
        pdf = pdfium.PdfDocument(d["source_uri"])
        raw = " ".join(" ".join(page.get_textpage().get_text_range().split()) for page in pdf)
        pdf.close()
        reference = [c.corrected_citation() for c in get_citations(raw) if type(c).__name__ == "FullCaseCitation"
                     and not ((c.groups or {}).get("reporter") in RECORD_REPORTERS
                              and not (c.metadata.year and (c.metadata.plaintiff or c.metadata.defendant)))
                     and re.fullmatch(r"\d+", (c.groups or {}).get("page") or "")]
        ours = collections.Counter()
        for m in by_doc.get(d["id"], []):
            if m["label"] == "CASE" and m["normalized"] and not m["link_id"]:
                ours[m["normalized"]] += 1
                for p in (m["attrs"] or {}).get("parallel", []):
                    ours[p] += 1
        hit = 0
        for ref in reference:
            if ours[ref] > 0:
                ours[ref] -= 1
                hit += 1
        total += len(reference)
        found += hit
        say(f"  {d['file_name'][:40]:40} eyecite full case citations {len(reference):4}  found {hit:4}")
    result["case_citations"] = (found, total)
    say(f"full case citation recall on the court PDFs: {found}/{total} = {found / max(total, 1):.3f} (goal >= 0.98)")

    # 3. short forms resolved
    short_total = short_resolved = 0
    for doc_id, text in texts.items():
        if not text:
            continue
        joined = text.translate(str.maketrans({"\n": " ", "\r": " ", "\f": " ", "\t": " "}))
        cites = get_citations(joined)
        n = 0
        for i, c in enumerate(cites):
            kind = type(c).__name__
            if kind not in SHORT_FORMS:
                continue
            if kind == "SupraCitation" and not getattr(c.metadata, "antecedent_guess", None):
                continue  # "see supra, at 7": a cross reference inside the opinion, not to a case
            if kind == "IdCitation":
                prev = next((p for p in reversed(cites[:i]) if type(p).__name__ != "UnknownCitation"), None)
                if prev is None or ((prev.groups or {}).get("reporter") in RECORD_REPORTERS
                                    and not getattr(prev.metadata, "year", None)):
                    continue  # "Id." after a record cite ("1 App. 33") or after nothing: not a case
            n += 1
        if not n:
            continue
        resolved = 0
        for m in by_doc.get(doc_id, []):
            if m["link_method"] in RESOLVED_METHODS and m["entity_id"] in entities:
                resolved += 1
            elif m["source_label"] == "IdCitation" and m["normalized"]:
                resolved += 1  # "Id. § 1292": the same code, another section
        short_total += n
        short_resolved += min(n, resolved)
    result["short_forms"] = (short_resolved, short_total)
    say(f"Id./supra/short cites resolved to a full citation's entity: {short_resolved}/{short_total} = "
        f"{short_resolved / max(short_total, 1):.3f} (goal >= 0.9)")

    # 4. CUAD: each defined role an alias of its party's entity
    gold = SHARED / "eval" / "contracts" / "cuad_gold.csv"
    roles_found: dict[tuple[str, str], str | None] = {}
    for row in csv.DictReader(open(gold, encoding="utf-8")):
        doc = next((d for d in docs.values() if d["file_name"] == row["Filename"]), None)
        parties = ast.literal_eval(row["Parties"])
        names = {norm(p) for p in parties if not is_role(p)}
        roles = [re.sub(r"^the\s+", "", re.sub(r'[()"“”]', "", p).strip(), flags=re.I) for p in parties if is_role(p)]
        ents = {m["entity_id"] for m in by_doc[doc["id"]] if m["label"] in ("ORG", "PERSON")} if doc else set()
        for role in roles:
            owner = next((entities[e]["name"] for e in sorted(ents) if e in entities and role in entities[e]["aliases"]
                          and ({norm(entities[e]["name"])} | {norm(a) for a in entities[e]["aliases"]}) & names), None)
            roles_found[(row["Filename"], role)] = owner
            say(f"  {'ok  ' if owner else 'MISS'} {role!r:14} -> {owner!r:45} {row['Filename'][:45]}")
    result["cuad_roles"] = roles_found
    result["cuad_all"] = bool(roles_found) and all(roles_found.values())
    say(f"CUAD defined terms aliased to their party: {'all' if result['cuad_all'] else 'NOT all'}")

    # 5. role-word entities
    result["role_entities"] = [e["name"] for e in entities.values() if e["document_id"] is None
                               and re.sub(r"^the\s+", "", e["name"].casefold()).strip(" .") in ROLE_WORDS]
    say(f"matter-wide entities made only of a role word: {len(result['role_entities'])} {result['role_entities']}")

    by_label = collections.Counter(e["label"] for e in entities.values())
    result["entities_by_label"] = dict(sorted(by_label.items()))
    say("entities by label:", result["entities_by_label"])
    say("mentions by label:", dict(sorted(collections.Counter(m["label"] for m in mentions).items())))
    result["_data"] = (docs, mentions, entities, texts)
    return result


def write_sample(path: Path, data: tuple, per_label: int = 25, seed: int = 7) -> None:
    """A reading sample: ``per_label`` random entities per label with the context of two mentions each."""
    docs, mentions, entities, texts = data
    rng = random.Random(seed)
    ments_of = collections.defaultdict(list)
    for m in mentions:
        ments_of[m["entity_id"]].append(m)
    lines = []
    for label in sorted({e["label"] for e in entities.values()}):
        pool = sorted((e for e in entities.values() if e["label"] == label), key=lambda e: e["id"])
        for e in rng.sample(pool, min(per_label, len(pool))):
            lines.append(f"[{label}] {e['name']!r}  aliases={e['aliases'][:5]} mentions={e['mention_count']}"
                         f"{' doc-scoped' if e['document_id'] else ''}")
            for m in ments_of[e["id"]][:2]:
                text = texts.get(m["document_id"]) or ""
                ctx = text[max(0, m["doc_start"] - 100):m["doc_start"]] + "[[" + text[m["doc_start"]:m["doc_end"]] \
                    + "]]" + text[m["doc_end"]:m["doc_end"] + 100]
                lines.append(f"     {docs[m['document_id']]['file_name'][:30]}: {' '.join(ctx.split())}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="run into this folder and keep it")
    ap.add_argument("--db", type=Path, help="an existing SQLite store of ../shared/corpus")
    ap.add_argument("--export", type=Path, help="its export folder")
    ap.add_argument("--sample", type=Path, help="write a reading sample (25 entities per label) to this file")
    args = ap.parse_args()
    if not (SHARED / "corpus").is_dir():
        raise SystemExit(f"skipped: {SHARED / 'corpus'} not found (set LEXPREP_SHARED_DIR)")
    if args.db and args.export:
        db, out = args.db, args.export
    else:
        work = args.keep or Path(tempfile.mkdtemp(prefix="entities-"))
        work.mkdir(parents=True, exist_ok=True)
        db, out = run_lexprep(work)
    result = figures(db, out, verbose=True)
    if args.sample:
        write_sample(args.sample, result["_data"])
        print(f"reading sample: {args.sample}")


if __name__ == "__main__":
    main()
