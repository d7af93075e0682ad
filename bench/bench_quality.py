"""The quality gates' cost: Great Expectations vs the built-in engine (the same expectations in pandas).

1. Fixed cost per process: ``import great_expectations`` (and ``import pandas``, which both engines need),
   each in a fresh interpreter.
2. The gate on real matters, each in a fresh process as a run pays it (imports included): the demo matter
   and the e-mails of ../shared/corpus/email, stored once with ``lexprep run`` (gates off), then
   ``run_quality_gates`` with ``engine=gx`` (before issue 10: every run) and ``engine=auto`` (after: the
   built-in engine below ``quality.gx_min_rows``).
3. Evaluation only (imports excluded) on synthetic frames of growing size: how each engine scales, which
   sets ``quality.gx_min_rows``.

Medians of ``-n`` runs (default 3). Usage: ``python bench/bench_quality.py [-n 3] [--sizes 10000,100000,1000000]``.
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
PY = sys.executable
LEXPREP = Path(PY).parent / "lexprep"

GATE = """
import json, sys, time
t0 = time.perf_counter()
from lexprep.quality import run_quality_gates
from lexprep.settings import Settings
from lexprep.store import Store
store = Store.open(sys.argv[1])
settings = Settings()
settings.quality.engine = sys.argv[3]
report = run_quality_gates(store, store.find_matter(sys.argv[2]), settings)
rows = sum(s["rows"] for s in report.suites.values())
print(json.dumps({"seconds": time.perf_counter() - t0, "engine": report.engine, "rows": rows,
                  "success": report.success}))
"""


def _median_process(argv: list[str], n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fixed_costs(n: int) -> dict[str, float]:
    base = _median_process([PY, "-c", "pass"], n)
    return {mod: _median_process([PY, "-c", f"import {mod}"], n) - base
            for mod in ("pandas", "great_expectations")}


def matter_gates(n: int, root: Path) -> list[dict]:
    from lexprep.demo import write_demo_matter

    sources = {}
    write_demo_matter(root / "demo")
    sources["demo"] = root / "demo"
    if (SHARED / "corpus" / "email").is_dir():
        sources["emails"] = SHARED / "corpus" / "email"
    env = {**os.environ, "LEXPREP_QUALITY__ENABLED": "false", "PREFECT_HOME": str(root / "prefect-home")}
    env.pop("PREFECT_API_URL", None)
    out = []
    for matter, source in sources.items():
        db = f"sqlite:///{root / (matter + '.db')}"
        subprocess.run([str(LEXPREP), "run", str(source), "--matter", matter, "--db", db, "--json"], check=True,
                       capture_output=True, env=env, timeout=900)
        for engine in ("gx", "auto"):
            runs = [json.loads(subprocess.run([PY, "-c", GATE, db, matter, engine], check=True, capture_output=True,
                                              text=True).stdout) for _ in range(n)]
            out.append({"matter": matter, "engine": engine, "used": runs[0]["engine"], "rows": runs[0]["rows"],
                        "seconds": statistics.median(r["seconds"] for r in runs)})
    return out


def scaling(sizes: list[int], n: int) -> list[dict]:
    """Evaluation seconds of every check on synthetic frames of ``size`` rows in all (split over the tables)."""
    import numpy as np
    import pandas as pd

    from lexprep.quality import _context, _import_gx, _validate_gx, checks
    from lexprep.quality.builtin import validate_builtin
    from lexprep.quality.frames import FRAME_COLUMNS
    from lexprep.settings import Settings

    gx = _import_gx()
    all_checks = list(enumerate(checks(Settings())))
    rng = np.random.default_rng(0)
    out = []
    for size in sizes:
        share = {"documents": 0.01, "pages": 0.09, "chunks": 0.3, "mentions": 0.55, "entities": 0.05}
        frames = {}
        for table, part in share.items():
            rows = max(1, int(size * part))
            data = {}
            for col in FRAME_COLUMNS[table]:
                if col in ("id", "document_id", "chunk_id"):
                    data[col] = [f"{col}-{i % (rows // 3 + 1)}" if col != "id" else f"r{i}" for i in range(rows)]
                elif col in ("status",):
                    data[col] = rng.choice(["done", "failed", "partial"], rows).astype(object)
                elif col in ("method",):
                    data[col] = rng.choice(["text_layer", "tesseract"], rows).astype(object)
                elif col in ("label",):
                    data[col] = rng.choice(["PERSON", "ORG", "DATE"], rows).astype(object)
                elif col == "name":
                    data[col] = rng.choice(["Acme", "John Smith"], rows).astype(object)
                else:
                    data[col] = rng.integers(0, 60, rows).astype("float64")
            frames[table] = pd.DataFrame(data)
        frames["chunks"]["span"] = frames["chunks"]["char_end"] - frames["chunks"]["char_start"]
        for engine in ("gx", "builtin"):
            times = []
            for _ in range(n):
                context = _context(gx)
                context.data_sources.add_pandas(name="lexprep")
                t0 = time.perf_counter()
                for table, df in frames.items():
                    table_checks = [(i, c) for i, c in all_checks if c.table == table]
                    if engine == "gx":
                        _validate_gx(gx, context, table, df, table_checks)
                    else:
                        validate_builtin(df, table_checks)
                times.append(time.perf_counter() - t0)
            out.append({"rows": size, "engine": engine, "seconds": statistics.median(times)})
            print(f"scaling {size:>9} rows {engine:7}: {out[-1]['seconds']:.2f} s", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=3)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lexprep-bench-quality-"))
    try:
        fixed = fixed_costs(args.n)
        print("fixed import cost per process (s): " + ", ".join(f"{k} {v:.2f}" for k, v in fixed.items()))
        gates = matter_gates(args.n, root)
        print("\n| matter | engine asked | engine used | rows | gate seconds (fresh process, imports included) |")
        print("|---|---|---|---:|---:|")
        for g in gates:
            print(f"| {g['matter']} | {g['engine']} | {g['used']} | {g['rows']} | {g['seconds']:.2f} |")
        rows = scaling([int(x) for x in args.sizes.split(",") if x], args.n)
        print("\n| rows (all tables) | Great Expectations (s) | built-in (s) |")
        print("|---:|---:|---:|")
        for size in sorted({r["rows"] for r in rows}):
            by = {r["engine"]: r["seconds"] for r in rows if r["rows"] == size}
            print(f"| {size} | {by['gx']:.2f} | {by['builtin']:.2f} |")
        print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
