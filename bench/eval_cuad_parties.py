"""Recall of the CUAD contracts' parties among lexprep's ORG/PERSON entities.

Runs ``lexprep run`` on ../shared/corpus/contracts (read in place through symlinks), exports, and for
each contract checks every party string of ../shared/eval/contracts/cuad_gold.csv (column Parties)
against the names and aliases of the ORG/PERSON entities mentioned in that contract's chunks.

A party counts as found when some entity name or alias matches it after normalisation (case,
punctuation, corporate suffixes) exactly, or with rapidfuzz ``ratio`` >= 90 (whole-name similarity: a name merely contained in a longer one does not count). CUAD's Parties
column also lists defined roles ("the Customer", "Sponsor", "Carrier"): these are reported apart,
since they are not names (recall over names is the figure that matters).

Usage: ``python bench/eval_cuad_parties.py [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from rapidfuzz import fuzz

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LEXPREP_SHARED_DIR", REPO.parent / "shared"))
SUFFIX = re.compile(r"\b(inc|incorporated|corp|corporation|co|company|ltd|limited|llc|l\s?l\s?c|lp|l\s?p|llp|plc)\b\.?", re.I)


def norm(s: str) -> str:
    s = re.sub(r"[^\w\s]", " ", s.casefold())
    s = SUFFIX.sub(" ", s)
    s = re.sub(r"^\s*the\s+", "", s)
    return " ".join(s.split())


def is_role(party: str) -> bool:
    """A defined role rather than a name: one capitalised common word, optionally with 'the'/quotes."""
    core = re.sub(r'[()"“”]', "", party).strip()
    core = re.sub(r"^the\s+", "", core, flags=re.I)
    return len(core.split()) == 1 and core[:1].isupper() and core[1:].islower()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="keep the run's store and export in this folder")
    args = ap.parse_args()
    corpus, gold_csv = SHARED / "corpus" / "contracts", SHARED / "eval" / "contracts" / "cuad_gold.csv"
    if not gold_csv.is_file():
        raise SystemExit(f"skipped: {gold_csv} not found")
    work = args.keep or Path(tempfile.mkdtemp(prefix="cuad-"))
    src = work / "src"
    src.mkdir(parents=True, exist_ok=True)
    for f in corpus.iterdir():
        if not (src / f.name).exists():
            (src / f.name).symlink_to(f)
    bin_dir = Path(sys.executable).parent
    db = f"sqlite:///{work / 'cuad.db'}"
    env = dict(os.environ, PREFECT_HOME=str(work / "prefect-home"))
    subprocess.run([str(bin_dir / "lexprep"), "run", str(src), "--matter", "cuad", "--db", db, "--json"],
                   check=True, capture_output=True, env=env, cwd=work)
    subprocess.run([str(bin_dir / "lexprep"), "export", "--matter", "cuad", "--db", db, "--out", str(work / "out")],
                   check=True, capture_output=True, env=env, cwd=work)
    docs = {d["id"]: d["file_name"] for d in map(json.loads, open(work / "out" / "documents.jsonl"))}
    entities = {e["id"]: e for e in map(json.loads, open(work / "out" / "entities.jsonl"))}
    per_doc: dict[str, set[str]] = defaultdict(set)
    for chunk in map(json.loads, open(work / "out" / "chunks.jsonl")):
        for m in chunk["mentions"]:
            ent = entities.get(m["entity_id"])
            if ent and ent["label"] in ("ORG", "PERSON"):
                per_doc[docs[chunk["document_id"]]].update(norm(n) for n in [ent["name"], *ent["aliases"]])
    found_names = total_names = found_roles = total_roles = 0
    for row in csv.DictReader(open(gold_csv, encoding="utf-8")):
        names = per_doc.get(row["Filename"], set())
        for party in ast.literal_eval(row["Parties"]):
            key = norm(party)
            hit = key in names or any(fuzz.ratio(key, n) >= 90 for n in names if n)
            if is_role(party):
                total_roles += 1
                found_roles += hit
            else:
                total_names += 1
                found_names += hit
            print(f"{'found  ' if hit else 'MISSED '} {'role' if is_role(party) else 'name'}  {party!r:48} {row['Filename'][:40]}")
    print(f"\nparty names: {found_names}/{total_names} = {found_names / max(total_names, 1):.0%} recall")
    print(f"defined roles: {found_roles}/{total_roles}; all party strings: "
          f"{found_names + found_roles}/{total_names + total_roles} = "
          f"{(found_names + found_roles) / max(total_names + total_roles, 1):.0%}")


if __name__ == "__main__":
    main()
