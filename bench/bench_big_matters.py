"""Bounded memory at size: one 2,000-page PDF, and a matter of 10,000 small files (issue 11).

Usage::

    python bench/bench_big_matters.py                 # both
    python bench/bench_big_matters.py --only pdf      # the 2,000-page PDF
    python bench/bench_big_matters.py --only files --files 10000 [--cluster local]

- **the PDF**: the born-digital PDFs of ../shared/corpus imported page by page (pypdfium2) into one
  document until it has ``--pages`` pages (real text: opinions and contracts, not blank pages).
- **the files**: ``--files`` small plain-text documents (a few sentences each: a party, a date, an amount,
  a citation), every one distinct, in folders of 500.

Each is one fresh ``lexprep run --json`` on a fresh SQLite store (warm Prefect home, the temporary
Prefect server), timed by bench_throughput's sampler: wall seconds, documents and pages per second, CPU of
the process tree, and the peak resident memory of the whole tree and of its largest process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_born_digital import born_digital_files  # noqa: E402
from bench_throughput import timed  # noqa: E402

FIRST = ["Maria", "James", "Aisha", "Chen", "Robert", "Elena", "David", "Priya", "Samuel", "Laura"]
LAST = ["Alvarez", "Whitfield", "Okafor", "Lindqvist", "Moreau", "Castellano", "Brennan", "Hadley"]
FIRMS = ["Harborline Logistics, Inc.", "Meridian Coastal Shipping Co.", "Bluewater Freight LLC",
         "Northgate Storage Corp.", "Sable Ridge Partners LP"]
PLACES = ["Seattle, Washington", "Mobile, Alabama", "Houston, Texas", "Portland, Oregon", "Norfolk, Virginia"]
CASES = ["Celotex Corp. v. Catrett, 477 U.S. 317 (1986)", "Ashcroft v. Iqbal, 556 U.S. 662 (2009)",
         "Bell Atlantic Corp. v. Twombly, 550 U.S. 544 (2007)"]


def big_pdf(pages: int, out: Path) -> Path:
    import pypdfium2 as pdfium

    merged = pdfium.PdfDocument.new()
    sources = [pdfium.PdfDocument(str(f)) for f in born_digital_files()]
    while len(merged) < pages:
        for src in sources:
            take = min(len(src), pages - len(merged))
            if take <= 0:
                break
            merged.import_pages(src, list(range(take)))
    (out / "pdf").mkdir()
    path = out / "pdf" / "big.pdf"
    merged.save(str(path))
    return path


def small_files(n: int, out: Path, seed: int = 11) -> Path:
    rng = random.Random(seed)
    root = out / "files"
    for i in range(n):
        folder = root / f"box{i // 500:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        who = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        firm, place, case = rng.choice(FIRMS), rng.choice(PLACES), rng.choice(CASES)
        amount = rng.randrange(1_000, 900_000)
        text = (f"MEMORANDUM {i:05d}\n\nOn March {1 + i % 28}, 2021, {who} of {firm} wrote from {place} about "
                f"invoice {i:05d} for ${amount:,}. Counsel relied on {case}. The parties met again in "
                f"{rng.choice(PLACES)} and agreed to settle the claim under 28 U.S.C. § 1332.\n")
        (folder / f"memo-{i:05d}.txt").write_text(text)
    return root


def run(path: Path, workdir: Path, home: Path, name: str, cluster: str | None) -> dict:
    lexprep = Path(sys.executable).parent / "lexprep"
    cmd = [str(lexprep), "run", str(path), "--matter", name, "--db", f"sqlite:///{workdir / (name + '.db')}", "--json"]
    if cluster:
        cmd += ["--cluster", cluster]
    wall, peak, cpu, proc = timed(cmd, dict(os.environ, PREFECT_HOME=str(home)), workdir)
    peak_one = timed.last_peak_one
    if proc.returncode != 0:
        raise SystemExit(f"{name}: lexprep run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    s = json.loads(proc.stdout)
    return {"name": name, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "peak_tree_mib": round(peak / 2**20),
            "peak_process_mib": round(peak_one / 2**20),
            "documents": s["status"]["documents"], "pages": s["status"]["pages"],
            "by_status": s["status"]["documents_by_status"], "mentions": s["status"]["mentions"],
            "phases": {k: round(v, 1) for k, v in s["phase_seconds"].items()},
            "documents_per_s": round(s["status"]["documents"] / wall, 1), "pages_per_s": round(s["status"]["pages"] / wall, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=("pdf", "files"))
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--cluster", default=None)
    args = ap.parse_args()
    if not born_digital_files() and args.only != "files":
        raise SystemExit("no born-digital PDFs under ../shared/corpus: the big PDF cannot be made")
    with tempfile.TemporaryDirectory(prefix="lexprep-big-") as tmp:
        root = Path(tmp)
        home = root / "prefect-home"
        warm = root / "warm"
        warm.mkdir()
        (warm / "a.txt").write_text("Warm-up: Roe v. Wade, 410 U.S. 113 (1973).")
        run(warm, root, home, "warm", args.cluster)
        results = []
        if args.only in (None, "pdf"):
            results.append(run(big_pdf(args.pages, root).parent, root, home, "pdf", args.cluster))
        if args.only in (None, "files"):
            results.append(run(small_files(args.files, root), root, home, "files", args.cluster))
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
