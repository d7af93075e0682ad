"""The real `lexprep` CLI in fresh processes: run (through the Prefect flow), status, export, re-run.

The matter is the demo matter plus bad input made here: a zero-byte file, a truncated PDF, an
encrypted PDF, binary bytes named .txt and an unknown binary format.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lexprep.demo import write_demo_matter

pytestmark = [pytest.mark.integration, pytest.mark.prefect]

BIN = Path(sys.executable).parent


def lexprep(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PREFECT_HOME=str(home), COLUMNS="200")
    env.pop("PREFECT_API_URL", None)
    return subprocess.run([str(BIN / "lexprep"), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def _encrypted_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt="secret-password")
    c.drawString(72, 720, "Privileged and confidential settlement memorandum.")
    c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture(scope="module")
def matter(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("cli")
    src = root / "matter"
    write_demo_matter(src)
    bad = src / "bad"
    bad.mkdir()
    (bad / "empty.pdf").write_bytes(b"")
    pdf = (src / "opinion.pdf").read_bytes()
    (bad / "truncated.pdf").write_bytes(pdf[: len(pdf) // 3])
    (bad / "encrypted.pdf").write_bytes(_encrypted_pdf())
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (bad / "mystery.dat").write_bytes(b"\x00\x01\x02\x03LXPR" + bytes(range(200, 256)) * 20)
    home = root / "prefect-home"
    db = f"sqlite:///{root / 'store.db'}"
    first = lexprep("run", str(src), "--matter", "m1", "--db", db, cwd=root, home=home)
    status1 = lexprep("status", "--matter", "m1", "--db", db, "--json", cwd=root, home=home)
    second = lexprep("run", str(src), "--matter", "m1", "--db", db, "--json", cwd=root, home=home)
    status2 = lexprep("status", "--matter", "m1", "--db", db, "--json", cwd=root, home=home)
    export = lexprep("export", "--matter", "m1", "--db", db, "--out", str(root / "out"), cwd=root, home=home)
    return dict(root=root, db=db, home=home, first=first, status1=status1, second=second, status2=status2, export=export)


def test_run_completes_with_per_file_failures_recorded(matter):
    first = matter["first"]
    assert first.returncode == 0, first.stderr[-3000:]
    assert "documents by status" in first.stdout
    assert "seconds per stage" in first.stdout
    status = json.loads(matter["status1"].stdout)
    # opinion.pdf, services-agreement.docx, counsel-email.eml, its term-sheet.docx attachment, motion-to-dismiss.txt
    assert status["documents_by_status"]["done"] == 5
    assert status["documents_by_status"]["failed"] == 3  # empty, truncated, encrypted
    assert status["documents_by_status"]["unsupported"] == 2  # binary .txt, unknown format
    assert status["pages_by_method"]["text_layer"] == 3
    assert status["chunks"] > 0
    for label in ("PERSON", "ORG", "DATE", "MONEY", "CASE", "LAW", "COURT", "DOCKET", "GPE"):
        assert status["mentions_by_label"].get(label, 0) > 0, label
    for rel in ("CONTAINS", "MENTIONS", "CO_OCCURS", "CITES", "HAS_ATTACHMENT"):
        assert status["relationships_by_type"].get(rel, 0) > 0, rel


def test_reasons_are_one_line_and_clear(matter):
    out = matter["root"] / "out"
    docs = {d["file_name"]: d for d in map(json.loads, (out / "documents.jsonl").read_text().splitlines())}
    assert "empty" in docs["empty.pdf"]["error"].lower()
    assert "password" in docs["encrypted.pdf"]["error"].lower() or "encrypt" in docs["encrypted.pdf"]["error"].lower()
    assert docs["truncated.pdf"]["status"] == "failed" and docs["truncated.pdf"]["error"]
    assert docs["binary.txt"]["status"] == "unsupported" and docs["binary.txt"]["error"]
    assert docs["mystery.dat"]["status"] == "unsupported" and docs["mystery.dat"]["error"]
    for d in docs.values():
        if d["error"]:
            assert "\n" not in d["error"]


def test_second_run_changes_nothing(matter):
    second = matter["second"]
    assert second.returncode == 0, second.stderr[-3000:]
    summary = json.loads(second.stdout)
    assert summary["processed"] == 0
    before, after = json.loads(matter["status1"].stdout), json.loads(matter["status2"].stdout)
    before.pop("last_run"), after.pop("last_run")
    assert before == after


def test_export_files(matter):
    assert matter["export"].returncode == 0, matter["export"].stderr
    out = matter["root"] / "out"
    docs = [json.loads(l) for l in (out / "documents.jsonl").read_text().splitlines()]
    chunks = [json.loads(l) for l in (out / "chunks.jsonl").read_text().splitlines()]
    entities = [json.loads(l) for l in (out / "entities.jsonl").read_text().splitlines()]
    rels = [json.loads(l) for l in (out / "relationships.jsonl").read_text().splitlines()]
    by_name = {d["file_name"]: d for d in docs}
    attachment = by_name["term-sheet.docx"]
    assert attachment["parent_id"] == by_name["counsel-email.eml"]["id"]
    assert by_name["counsel-email.eml"]["category"] == "correspondence"
    assert by_name["opinion.pdf"]["category"] == "opinion"
    assert by_name["services-agreement.docx"]["category"] == "contract"
    assert [p["number"] for p in by_name["opinion.pdf"]["pages"]] == [1, 2, 3]
    assert by_name["opinion.pdf"]["segments"] == []
    for key in ("id", "parent_id", "source_uri", "file_name", "sha256", "status", "error", "category", "pages"):
        assert key in by_name["opinion.pdf"]
    texts = {d["id"]: d for d in docs}
    for c in chunks:
        for key in ("document_id", "chunk_index", "text", "char_start", "char_end", "page_start", "page_end",
                    "token_count", "mentions"):
            assert key in c
        for m in c["mentions"]:
            assert c["text"][m["start"]:m["end"]] == m["text"]
            assert m["entity_id"]
    opinion_chunks = [c for c in chunks if c["document_id"] == by_name["opinion.pdf"]["id"]]
    assert opinion_chunks[0]["page_start"] == 1 and opinion_chunks[-1]["page_end"] == 3
    names = {(e["label"], e["name"]) for e in entities}
    assert any(label == "ORG" and "Harborline" in name for label, name in names)
    assert any(label == "PERSON" and "Natarajan" in name for label, name in names)
    assert any(label == "CASE" for label, _ in names)
    assert {"source", "target", "type", "weight", "evidence_chunk"} <= set(rels[0])
    assert texts  # documents exported


def test_unreachable_database_fails_fast(tmp_path):
    res = lexprep("run", str(tmp_path), "--matter", "x", "--db", "sqlite:////nonexistent-dir/sub/x.db",
                  cwd=tmp_path, home=tmp_path / "home")
    assert res.returncode == 2
    assert "cannot reach database" in (res.stderr + res.stdout)


def test_missing_source_fails_fast(tmp_path):
    res = lexprep("run", str(tmp_path / "nope"), "--matter", "x", "--db", f"sqlite:///{tmp_path}/x.db",
                  cwd=tmp_path, home=tmp_path / "home")
    assert res.returncode == 2
    assert "source not found" in (res.stderr + res.stdout)
