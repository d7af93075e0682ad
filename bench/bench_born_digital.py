"""Born-digital throughput: `lexprep run` over the born-digital PDFs of ../shared/corpus.

Each repetition runs the real CLI as a fresh process on a fresh SQLite store (so models load and
Prefect's ephemeral server starts every time; the Prefect home persists across runs, as a user's
~/.prefect does, after one uncounted warm-up run) and reports:

- pages/s of the whole process (wall clock from exec to exit, Prefect start-up included),
- pages/s of the document phase alone,
- the wall time split: process start and imports + Prefect start-up, discover, documents, resolve, graph,
  shutdown, and within the document phase each stage's share of the summed stage seconds.

Goal (issue 2): >= 20 pages/s on 2 cores. Usage: ``python bench/bench_born_digital.py [-n 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LEXPREP_SHARED_DIR", REPO.parent / "shared"))


def born_digital_files() -> list[Path]:
    corpus = SHARED / "corpus"
    return sorted(list((corpus / "court").glob("*.pdf")) + list((corpus / "contracts").glob("*.[pP][dD][fF]")))


def count_pages(paths: list[Path]) -> int:
    import pypdfium2 as pdfium

    total = 0
    for p in paths:
        pdf = pdfium.PdfDocument(str(p))
        total += len(pdf)
        pdf.close()
    return total


def run_once(files: list[Path], workdir: Path, prefect_home: Path) -> tuple[float, dict]:
    src = workdir / "src"
    src.mkdir()
    for f in files:  # symlinks: the shared files are read in place, never copied
        (src / f.name).symlink_to(f)
    lexprep = Path(sys.executable).parent / "lexprep"
    cmd = [str(lexprep), "run", str(src), "--matter", "bench", "--db", f"sqlite:///{workdir / 'bench.db'}", "--json"]
    env = dict(os.environ, PREFECT_HOME=str(prefect_home))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"lexprep run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--runs", type=int, default=3, help="repetitions (median reported)")
    args = ap.parse_args()
    if not (SHARED / "corpus").is_dir():
        raise SystemExit(f"skipped: shared corpus not found at {SHARED}")
    files = born_digital_files()
    pages = count_pages(files)
    print(f"{len(files)} born-digital PDFs, {pages} pages; {os.cpu_count()} cores; {args.runs} runs")
    walls, summaries = [], []
    # one Prefect home for all runs, as a user's ~/.prefect: the first (uncounted) run creates its database
    home = Path(tempfile.mkdtemp(prefix="lexprep-bench-prefect-"))
    with tempfile.TemporaryDirectory() as tmp:
        run_once(files, Path(tmp), home)
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            wall, summary = run_once(files, Path(tmp), home)
        walls.append(wall)
        summaries.append(summary)
        docs_wall = summary["phase_seconds"]["documents"]
        print(f"run {i + 1}: wall {wall:.2f} s, {pages / wall:.1f} pages/s whole process, "
              f"{pages / docs_wall:.1f} pages/s document phase")
    k = walls.index(statistics.median(walls)) if args.runs % 2 else min(range(len(walls)), key=lambda j: abs(walls[j] - statistics.median(walls)))
    wall, s = walls[k], summaries[k]
    phases = s["phase_seconds"]
    accounted = s["startup_seconds"] + sum(phases.values())
    rows = [("process start, imports, Prefect start-up", s["startup_seconds"])]
    rows += [(f"{name}", sec) for name, sec in phases.items()]
    rows.append(("shutdown and the rest", max(0.0, wall - accounted)))
    print(f"\nmedian run: wall {wall:.2f} s -> {pages / wall:.1f} pages/s (goal >= 20); "
          f"document phase {pages / phases['documents']:.1f} pages/s")
    print(f"{'share of wall time':<44}{'seconds':>9}{'share':>8}")
    for name, sec in rows:
        print(f"{name:<44}{sec:>9.2f}{100 * sec / wall:>7.1f}%")
    stage = {k: v for k, v in s["stage_seconds"].items() if k not in ("resolve", "graph")}
    total = sum(stage.values()) or 1.0
    print(f"\n{'document phase, by stage (summed over threads)':<44}{'seconds':>9}{'share':>8}")
    for name, sec in sorted(stage.items(), key=lambda kv: -kv[1]):
        print(f"{name:<44}{sec:>9.2f}{100 * sec / total:>7.1f}%")
    print("\ncounts:", json.dumps({k: s["status"][k] for k in ("documents_by_status", "pages_by_method", "chunks")}))


if __name__ == "__main__":
    main()
