"""More of the real `lexprep` CLI in subprocesses: `run --estimate`, `forget` and `--retry-failed`."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from lexprep.demo import write_demo_matter

pytestmark = [pytest.mark.integration, pytest.mark.prefect]

BIN = Path(sys.executable).parent
MATTER = "more"
#: names only extra.txt mentions (nowhere in the demo matter)
UNIQUE_PERSON = "Zebulon Quartermaine"
UNIQUE_ORG = "Quillfeather Dynamics"
EXTRA_TEXT = (
    f"MEMORANDUM\n\nOn March 3, 2024, {UNIQUE_PERSON}, chief executive of {UNIQUE_ORG}, Inc., signed the "
    f"indemnity letter in Denver, Colorado. {UNIQUE_PERSON} agreed that {UNIQUE_ORG}, Inc. would pay "
    "$125,000 to the escrow agent before April 1, 2024.\n"
)


def lexprep(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PREFECT_HOME=str(home), COLUMNS="500")
    env.pop("PREFECT_API_URL", None)
    return subprocess.run([str(BIN / "lexprep"), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


# ---------------------------------------------------------------- --estimate


def _scanned_pdf() -> bytes:
    """A one-page PDF whose only content is a picture of text (no text layer)."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    img = Image.new("L", (1275, 1650), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(["IN THE SUPERIOR COURT OF THE STATE OF CALIFORNIA", "DECLARATION OF JANE ROE",
                              "I, Jane Roe, declare as follows:", "1. I am over eighteen years of age."]):
        draw.text((100, 150 + 60 * i), line, fill=0)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(612, 792))
    c.drawImage(ImageReader(img), 0, 0, width=612, height=792)
    c.showPage()
    c.save()
    return buf.getvalue()


def _wav(seconds: float = 3.0, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        n = int(seconds * rate)
        # a quiet 440 Hz-ish square wave (content does not matter: only the duration is read)
        w.writeframes(b"".join(struct.pack("<h", 2000 if (i // 18) % 2 else -2000) for i in range(n)))
    return buf.getvalue()


def test_estimate_counts_ocr_pages_and_audio_and_runs_nothing(tmp_path):
    src = tmp_path / "matter"
    src.mkdir()
    (src / "scan.pdf").write_bytes(_scanned_pdf())
    (src / "call.wav").write_bytes(_wav(3.0))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    db_file = tmp_path / "never.db"
    home = tmp_path / "prefect-home"
    res = lexprep("run", str(src), "--matter", MATTER, "--db", f"sqlite:///{db_file}", "--estimate", "--json",
                  cwd=cwd, home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    est = json.loads(res.stdout)
    assert est["files"] == 2
    assert sum(est["ocr_pages"].values()) >= 1, est
    assert est["audio_seconds"] == pytest.approx(3.0, abs=0.1)
    assert est["unreadable"] == []
    # nothing ran: no store, nothing in the working directory, Prefect never started
    assert not db_file.exists()
    assert list(cwd.iterdir()) == []
    assert not home.exists()


# ---------------------------------------------------------------- forget and --retry-failed


def _entity_names(db: str) -> set[tuple[str, str]]:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return {tuple(r) for r in conn.execute(text("SELECT label, name FROM entities"))}
    finally:
        engine.dispose()


def _documents(db: str) -> dict[str, tuple[str, str]]:
    """file_name -> (status, updated_at)"""
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return {r[0]: (r[1], str(r[2])) for r in conn.execute(text("SELECT file_name, status, updated_at FROM documents"))}
    finally:
        engine.dispose()


def _mentions_unique(names: set[tuple[str, str]]) -> bool:
    return any(UNIQUE_PERSON in name or UNIQUE_ORG in name for _, name in names)


@pytest.fixture(scope="module")
def matter(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("more")
    src = root / "matter"
    write_demo_matter(src)
    (src / "extra.txt").write_text(EXTRA_TEXT)
    bad = src / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    pdf = (src / "opinion.pdf").read_bytes()
    (bad / "truncated.pdf").write_bytes(pdf[: len(pdf) // 3])
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 8)
    home = root / "prefect-home"
    db = f"sqlite:///{root / 'store.db'}"
    res = lexprep("run", str(src), "--matter", MATTER, "--db", db, "--json", cwd=root, home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    return dict(root=root, src=src, home=home, db=db, first=json.loads(res.stdout))


def _status(matter: dict) -> dict:
    res = lexprep("status", "--matter", MATTER, "--db", matter["db"], "--json", cwd=matter["root"], home=matter["home"])
    assert res.returncode == 0, res.stderr[-3000:]
    status = json.loads(res.stdout)
    status.pop("last_run")
    return status


def test_forget_then_rerun_brings_it_back(matter):
    db, root, home = matter["db"], matter["root"], matter["home"]
    before = _status(matter)
    assert before["documents"] == 9
    assert _mentions_unique(_entity_names(db))

    # by path: the only document that mentions the unique names
    res = lexprep("forget", str(matter["src"] / "extra.txt"), "--matter", MATTER, "--db", db, cwd=root, home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "forgot 1 document(s)" in res.stdout
    assert "extra.txt" not in _documents(db)
    assert not _mentions_unique(_entity_names(db))  # re-resolved: its entities are gone
    after_one = _status(matter)
    assert after_one["documents"] == 8
    assert after_one["entities"] < before["entities"]

    # by sha256: the e-mail goes with its attachment
    eml = matter["src"] / "correspondence" / "counsel-email.eml"
    sha = hashlib.sha256(eml.read_bytes()).hexdigest()
    res = lexprep("forget", sha, "--matter", MATTER, "--db", db, cwd=root, home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "forgot 2 document(s)" in res.stdout
    docs = _documents(db)
    assert "counsel-email.eml" not in docs and "term-sheet.docx" not in docs
    after_two = _status(matter)
    assert after_two["documents"] == 6
    assert after_two["relationships_by_type"].get("HAS_ATTACHMENT", 0) == 0
    # the e-mail's facts and typed edges went with it
    assert after_two["facts_by_kind"].get("email_from", 0) == before["facts_by_kind"].get("email_from", 0) - 1
    assert after_two["relationships_by_type"].get("SENT", 0) == before["relationships_by_type"].get("SENT", 0) - 1

    # an unknown key is an error, and changes nothing
    res = lexprep("forget", "0" * 64, "--matter", MATTER, "--db", db, cwd=root, home=home)
    assert res.returncode == 1
    assert "no document" in res.stderr

    # a second run brings them back, exactly as they were
    res = lexprep("run", str(matter["src"]), "--matter", MATTER, "--db", db, "--json", cwd=root, home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout)
    assert summary["processed"] == 3  # extra.txt, the e-mail and its attachment
    assert _status(matter) == before
    assert _mentions_unique(_entity_names(db))


def test_retry_failed_reprocesses_failed_documents_only(matter):
    db, root, home = matter["db"], matter["root"], matter["home"]
    before_status = _status(matter)
    before = _documents(db)
    bad = {"empty.txt", "truncated.pdf", "binary.txt"}
    assert {name for name, (status, _) in before.items() if status in ("failed", "unsupported")} == bad

    plain = lexprep("run", str(matter["src"]), "--matter", MATTER, "--db", db, "--json", cwd=root, home=home)
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert json.loads(plain.stdout)["processed"] == 0  # failed ones are not retried without the flag

    res = lexprep("run", str(matter["src"]), "--matter", MATTER, "--db", db, "--retry-failed", "--json",
                  cwd=root, home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout)
    assert summary["processed"] == len(bad)
    # the listed files that are done (an attachment is not reached when its e-mail is skipped)
    assert summary["skipped"] == before_status["documents"] - len(bad) - 1
    assert {f["file_name"] for f in summary["failures"]} == bad
    after = _documents(db)
    for name, (status, updated_at) in after.items():
        assert status == before[name][0]
        if name in bad:
            assert updated_at != before[name][1], name  # processed again
        else:
            assert updated_at == before[name][1], name  # untouched
    assert _status(matter) == before_status
