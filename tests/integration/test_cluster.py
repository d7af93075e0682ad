"""`lexprep run --cluster local`: the per-document work on a Dask LocalCluster of 2 worker processes gives the
same store as the run in the flow's own threads (lexprep_prefect.cluster).

The matter is the demo matter (an e-mail with an attachment among them) plus a byte-identical copy of a
PDF under another name (claimed once across the cluster) and a zero-byte PDF (failed, recorded). One
document per cluster task, so the batches spread over both workers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lexprep.demo import write_demo_matter

pytestmark = [pytest.mark.integration, pytest.mark.prefect]

pytest.importorskip("prefect_dask", reason="prefect-dask is the cluster extra (lexprep[cluster])")

BIN = Path(sys.executable).parent


def lexprep(*args: str, cwd: Path, home: Path, **env_extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PREFECT_HOME=str(home), COLUMNS="200", **env_extra)
    env.pop("PREFECT_API_URL", None)
    return subprocess.run([str(BIN / "lexprep"), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=900)


def _mentions(export: Path) -> list[tuple]:
    docs = {d["id"]: d["sha256"] for d in map(json.loads, (export / "documents.jsonl").read_text().splitlines())}
    rows = [json.loads(line) for line in (export / "mentions.jsonl").read_text().splitlines()]
    return sorted((docs[m["document_id"]], m["doc_start"], m["doc_end"], m["label"], m["text"]) for m in rows)


def _entities(export: Path) -> list[tuple]:
    rows = [json.loads(line) for line in (export / "entities.jsonl").read_text().splitlines()]
    return sorted((e["label"], e["name"]) for e in rows)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("cluster")
    src = root / "matter"
    write_demo_matter(src)
    shutil.copyfile(src / "opinion.pdf", src / "opinion-copy.pdf")
    (src / "empty.pdf").write_bytes(b"")
    home = root / "prefect-home"
    out = {}
    for name, extra in (("threads", ()), ("cluster", ("--cluster", "local"))):
        db = f"sqlite:///{root / f'{name}.db'}"
        run = lexprep("run", str(src), "--matter", "m", "--db", db, "--json", *extra, cwd=root, home=home,
                      LEXPREP_CLUSTER__WORKERS="2", LEXPREP_CLUSTER__BATCH_SIZE="1")
        assert run.returncode == 0, f"{name}: {run.returncode}\n{run.stderr[-4000:]}"
        status = lexprep("status", "--matter", "m", "--db", db, "--json", cwd=root, home=home)
        assert status.returncode == 0, status.stderr
        export = root / f"{name}-export"
        exported = lexprep("export", "--matter", "m", "--db", db, "--out", str(export), cwd=root, home=home)
        assert exported.returncode == 0, exported.stderr
        out[name] = {"summary": json.loads(run.stdout), "status": json.loads(status.stdout), "export": export}
    return out


def test_the_cluster_run_stores_what_the_threads_run_stores(runs):
    threads, cluster = runs["threads"], runs["cluster"]
    for key in ("documents", "documents_by_status", "pages_by_method", "categories", "chunks", "mentions_by_label",
                "entities_by_label", "relationships_by_type", "facts_by_kind"):
        assert cluster["status"][key] == threads["status"][key], key
    assert threads["status"]["documents"] == 6  # 4 demo files, the e-mail's attachment, the empty PDF
    assert threads["status"]["mentions"] > 50 and threads["status"]["relationships"] > 0
    assert threads["status"]["documents_by_status"].get("failed") == 1  # the empty PDF, recorded
    assert _mentions(cluster["export"]) == _mentions(threads["export"])
    assert _entities(cluster["export"]) == _entities(threads["export"])


def test_the_cluster_run_processed_each_document_once(runs):
    for name in ("threads", "cluster"):
        summary = runs[name]["summary"]
        # demo matter: 4 files + the copy + the empty PDF, and the e-mail's attachment; the copy is the
        # opinion's content, processed once (the other is skipped as already done, or a duplicate)
        names = sorted(f["file_name"] for f in summary["failures"])
        assert names == ["empty.pdf"], (name, summary["failures"])
        assert summary["processed"] + summary["skipped"] >= 6, (name, summary)


def test_a_remote_cluster_with_a_sqlite_store_is_one_line_and_exit_2(tmp_path):
    src = tmp_path / "matter"
    write_demo_matter(src)
    run = lexprep("run", str(src), "--matter", "m", "--db", f"sqlite:///{tmp_path / 'x.db'}",
                  "--cluster", "tcp://127.0.0.1:1", cwd=tmp_path, home=tmp_path / "home")
    assert run.returncode == 2, run.stderr
    assert "cannot write to a SQLite file" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.db").exists()  # nothing written
