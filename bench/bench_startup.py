"""Start-up of `lexprep run`: a fresh PREFECT_HOME, a warm one, and a reused long-lived server.

For each matter (the demo matter, and the e-mails of ../shared/corpus/email) and each way of reaching
Prefect, the real CLI runs as a fresh process on a fresh SQLite store, ``-n`` times (default 3), and the
medians are reported:

- ``fresh``: an empty PREFECT_HOME every run (first use on a machine): the ephemeral server migrates
  its database, starts, and stops at the end;
- ``warm``: one PREFECT_HOME for every run (after one uncounted warm-up run): the ephemeral server
  starts and stops each time;
- ``reused``: `lexprep server start` once (not counted), then every run finds and reuses that server.

Columns: process wall (exec to exit), seconds before the first document starts (exec to the first
document's first stage), the flow body (Prefect-side wall of process_matter), the document phase, the
quality gate, and ``exit``: the process's teardown after its summary (the ephemeral server's stop, the
log and event workers' drain). Goal (issue 10): under 3 s before the first
document on the warm path (a reused server).

Usage: ``python bench/bench_startup.py [-n 3] [--matters demo,emails] [--modes fresh,warm,reused] [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LEXPREP_SHARED_DIR", REPO.parent / "shared"))
LEXPREP = Path(sys.executable).parent / "lexprep"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return env


def run_once(source: Path, home: Path, work: Path, matter: str) -> dict:
    """One `lexprep run --json` on a fresh store; timings in seconds."""
    db = work / f"store-{time.monotonic_ns()}.db"
    t0 = time.time()
    proc = subprocess.run([str(LEXPREP), "run", str(source), "--matter", matter, "--db", f"sqlite:///{db}", "--json"],
                          capture_output=True, text=True, env=_env(home), cwd=work, timeout=900)
    wall = time.time() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"lexprep run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    summary = json.loads(proc.stdout)
    db.unlink(missing_ok=True)
    first = summary.get("first_document_at")
    # the CLI's own clock starts after the interpreter; `exit` is what follows its summary (teardown).
    # (Older lexprep versions report neither: the bench then leaves those columns empty.)
    cli_started = first - summary["seconds_before_first_document"] if first else t0
    return {
        "wall": wall,
        "before_first_document": (first - t0) if first else None,
        "flow": summary["flow_seconds"],
        "documents": summary["phase_seconds"].get("documents", 0.0),
        "quality": summary["phase_seconds"].get("quality", 0.0),
        "exit": max(0.0, t0 + wall - cli_started - summary["wall_seconds"]) if first else None,
        "api": summary.get("prefect_api"),
        "documents_n": summary.get("documents", summary.get("processed")),
    }


def measure(mode: str, source: Path, n: int, root: Path, matter: str) -> list[dict]:
    work = root / f"{mode}-{matter}"
    work.mkdir(parents=True, exist_ok=True)
    runs = []
    if mode == "fresh":
        for i in range(n):
            home = work / f"home-{i}"
            runs.append(run_once(source, home, work, matter))
            shutil.rmtree(home, ignore_errors=True)
        return runs
    home = work / "home"
    started = None
    if mode == "reused":
        started = subprocess.run([str(LEXPREP), "server", "start", "--port", "0"], capture_output=True, text=True,
                                 env=_env(home), timeout=300)
        if started.returncode != 0:
            raise RuntimeError(started.stdout + started.stderr)
    try:
        run_once(source, home, work, matter)  # warm-up, not counted
        for _ in range(n):
            runs.append(run_once(source, home, work, matter))
    finally:
        if started is not None:
            subprocess.run([str(LEXPREP), "server", "stop"], capture_output=True, env=_env(home), timeout=120)
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=3, help="measured runs per matter and mode (default 3)")
    parser.add_argument("--matters", default="demo,emails")
    parser.add_argument("--modes", default="fresh,warm,reused")
    parser.add_argument("--json", type=Path, help="write every run's timings here")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="lexprep-bench-startup-"))
    sources: dict[str, Path] = {}
    for matter in args.matters.split(","):
        if matter == "demo":
            from lexprep.demo import write_demo_matter

            write_demo_matter(root / "demo-matter")
            sources["demo"] = root / "demo-matter"
        elif matter == "emails":
            if not (SHARED / "corpus" / "email").is_dir():
                print(f"skipping emails: {SHARED / 'corpus' / 'email'} not found (set LEXPREP_SHARED_DIR)")
                continue
            sources["emails"] = SHARED / "corpus" / "email"
    results: dict[str, dict[str, list[dict]]] = {}
    try:
        for matter, source in sources.items():
            for mode in args.modes.split(","):
                t0 = time.monotonic()
                results.setdefault(matter, {})[mode] = runs = measure(mode, source, args.n, root, matter)
                print(f"{matter:7} {mode:7} done in {time.monotonic() - t0:.0f} s: "
                      + ", ".join(f"{r['wall']:.1f}" for r in runs), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    cols = ("wall", "before_first_document", "flow", "documents", "quality", "exit")
    print(f"\nmedians of {args.n} runs (seconds); load average at the end: {os.getloadavg()[0]:.2f}")
    print("| matter | mode | Prefect API | documents | " + " | ".join(cols) + " |")
    print("|---|---|---|---:|" + "---:|" * len(cols))
    for matter, modes in results.items():
        for mode, runs in modes.items():
            med = {c: statistics.median([r[c] for r in runs if r[c] is not None] or [float("nan")]) for c in cols}
            print(f"| {matter} | {mode} | {runs[0]['api']} | {runs[0]['documents_n']} | "
                  + " | ".join(f"{med[c]:.2f}" for c in cols) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
