"""Strict span F1 of lexprep's PERSON/ORG/GPE mentions on a CoNLL-annotated NER set.

Default input: ../shared/eval/ner/FIN3.txt (SEC loan agreements, Salinas Alvarado et al. 2015; CoNLL
format, IO tags PER/ORG/LOC/MISC). Each -DOCSTART- document's tokens are joined with single spaces
(a sentence per line) into one text, read by ``lexprep.ner.document_mentions`` as a contract, and
each mention is compared with the gold entities (maximal runs of one tag): PERSON~PER, ORG~ORG,
GPE~LOC. A prediction counts as correct only with exactly the gold span and type (strict); MISC is
not scored (our OTHER holds other things). Precision, recall and F1 are printed per type and overall.

Usage: ``python bench/eval_ner_conll.py [FILE]``.
"""

from __future__ import annotations

import collections
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LEXPREP_SHARED_DIR", REPO.parent / "shared"))
OURS = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC"}


def read_conll(path: Path) -> list[tuple[str, set[tuple[int, int, str]]]]:
    """[(text, {(start, end, type)})] per document: tokens joined by spaces, sentences by newlines."""
    docs: list[tuple[str, set]] = []
    parts: list[str] = []
    gold: set = set()
    pos = 0
    run: tuple[int, int, str] | None = None

    def close_run():
        nonlocal run
        if run is not None:
            gold.add(run)
            run = None

    def flush():
        nonlocal parts, gold, pos
        close_run()
        if parts:
            docs.append(("".join(parts).rstrip(), gold))
        parts, gold, pos = [], set(), 0

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            flush()
            continue
        if not line.strip():
            close_run()
            if parts and not parts[-1].endswith("\n"):
                parts[-1] = parts[-1].rstrip(" ") + "\n"
                pos = sum(len(p) for p in parts)
            continue
        cols = line.split()
        token, tag = cols[0], cols[-1]
        start = pos
        parts.append(token + " ")
        pos += len(token) + 1
        kind = tag[2:] if tag != "O" else None
        if kind and run is not None and run[2] == kind:
            run = (run[0], start + len(token), kind)
        else:
            close_run()
            if kind:
                run = (start, start + len(token), kind)
    flush()
    return docs


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED / "eval" / "ner" / "FIN3.txt"
    if not path.is_file():
        raise SystemExit(f"skipped: {path} not found")
    sys.path.insert(0, str(REPO))
    from lexprep.ner import document_mentions
    from lexprep.settings import NerSettings

    settings = NerSettings(workers=0)
    tp: collections.Counter = collections.Counter()
    fp: collections.Counter = collections.Counter()
    fn: collections.Counter = collections.Counter()
    for text, gold in read_conll(path):
        pred = {(m.doc_start, m.doc_end, OURS[m.label]) for m in document_mentions(text, settings, "contract")
                if m.label in OURS}
        gold = {g for g in gold if g[2] in OURS.values()}
        for kind in OURS.values():
            p = {x for x in pred if x[2] == kind}
            g = {x for x in gold if x[2] == kind}
            tp[kind] += len(p & g)
            fp[kind] += len(p - g)
            fn[kind] += len(g - p)
    print(f"{path.name}: strict span match, PERSON~PER ORG~ORG GPE~LOC")
    print(f"{'type':6}{'gold':>6}{'pred':>6}{'P':>8}{'R':>8}{'F1':>8}")
    for kind in [*OURS.values(), "all"]:
        t = sum(tp.values()) if kind == "all" else tp[kind]
        f_p = sum(fp.values()) if kind == "all" else fp[kind]
        f_n = sum(fn.values()) if kind == "all" else fn[kind]
        p = t / (t + f_p) if t + f_p else 0.0
        r = t / (t + f_n) if t + f_n else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"{kind:6}{t + f_n:>6}{t + f_p:>6}{p:>8.3f}{r:>8.3f}{f1:>8.3f}")


if __name__ == "__main__":
    main()
