"""Whole-run throughput and growth: `lexprep run` over N byte-distinct copies of the born-digital PDFs of
../shared/corpus against the single-process floor, on the same files.

Issue 11. Usage::

    python bench/bench_throughput.py                      # 10 copies (1,280 pages): lexprep vs the floor
    python bench/bench_throughput.py --copies 1 4 16      # the growth table (no floor unless --floor)
    python bench/bench_throughput.py --copies 4 --cluster local
    python bench/bench_throughput.py --copies 1 4 16 --postgres postgresql+psycopg://u:pw@host/db

What it runs (each a fresh process, timed from exec to exit):

- **the floor**: one Python process that does only pypdfium2 text extraction (page by page) and the spaCy
  NER lexprep runs (``lexprep.ner.spacy_ner.load_nlp``: the same model and components) over every page
  (``nlp.pipe`` per document). No cleaning, citations, rules, chunking, storing, nor Prefect.
- **lexprep**: ``lexprep run DIR --json`` on a fresh store (SQLite in a temporary directory, or the
  ``--postgres`` database with a fresh matter name), Prefect's home kept warm across runs (one uncounted
  warm-up run on one copy first, as a user's ~/.prefect would be). ``--server`` runs against a long-lived
  ``lexprep server start`` server instead of the temporary one each run starts.

Reported per run: wall seconds, pages/s, CPU seconds of the whole process tree (the Prefect server and the
worker processes included), peak resident memory of the tree (sampled every 0.2 s), the run's phases
(discover, documents, resolve, graph, quality) and Prefect start-up, and the OCRed pages with the OCR
stage's seconds (the floor does no OCR: those pages are reported apart). Copies are the same PDFs with a
distinct trailing comment line (``%lexprep-bench copy N``), so every copy is a new document to lexprep.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_born_digital import SHARED, born_digital_files, count_pages  # noqa: E402

FLOOR = r'''
import sys, time, pathlib
import pypdfium2 as pdfium
from lexprep.settings import NerSettings
from lexprep.ner.spacy_ner import load_nlp
nlp = load_nlp(NerSettings().spacy_model)
pages = ents = 0
for f in sorted(pathlib.Path(sys.argv[1]).rglob("*")):
    if f.suffix.lower() != ".pdf":
        continue
    pdf = pdfium.PdfDocument(str(f))
    texts = []
    for page in pdf:
        tp = page.get_textpage()
        texts.append(tp.get_text_bounded())
        tp.close()
        page.close()
    pdf.close()
    pages += len(texts)
    for doc in nlp.pipe(texts):
        ents += len(doc.ents)
print(pages, ents)
'''


def make_copies(files: list[Path], copies: int, root: Path) -> Path:
    """``copies`` folders of the files, each copy byte-distinct (a trailing PDF comment line)."""
    out = root / f"x{copies}"
    for i in range(copies):
        d = out / f"copy{i:03d}"
        d.mkdir(parents=True, exist_ok=True)
        for f in files:
            (d / f.name).write_bytes(f.read_bytes() + f"\n%lexprep-bench copy {i}\n".encode())
    return out


class TreeSampler:
    """Peak summed RSS (bytes) and the CPU seconds of a process tree, sampled every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.2):
        import psutil

        self.root = psutil.Process(pid)
        self.interval, self.peak, self.peak_one, self.cpu = interval, 0, 0, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            total = 0
            for p in procs:
                try:
                    rss = p.memory_info().rss
                    total += rss
                    self.peak_one = max(self.peak_one, rss)
                    t = p.cpu_times()
                    self.cpu[p.pid] = t.user + t.system
                except psutil.NoSuchProcess:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def stop(self) -> tuple[int, float]:
        self._stop.set()
        self._thread.join()
        return self.peak, sum(self.cpu.values())


def timed(cmd: list[str], env: dict, cwd: Path) -> tuple[float, int, float, subprocess.CompletedProcess]:
    """(wall s, peak tree RSS bytes, tree CPU s, the finished process) of ``cmd``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    sampler = TreeSampler(proc.pid)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    peak, cpu = sampler.stop()
    timed.last_peak_one = sampler.peak_one  # the largest single process's peak RSS (bytes), for callers that want it
    return wall, peak, cpu, subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def run_floor(folder: Path, workdir: Path) -> dict:
    wall, peak, cpu, proc = timed([sys.executable, "-c", FLOOR, str(folder)], dict(os.environ), workdir)
    if proc.returncode != 0:
        raise SystemExit(f"floor failed:\n{proc.stderr[-3000:]}")
    pages, ents = map(int, proc.stdout.split())
    return {"wall_s": wall, "pages": pages, "entities": ents, "cpu_s": cpu, "peak_rss": peak}


def run_lexprep(folder: Path, workdir: Path, home: Path, db: str, matter: str, cluster: str | None) -> dict:
    lexprep = Path(sys.executable).parent / "lexprep"
    cmd = [str(lexprep), "run", str(folder), "--matter", matter, "--db", db, "--json"]
    if cluster:
        cmd += ["--cluster", cluster]
    env = dict(os.environ, PREFECT_HOME=str(home))
    wall, peak, cpu, proc = timed(cmd, env, workdir)
    if proc.returncode != 0:
        raise SystemExit(f"lexprep run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    s = json.loads(proc.stdout)
    pages_by_method = s["status"].get("pages_by_method", {})
    ocr_pages = sum(n for m, n in pages_by_method.items() if m not in ("text_layer", "native", "converter", "blank"))
    return {"wall_s": wall, "peak_rss": peak, "cpu_s": cpu, "pages": s["status"]["pages"],
            "pages_by_method": pages_by_method, "ocr_pages": ocr_pages,
            "ocr_s": s["stage_seconds"].get("ocr", 0.0), "startup_s": s.get("startup_seconds", 0.0),
            "phases": s["phase_seconds"], "failed": s["failed"], "documents": s["status"]["documents"],
            "mentions": s["status"]["mentions"]}


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, nargs="+", default=[10], help="copies of the born-digital PDFs per run")
    ap.add_argument("-n", "--repeat", type=int, default=1, help="runs per size (the median is reported)")
    ap.add_argument("--floor", action="store_true", help="also run the floor (default: when one size is given)")
    ap.add_argument("--no-floor", action="store_true", help="never run the floor")
    ap.add_argument("--cluster", default=None, help="pass --cluster to lexprep run (local | tcp://host:8786)")
    ap.add_argument("--postgres", default=None, help="a postgresql+psycopg:// URL to store into instead of SQLite")
    ap.add_argument("--server", action="store_true",
                    help="run against a long-lived `lexprep server start` server (started and stopped here)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()

    files = born_digital_files()
    if not files:
        raise SystemExit(f"no born-digital PDFs under {SHARED / 'corpus'} (../shared is absent): nothing to measure")
    with_floor = not args.no_floor and (args.floor or len(args.copies) == 1)
    pages_per_copy = count_pages(files)
    results = []
    with tempfile.TemporaryDirectory(prefix="lexprep-throughput-") as tmp:
        root = Path(tmp)
        home = root / "prefect-home"
        lexprep = Path(sys.executable).parent / "lexprep"
        if args.server:
            subprocess.run([str(lexprep), "server", "start"], check=True, capture_output=True,
                           env=dict(os.environ, PREFECT_HOME=str(home)))
        warm = make_copies(files[:1], 1, root / "warm")
        run_lexprep(warm, root, home, f"sqlite:///{root / 'warm.db'}", "warm", args.cluster)  # uncounted
        for copies in args.copies:
            folder = make_copies(files, copies, root / "src")
            runs, floors = [], []
            for i in range(args.repeat):
                if args.postgres:
                    db, matter = args.postgres, f"bench-{uuid.uuid4().hex[:8]}"
                else:
                    db, matter = f"sqlite:///{root / f'x{copies}-{i}.db'}", "bench"
                runs.append(run_lexprep(folder, root, home, db, matter, args.cluster))
                if with_floor:
                    floors.append(run_floor(folder, root))
            run = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
            row = {"copies": copies, "pages": run["pages"], "expected_pages": copies * pages_per_copy,
                   "store": "postgres" if args.postgres else "sqlite", "cluster": args.cluster,
                   "prefect": "lexprep server" if args.server else "temporary server", **run,
                   "pages_per_s": run["pages"] / run["wall_s"], "walls": [r["wall_s"] for r in runs]}
            if floors:
                floor = sorted(floors, key=lambda r: r["wall_s"])[len(floors) // 2]
                row["floor"] = {**floor, "pages_per_s": floor["pages"] / floor["wall_s"]}
                row["ratio_to_floor"] = run["wall_s"] / floor["wall_s"]
            results.append(row)
            shutil_rmtree(folder)
        if args.server:
            subprocess.run([str(lexprep), "server", "stop"], capture_output=True, env=dict(os.environ, PREFECT_HOME=str(home)))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"born-digital PDFs of {SHARED / 'corpus'}: {len(files)} files, {pages_per_copy} pages a copy; "
          f"{os.cpu_count()} cores; median of {args.repeat} run(s); Prefect: {results[0]['prefect']}; "
          f"documents on: {args.cluster or 'the flow process (threads + NER worker processes)'}")
    print(f"{'copies':>6} {'pages':>6} {'store':>8} {'wall s':>8} {'pages/s':>8} {'CPU s':>8} {'peak RSS':>10} "
          f"{'start-up':>8} {'documents':>9} {'resolve':>7} {'graph':>6} {'quality':>7}  OCR pages (s)")
    for r in results:
        ph = r["phases"]
        print(f"{r['copies']:>6} {r['pages']:>6} {r['store']:>8} {r['wall_s']:>8.1f} {r['pages_per_s']:>8.1f} "
              f"{r['cpu_s']:>8.1f} {_mib(r['peak_rss']):>10} {r['startup_s']:>8.1f} {ph.get('documents', 0):>9.1f} "
              f"{ph.get('resolve', 0):>7.2f} {ph.get('graph', 0):>6.2f} {ph.get('quality', 0):>7.2f}  "
              f"{r['ocr_pages']} ({r['ocr_s']:.1f} s of stage time)")
        if "floor" in r:
            f = r["floor"]
            print(f"{'':>6} floor (pypdfium2 text + lexprep's spaCy NER, one process): {f['wall_s']:.1f} s, "
                  f"{f['pages_per_s']:.1f} pages/s, CPU {f['cpu_s']:.1f} s, peak {_mib(f['peak_rss'])}")
            print(f"{'':>6} lexprep wall / floor wall = {r['ratio_to_floor']:.2f} (goal <= 0.60)")


def shutil_rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
