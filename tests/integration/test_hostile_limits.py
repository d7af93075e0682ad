"""Time budgets and memory caps on one document's extraction, OCR and mention work, in the real worker
processes, with the peak resident size of the worker measured (the kernel's, through the sandbox's
stats: VmHWM for a task that finished, os.wait4 rusage for a worker that had to be killed).

Budgets here are lowered so that a runaway is cut in about a second; the defaults are in
lexprep.settings.LimitSettings."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lexprep import pipeline
from lexprep.errors import LimitExceededError
from lexprep.extract import sniff
from lexprep.models import SourceFile
from lexprep.sandbox import GuardedPool, format_bytes
from lexprep.settings import OcrSettings, Settings
from tests import hostile

pytestmark = pytest.mark.integration

MiB = 1 << 20


def _source(name: str, data: bytes) -> SourceFile:
    kind, mime = sniff(data, name)
    return SourceFile(f"/matter/{name}", name, "0" * 64, len(data), kind, mime)


def _extract(name: str, data: bytes, settings: Settings):
    stats: dict = {}
    try:
        return pipeline.extract_stage(_source(name, data), data, settings, stats), stats
    except LimitExceededError as exc:
        return exc, stats


def test_extraction_over_its_time_budget_costs_one_document():
    settings = Settings(limits={"extract_timeout_s": 1})
    outcome, stats = _extract("nested.html", hostile.nested_html(600_000), settings)
    assert isinstance(outcome, LimitExceededError) and str(outcome) == "exceeded 1 s extracting"
    assert stats["wall_s"] < 5 and stats["peak_rss"] < 2 << 30
    doc, _ = _extract("memo.txt", b"The next document is extracted as usual by a fresh worker.\n", settings)
    assert doc.pages[0].text.startswith("The next document")


def test_extraction_over_its_memory_cap_is_stopped_near_the_cap():
    settings = Settings(limits={"max_unzipped_bytes": 2 << 30, "worker_memory_bytes": 300 * MiB})
    data = hostile.docx_huge_xml(3_000_000)  # 100 MB of tiny paragraphs in a 300 KB file
    outcome, stats = _extract("huge.docx", data, settings)
    assert isinstance(outcome, LimitExceededError) and str(outcome) == "exceeded 300 MiB of memory extracting"
    assert stats["peak_rss"] <= 330 * MiB, format_bytes(stats["peak_rss"])


def test_a_docx_bomb_is_refused_with_little_memory():
    outcome, stats = _extract("bomb.docx", hostile.docx_bomb(600 * MiB), Settings())
    assert str(outcome) == ("DOCX would inflate to 600 MiB (3 parts), over the limit of 512 MiB "
                            "(limits.max_unzipped_bytes)")
    assert stats["peak_rss"] < 150 * MiB, format_bytes(stats["peak_rss"])


def test_a_huge_single_line_text_is_cut_in_the_worker(tmp_path):
    path = hostile.write_single_line_text(tmp_path / "one-line.txt", 40_000_000)
    doc, stats = _extract("one-line.txt", path.read_bytes(), Settings())
    assert len(doc.pages[0].text) == 5_000_000
    assert doc.meta["left_out"] == ["text cut after 5,000,000 characters of a 40,000,000-byte file "
                                    "(limits.max_text_chars)"]
    assert stats["peak_rss"] < 300 * MiB, format_bytes(stats["peak_rss"])


def test_a_huge_page_is_rendered_small_and_without_the_limit_would_be_stopped_at_the_cap():
    pdf = hostile.huge_page_pdf(20_000)
    pool = GuardedPool("render", 1, memory_bytes=1 << 30)
    try:
        stats: dict = {}
        image, dpi = pool.call("lexprep.ocr.render:render_pdf_page", (pdf, 1, OcrSettings(), 50_000_000),
                               timeout_s=120, what="rendering", stats=stats)
        assert dpi == 25 and image.width * image.height <= 50_000_000
        assert stats["peak_rss"] < 400 * MiB, format_bytes(stats["peak_rss"])
        with pytest.raises(LimitExceededError, match=r"^exceeded 1 GiB of memory rendering$"):
            pool.call("lexprep.ocr.render:render_pdf_page", (pdf, 1, OcrSettings(), None), timeout_s=120,
                      what="rendering", stats=stats)
        assert stats["peak_rss"] < 1.2 * (1 << 30), format_bytes(stats["peak_rss"])
    finally:
        pool.close()


def test_an_ocr_page_over_its_budget_fails_alone():
    pytest.importorskip("tesserocr")
    from lexprep.ocr.runner import ocr_pages

    settings = Settings(ocr={"workers": 1}, limits={"ocr_page_timeout_s": 0.05})
    [outcome] = ocr_pages(hostile.huge_page_pdf(20_000), "pdf", [1], settings)
    assert outcome.error == "exceeded 0.05 s rendering and OCR of page 1" and not outcome.transient
    [ok] = ocr_pages(hostile.huge_page_pdf(20_000), "pdf", [1], Settings(ocr={"workers": 1}))
    assert ok.error is None and ok.method == "tesseract" and ok.dpi == 25


def test_mention_extraction_over_its_budget_is_stopped_and_the_next_document_goes_on():
    from lexprep.models import CleanText, PageSpan

    text = "Alice Moreno of Harborline Logistics, Inc. met Daniel Whitfield in Seattle on March 3, 2021. " * 4000
    clean = CleanText(text, [PageSpan(1, 0, len(text))])
    settings = Settings(ner={"workers": 1}, limits={"mentions_timeout_s": 0.5})
    chunks = pipeline.chunk_stage(clean, settings)
    pipeline.mention_pool(settings.ner).start()
    with pytest.raises(LimitExceededError, match=r"^exceeded 0\.5 s extracting mentions$"):
        pipeline.mentions_stage(clean, chunks, None, settings)
    # the same workers (restarted: their start-up is not this document's) under the default budget
    settings = Settings(ner={"workers": 1})
    small_clean = CleanText(text[:200], [PageSpan(1, 0, 200)])
    small = pipeline.chunk_stage(small_clean, settings)
    labels = {m.label for m in pipeline.mentions_stage(small_clean, small, None, settings)}
    assert {"PERSON", "ORG"} <= labels


class _MistralDown(BaseHTTPRequestHandler):
    """Mistral's OCR endpoint, answering 503 until ``up`` is set (then one page of text)."""

    up = False

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        if not _MistralDown.up:
            self.send_response(503)
            payload = b'{"message": "unavailable"}'
        else:
            self.send_response(200)
            payload = json.dumps({"pages": [{"index": 0, "markdown": "The witness signed the contract.", "images": [],
                                             "dimensions": {"dpi": 200, "height": 100, "width": 100}}],
                                  "model": "mistral-ocr-latest", "usage_info": {"pages_processed": 1}}).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def test_pages_that_failed_for_a_passing_reason_are_done_on_the_next_run(monkeypatch):
    pytest.importorskip("mistralai")
    import lexprep.ocr.mistral as mistral

    from tenacity import wait_none

    monkeypatch.setattr(mistral, "wait_random_exponential", lambda **_: wait_none())  # its retries, without waits
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _MistralDown)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        settings = Settings(profile="cloud", ner={"workers": 0, "backend": "spacy"}, resolve={"llm": False},
                            ocr={"workers": 0, "mistral_base_url": f"http://127.0.0.1:{httpd.server_port}",
                                 "mistral_api_key": "sk-test"})
        data = hostile.huge_page_pdf(2_000)
        source = _source("scan.pdf", data)
        first = pipeline.run_document(source, data, settings)
        assert first.status == "partial"
        assert first.error.startswith("temporary failure: 1 of 1 pages failed (page 1: every OCR engine failed: "
                                      "mistral: TransientError: Mistral OCR answered 503)")

        class Stored:  # what the store keeps of it
            status, error = first.status, first.error
            pipeline_version, settings_fingerprint = pipeline.PIPELINE_VERSION, settings.fingerprint()

        assert pipeline.needs_processing(Stored, settings)  # the next run takes it again
        _MistralDown.up = True
        second = pipeline.run_document(source, data, settings)
        assert second.status == "done" and second.extracted.pages[0].text == "The witness signed the contract."
    finally:
        httpd.shutdown()
