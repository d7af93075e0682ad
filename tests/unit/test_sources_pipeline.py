"""Sources (fsspec listing) and the pipeline's re-run decisions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from lexprep import PIPELINE_VERSION
from lexprep.errors import ConfigurationError, EncryptedFileError
from lexprep.models import SourceFile
from lexprep.pipeline import failure, needs_processing
from lexprep.settings import Settings
from lexprep.sources import describe, list_sources, read_bytes

pytestmark = pytest.mark.unit


def test_list_sources_walks_recursively_and_skips_hidden(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("one")
    (tmp_path / "two.txt").write_text("two!")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x")
    (tmp_path / ".hidden.txt").write_text("x")
    (tmp_path / ".DS_Store").write_bytes(b"x")
    refs = list_sources(str(tmp_path))
    assert [r.file_name for r in refs] == ["one.txt", "two.txt"]
    assert [r.size for r in refs] == [3, 4]
    assert read_bytes(refs[1].uri) == b"two!"


def test_list_sources_single_file_and_missing(tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("hello")
    assert [r.file_name for r in list_sources(str(f))] == ["x.txt"]
    with pytest.raises(ConfigurationError, match="source not found"):
        list_sources(str(tmp_path / "missing"))


def test_describe_hashes_content_and_sniffs():
    src = describe("mem://x", "x.bin", b"%PDF-1.7\n...")
    assert src.kind == "pdf" and src.size == 12 and len(src.sha256) == 64
    assert describe("mem://y", "y.pdf", b"").kind == "empty"


@dataclass
class Info:
    status: str
    pipeline_version: str
    settings_fingerprint: str
    error: str | None = None


def test_needs_processing_decisions():
    settings = Settings()
    fp = settings.fingerprint()
    assert needs_processing(None, settings)
    assert not needs_processing(Info("done", PIPELINE_VERSION, fp), settings)
    assert needs_processing(Info("needs_ocr", PIPELINE_VERSION, fp), settings)  # an OCR engine may be there now
    assert not needs_processing(Info("partial", PIPELINE_VERSION, fp), settings)
    assert needs_processing(Info("extracting", PIPELINE_VERSION, fp), settings)  # crashed mid-way
    assert needs_processing(Info("done", "0", fp), settings)  # new pipeline version
    assert needs_processing(Info("done", PIPELINE_VERSION, "other"), settings)  # changed settings
    assert not needs_processing(Info("failed", PIPELINE_VERSION, fp), settings)
    assert needs_processing(Info("failed", PIPELINE_VERSION, fp, "temporary failure: database restarting"), settings)
    assert needs_processing(Info("failed", PIPELINE_VERSION, fp), settings, retry_failed=True)


def test_fingerprint_changes_with_derivation_settings_only():
    base = Settings().fingerprint()
    assert Settings(chunk={"size_tokens": 256}).fingerprint() != base
    assert Settings(document_workers=9).fingerprint() == base


def test_failure_is_one_line_with_status():
    src = SourceFile("x", "x.pdf", "0" * 64, 1, "pdf")
    res = failure(src, EncryptedFileError("PDF is password-protected\nmore detail"))
    assert res.status == "failed" and res.error == "PDF is password-protected"
    res = failure(src, RuntimeError("boom"))
    assert res.status == "failed" and res.error == "RuntimeError: boom"
