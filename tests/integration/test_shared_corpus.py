"""`lexprep run ../shared/corpus --matter shared`, twice, through the real CLI and Prefect flow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.shared, pytest.mark.prefect]

BIN = Path(sys.executable).parent


def _lexprep(*args, cwd, home):
    env = dict(os.environ, PREFECT_HOME=str(home))
    env.pop("PREFECT_API_URL", None)
    return subprocess.run([str(BIN / "lexprep"), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=1200)


@pytest.fixture(scope="module")
def shared_run(shared_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("shared")
    db = f"sqlite:///{root / 'shared.db'}"
    corpus = str(shared_dir / "corpus")
    first = _lexprep("run", corpus, "--matter", "shared", "--db", db, "--json", cwd=root, home=root / "home")
    assert first.returncode == 0, first.stderr[-4000:]
    second = _lexprep("run", corpus, "--matter", "shared", "--db", db, "--json", cwd=root, home=root / "home")
    assert second.returncode == 0, second.stderr[-4000:]
    export = _lexprep("export", "--matter", "shared", "--db", db, "--out", str(root / "out"), cwd=root, home=root / "home")
    assert export.returncode == 0, export.stderr
    docs = [json.loads(l) for l in (root / "out" / "documents.jsonl").read_text().splitlines()]
    return json.loads(first.stdout), json.loads(second.stdout), docs


def test_every_readable_format_is_done(shared_run):
    _, _, docs = shared_run
    by_name = {}
    for d in docs:
        by_name.setdefault(d["file_name"], d)
    for d in docs:
        name = d["file_name"]
        ext = name.rsplit(".", 1)[-1].lower()
        uri = d["source_uri"]
        if "/scanned/" in uri and "#" not in uri:
            assert d["status"] == "needs_ocr", (name, d["status"], d["error"])
            assert all(p["method"] == "needs_ocr" for p in d["pages"]) or any(
                p["method"] == "needs_ocr" for p in d["pages"])
        elif "/audio/" in uri:
            assert d["status"] == "needs_transcription", (name, d["status"])
        elif ext in ("pdf", "docx", "eml", "msg", "html", "doc", "wpd") and "#" not in uri:
            assert d["status"] == "done", (name, d["status"], d["error"])
    # e-mail attachments became child documents
    assert any(d["parent_id"] for d in docs)
    vector = by_name["vector-pdf.pdf"]
    assert len(vector["pages"]) == 30 and all(p["method"] == "text_layer" for p in vector["pages"])
    assert vector["category"] == "opinion"


def test_mentions_cover_the_legal_labels(shared_run):
    first, _, _ = shared_run
    labels = first["status"]["mentions_by_label"]
    for label in ("CASE", "LAW", "COURT", "DOCKET", "PERSON", "ORG", "DATE", "MONEY", "GPE"):
        assert labels.get(label, 0) > 0, label


def test_second_run_changes_no_count(shared_run):
    first, second, _ = shared_run
    assert second["processed"] == 0
    before, after = dict(first["status"]), dict(second["status"])
    before.pop("last_run"), after.pop("last_run")
    assert before == after
