"""Precision and recall of the local fact extractor (lexprep.facts, kind=rules) on CUAD contracts.

Reads every contract named in ../shared/eval/contracts/cuad_gold.csv from ../shared/corpus/contracts,
runs lexprep's per-document stages on it in this process (extract, clean, categorize, chunk,
mentions, facts; no store, no Prefect) and compares the facts with the gold answers:

- ``parties``: gold column ``Parties-Answer`` ("Name ("Role"); Name ("Role")"), one item per name.
  A predicted party matches a gold one when their names agree after normalisation (case,
  punctuation, white space, corporate suffixes) or with rapidfuzz ``token_set_ratio`` >= 90.
- ``agreement_date``, ``effective_date``, ``expiration_date``: gold ``M/D/YY`` answers against the
  fact's ISO date (exact day). Answers that are no date ("perpetual") are left out.
- ``governing_law``: gold jurisdiction against the fact's normalised jurisdiction (case-insensitive).

For each field: TP, FP, FN, precision = TP / (TP + FP), recall = TP / (TP + FN). A single-valued field
predicted wrong counts as one FP and one FN.

Targets (issue 8): parties >= 0.9, agreement date >= 0.8, governing law >= 0.8, effective date >= 0.6
(recall and precision). ``--check`` exits 1 when one is missed.

Usage: ``python bench/eval_facts.py [--gold CSV] [--corpus DIR] [--no-mentions] [--verbose] [--check]``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
FIELDS = ("parties", "agreement_date", "effective_date", "expiration_date", "governing_law")
TARGETS = {"parties": 0.9, "agreement_date": 0.8, "governing_law": 0.8, "effective_date": 0.6}
_SUFFIX = re.compile(r"\b(?:inc|incorporated|corp|corporation|co|company|llc|l\s?l\s?c|lp|l\s?p|llp|ltd|limited|plc)\b")


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def norm_name(name: str) -> str:
    s = re.sub(r"[^\w\s]", " ", name.lower())
    s = _SUFFIX.sub(" ", s)
    return " ".join(s.split())


def same_party(a: str, b: str) -> bool:
    na, nb = norm_name(a), norm_name(b)
    return bool(na and nb) and (na == nb or fuzz.token_set_ratio(na, nb) >= 90)


def gold_parties(answer: str) -> list[str]:
    names = []
    for part in answer.split(";"):
        name = re.sub(r"\(.*?\)", "", part).strip(" ,")
        if name:
            names.append(" ".join(name.split()))
    return names


def gold_date(answer: str) -> str | None:
    m = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})/(\d{2,4})\s*", answer or "")
    if not m:
        return None
    y = int(m.group(3))
    y = y + (1900 if y >= 50 else 2000) if y < 100 else y
    try:
        return dt.date(y, int(m.group(1)), int(m.group(2))).isoformat()
    except ValueError:
        return None


def contract_facts(path: Path, with_mentions: bool = True):
    """The verified facts of one contract file (lexprep's stages in this process)."""
    from lexprep import pipeline
    from lexprep.settings import Settings
    from lexprep.sources import describe

    settings = Settings()
    settings.limits.workers = 0
    settings.ner.workers = 0
    data = path.read_bytes()
    source = describe(str(path), path.name, data)
    extracted = pipeline.extract_stage(source, data, settings)
    clean = pipeline.clean_stage(extracted, settings)
    category = pipeline.categorize_stage(source, extracted, clean)
    chunks = pipeline.chunk_stage(clean, settings)
    mentions = pipeline.mentions_stage(clean, chunks, category, settings) if with_mentions else []
    return pipeline.facts_stage(clean, chunks, category, extracted, mentions, settings).facts, category.category


def score_contract(facts, gold: dict, scores: dict[str, Score], name: str) -> dict:
    got = {"parties": [f.value for f in facts if f.kind == "party"]}
    for kind in ("agreement_date", "effective_date", "expiration_date", "governing_law"):
        got[kind] = next((f.normalized for f in facts if f.kind == kind), None)
    want_parties = gold_parties(gold.get("Parties-Answer", ""))
    matched_gold = set()
    for p in got["parties"]:
        hit = next((i for i, g in enumerate(want_parties) if i not in matched_gold and same_party(p, g)), None)
        if hit is None:
            scores["parties"].fp += 1
            scores["parties"].misses.append(f"{name}: extra party {p!r}")
        else:
            matched_gold.add(hit)
            scores["parties"].tp += 1
    for i, g in enumerate(want_parties):
        if i not in matched_gold:
            scores["parties"].fn += 1
            scores["parties"].misses.append(f"{name}: missed party {g!r}")
    wants = {
        "agreement_date": gold_date(gold.get("Agreement Date-Answer", "")),
        "effective_date": gold_date(gold.get("Effective Date-Answer", "")),
        "expiration_date": gold_date(gold.get("Expiration Date-Answer", "")),
        "governing_law": (gold.get("Governing Law-Answer") or "").strip() or None,
    }
    for kind, want in wants.items():
        have = got[kind]
        sc = scores[kind]
        equal = have is not None and want is not None and have.lower() == want.lower()
        if equal:
            sc.tp += 1
        else:
            if have is not None:
                sc.fp += 1
            if want is not None:
                sc.fn += 1
            if have is not None or want is not None:
                sc.misses.append(f"{name}: {kind} predicted {have!r}, gold {want!r}")
    return got


def evaluate(gold_csv: Path, corpus: Path, with_mentions: bool = True) -> tuple[dict[str, Score], list[dict]]:
    scores = {f: Score() for f in FIELDS}
    rows = []
    with open(gold_csv, newline="", encoding="utf-8") as fh:
        for gold in csv.DictReader(fh):
            name = gold["Filename"]
            candidates = [p for p in corpus.iterdir() if p.name.lower() == name.lower()]
            if not candidates:
                print(f"skipped {name}: not in {corpus}", file=sys.stderr)
                continue
            facts, category = contract_facts(candidates[0], with_mentions)
            got = score_contract(facts, gold, scores, name[:40])
            rows.append({"file": name, "category": category, **got})
    return scores, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=SHARED / "eval" / "contracts" / "cuad_gold.csv")
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus" / "contracts")
    ap.add_argument("--no-mentions", action="store_true", help="skip NER (the rules then work on the text alone)")
    ap.add_argument("--verbose", action="store_true", help="list every miss and the predictions")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = ap.parse_args(argv)
    if not args.gold.exists():
        print(f"no gold file at {args.gold}", file=sys.stderr)
        return 2
    scores, rows = evaluate(args.gold, args.corpus, not args.no_mentions)
    if args.json:
        print(json.dumps({f: {"precision": round(s.precision, 3), "recall": round(s.recall, 3), "tp": s.tp,
                              "fp": s.fp, "fn": s.fn} for f, s in scores.items()}, indent=1))
    else:
        print(f"{len(rows)} contracts\n{'field':18} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}  target")
        for f, s in scores.items():
            target = TARGETS.get(f)
            print(f"{f:18} {s.precision:9.3f} {s.recall:7.3f} {s.tp:4d} {s.fp:4d} {s.fn:4d}  "
                  f"{'>= ' + format(target, '.1f') if target else ''}")
    if args.verbose:
        for f, s in scores.items():
            for line in s.misses:
                print("  miss:", line)
        for r in rows:
            print(json.dumps(r, ensure_ascii=False))
    missed = [f for f, tgt in TARGETS.items() if min(scores[f].precision, scores[f].recall) < tgt]
    if missed:
        print("below target: " + ", ".join(missed), file=sys.stderr)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
