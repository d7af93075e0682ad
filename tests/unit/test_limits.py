"""Limits on one document's cost: killable worker processes (lexprep.sandbox), waiting out a database
outage (lexprep.store.outage), and the pipeline's rules for what a limit leaves out."""

from __future__ import annotations

import os
import threading

import pytest

from lexprep import PIPELINE_VERSION, pipeline
from lexprep.errors import (
    CorruptFileError,
    LimitExceededError,
    MissingDependencyError,
    RunInterrupted,
    TransientError,
)
from lexprep.models import Attachment, ExtractedDocument, Page, SourceFile
from lexprep.sandbox import GuardedPool, format_bytes, format_seconds, watch
from lexprep.settings import LimitSettings, Settings
from lexprep.store.outage import OutageWait
from tests.hostile import running

pytestmark = pytest.mark.unit

MiB = 1 << 20


@pytest.fixture
def pool():
    p = GuardedPool("test", 1, memory_bytes=200 * MiB)
    yield p
    p.close()


# ----------------------------------------------------------------------------- worker processes


def test_a_task_runs_in_a_reused_worker_and_reports_its_peak(pool):
    stats: dict = {}
    assert pool.call("tests.hostile:allocate", (20,), timeout_s=30, what="testing", stats=stats) == 20
    first = stats["pid"]
    assert first != os.getpid() and 20 * MiB < stats["peak_rss"] < 150 * MiB
    assert pool.call("tests.hostile:spin", (0,), timeout_s=30, what="testing", stats=stats) == "finished"
    assert stats["pid"] == first  # the same worker serves the next task


def test_a_task_over_its_time_budget_costs_only_itself(pool):
    stats: dict = {}
    with pytest.raises(LimitExceededError, match=r"^exceeded 0\.5 s testing$"):
        pool.call("tests.hostile:spin", (60,), timeout_s=0.5, what="testing", stats=stats)
    assert stats["wall_s"] < 5
    assert not running(stats["pid"])  # killed, not left spinning
    assert pool.call("tests.hostile:spin", (0,), timeout_s=30, what="testing") == "finished"  # a new worker


def test_a_task_over_the_memory_cap_is_killed_and_its_peak_is_bounded(pool):
    stats: dict = {}
    with pytest.raises(LimitExceededError, match=r"^exceeded 200 MiB of memory testing$"):
        # growing at up to 100 MiB/s; the parent looks every 50 ms, the worker itself every 20 ms (a loaded
        # machine may delay both)
        pool.call("tests.hostile:allocate", (3000, 0.01), timeout_s=60, what="testing", stats=stats)
    # the worker's own peak (VmHWM) or the largest size seen: it never got far past the cap
    assert 150 * MiB < stats["peak_rss"] < 500 * MiB, format_bytes(stats["peak_rss"])


def test_the_worker_watches_itself_when_the_parent_cannot(pool, monkeypatch):
    """A parent that is not scheduled in time (a loaded machine) is here a parent that cannot read the
    worker's size at all: the worker's own watch still ends the task near the cap."""
    import lexprep.sandbox as sandbox

    monkeypatch.setattr(sandbox, "rss_bytes", lambda pid: None)
    stats: dict = {}
    with pytest.raises(LimitExceededError, match=r"^exceeded 200 MiB of memory testing$"):
        pool.call("tests.hostile:allocate", (3000, 0.01), timeout_s=60, what="testing", stats=stats)
    assert 150 * MiB < stats["peak_rss"] < 500 * MiB, format_bytes(stats["peak_rss"])
    assert not running(stats["pid"])
    assert pool.call("tests.hostile:allocate", (20,), timeout_s=30, what="testing") == 20  # a new worker


def test_a_big_parent_does_not_make_a_killed_worker_look_big():
    """Linux keeps the high-water mark of the forking process in the child's ru_maxrss across exec: a
    600 MiB parent made every killed worker "peak" at 600 MiB (seen in CI at 1.9 GiB)."""
    ballast = bytearray(600 * MiB)  # touched: resident
    p = GuardedPool("test", 1, memory_bytes=200 * MiB)
    try:
        stats: dict = {}
        with pytest.raises(LimitExceededError):
            p.call("tests.hostile:allocate", (3000, 0.01), timeout_s=60, what="testing", stats=stats)
        assert 150 * MiB < stats["peak_rss"] < 500 * MiB, format_bytes(stats["peak_rss"])
    finally:
        p.close()
        del ballast


def test_address_space_limit_stops_one_huge_allocation_at_once():
    p = GuardedPool("test", 1, memory_bytes=300 * MiB, address_space=True)
    try:
        stats: dict = {}
        with pytest.raises(LimitExceededError, match="exceeded 300 MiB of memory"):
            p.call("tests.hostile:allocate", (4000,), timeout_s=60, what="testing", stats=stats)
        assert stats["peak_rss"] < 320 * MiB
    finally:
        p.close()


def test_a_crashing_parser_is_reported_with_its_signal(pool):
    with pytest.raises(CorruptFileError, match=r"the parser crashed \(SIGSEGV\) while testing"):
        pool.call("tests.hostile:segfault", (), timeout_s=30, what="testing")
    assert pool.call("tests.hostile:spin", (0,), timeout_s=30, what="testing") == "finished"


def test_errors_keep_their_class_and_attributes(pool):
    with pytest.raises(MissingDependencyError) as info:
        pool.call("tests.hostile:missing_engine", (), timeout_s=30, what="testing")
    assert (info.value.what, info.value.install) == ("tesseract", "apt-get install tesseract-ocr")
    assert "MissingDependencyError" in info.value.worker_traceback


def test_workers_started_by_short_lived_threads_outlive_them():
    """The parent-death signal follows the thread that started a process: workers must not die with it."""
    p = GuardedPool("test", 2)
    try:
        pids: list[int] = []

        def use() -> None:
            stats: dict = {}
            p.call("tests.hostile:spin", (0,), timeout_s=30, what="testing", stats=stats)
            pids.append(stats["pid"])

        threads = [threading.Thread(target=use) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(running(pid) for pid in pids)
        assert p.call("tests.hostile:spin", (0,), timeout_s=30, what="testing") == "finished"
    finally:
        p.close()


def test_watch_kills_the_processes_of_a_runaway_pool():
    from concurrent.futures import ProcessPoolExecutor

    import tests.hostile as h

    executor = ProcessPoolExecutor(1)
    try:
        executor.submit(h.spin, 0).result()
        pids = lambda: list(executor._processes)  # noqa: E731
        with pytest.raises(LimitExceededError, match=r"^exceeded 0\.3 s counting$"):
            watch(lambda: executor.submit(h.spin, 60).result(), pids, timeout_s=0.3, memory_bytes=None,
                  what="counting")
        assert watch(lambda: 7, pids, timeout_s=5, memory_bytes=None, what="counting") == 7
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def test_formats():
    assert format_bytes(2 << 30) == "2 GiB" and format_bytes(512 * MiB) == "512 MiB"
    assert format_bytes(3.5 * (1 << 30)) == "3.5 GiB" and format_bytes(12) == "12 B"
    assert format_seconds(120) == "120 s" and format_seconds(0.5) == "0.5 s"


# ----------------------------------------------------------------------------- database outages


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _down_until(clock: Clock, back_at: float):
    calls = []

    def fn(x):
        calls.append(clock.now)
        if clock.now < back_at:
            raise TransientError("database error: connection refused")
        return x * 2

    return fn, calls


def test_an_outage_shorter_than_the_budget_is_waited_out():
    clock = Clock()
    fn, calls = _down_until(clock, back_at=15.6)  # the restart the old ~15 s budget missed by 0.6 s
    assert OutageWait(clock, clock.sleep).call(fn, 21, budget_s=60) == 42
    assert len(calls) > 2 and calls[-1] >= 15.6


def test_an_outage_longer_than_the_budget_gives_up_and_later_callers_do_at_once():
    clock = Clock()
    wait = OutageWait(clock, clock.sleep)
    fn, calls = _down_until(clock, back_at=1e9)
    with pytest.raises(TransientError):
        wait.call(fn, 1, budget_s=30)
    assert 30 <= clock.now < 40
    before = len(calls)
    with pytest.raises(TransientError):
        wait.call(fn, 1, budget_s=30)  # the same outage: no second budget
    assert len(calls) == before + 1
    clock.now = 2e9  # it came back: the next outage has a budget of its own
    assert wait.call(fn, 1, budget_s=30) == 2 and wait.down_since is None


def test_other_errors_are_not_waited_for():
    clock = Clock()

    def fn():
        raise KeyError("unknown document")

    with pytest.raises(KeyError):
        OutageWait(clock, clock.sleep).call(fn, budget_s=60)
    assert clock.now == 0


def test_the_outage_budget_is_a_setting_with_a_realistic_default(monkeypatch):
    assert Settings().db_outage_wait_s >= 60
    monkeypatch.setenv("LEXPREP_DB_OUTAGE_WAIT_S", "7")
    assert Settings().db_outage_wait_s == 7


# ----------------------------------------------------------------------------- settings and pipeline rules


def test_limits_are_settings_with_sizes_in_words(monkeypatch):
    limits = LimitSettings()
    assert limits.max_file_bytes == 1 << 30 and limits.extract_timeout_s == 120
    monkeypatch.setenv("LEXPREP_LIMITS__MAX_FILE_BYTES", "2GiB")
    monkeypatch.setenv("LEXPREP_LIMITS__WORKER_MEMORY_BYTES", "512MiB")
    settings = Settings()
    assert settings.limits.max_file_bytes == 2 << 30 and settings.limits.worker_memory_bytes == 512 * MiB


def _doc(texts: list[str], **meta) -> ExtractedDocument:
    return ExtractedDocument(kind="pdf", pages=[Page(i + 1, "text_layer", t) for i, t in enumerate(texts)],
                             meta=dict(meta))


def test_text_is_cut_at_the_limit_and_the_cut_recorded():
    doc = pipeline.limit_text(_doc(["a" * 600, "b" * 600, "c" * 600]), 1000)
    assert [len(p.text) for p in doc.pages] == [600, 400, 0]
    assert doc.meta["left_out"] == ["text cut after 1,000 of 1,800 characters (limits.max_text_chars)"]
    source = SourceFile("/m/a.pdf", "a.pdf", "0" * 64, 1, "pdf")
    assert pipeline.final_status(source, doc) == "partial"
    assert pipeline.partial_reason(doc) == doc.meta["left_out"][0]
    assert pipeline.limit_text(_doc(["short"]), 1000).meta == {}


def test_attachments_beyond_the_depth_or_count_are_listed_not_processed():
    limits = LimitSettings(max_attachment_depth=2, max_attachments=2)
    atts = [Attachment(f"a{i}.pdf", b"%PDF") for i in range(3)]
    deep = SourceFile("/m/x.eml", "x.eml", "0" * 64, 1, "eml", depth=2)
    doc = pipeline.limit_attachments(deep, ExtractedDocument("eml", [], attachments=list(atts)), limits)
    assert doc.attachments == []
    assert doc.meta["left_out"] == ["3 attachments deeper than 2 levels not processed (limits.max_attachment_depth): "
                                    "a0.pdf, a1.pdf, a2.pdf"]
    top = SourceFile("/m/x.eml", "x.eml", "0" * 64, 1, "eml")
    doc = pipeline.limit_attachments(top, ExtractedDocument("eml", [], attachments=list(atts)), limits)
    assert [a.file_name for a in doc.attachments] == ["a0.pdf", "a1.pdf"]
    assert doc.meta["left_out"] == ["1 attachments beyond the first 2 not processed (limits.max_attachments): a2.pdf"]
    children = pipeline.attachment_sources(top, doc)
    assert [c.depth for c, _ in children] == [1, 1]


class Info:
    def __init__(self, status, error=None):
        self.status, self.error = status, error
        self.pipeline_version, self.settings_fingerprint = PIPELINE_VERSION, Settings().fingerprint()


def test_pages_that_failed_for_a_passing_reason_are_retried_on_the_next_run():
    settings = Settings()
    doc = _doc(["x" * 100, ""])
    doc.pages[1].method, doc.pages[1].error = "needs_ocr", "temporary failure: every OCR engine failed: mistral: unreachable"
    reason = pipeline.partial_reason(doc)
    assert reason == ("temporary failure: 1 of 2 pages failed (page 2: every OCR engine failed: mistral: unreachable)")
    assert pipeline.needs_processing(Info("partial", reason), settings)
    assert not pipeline.needs_processing(Info("partial", "1 of 2 pages failed (page 2: corrupt)"), settings)
    assert pipeline.needs_processing(Info("partial", "1 of 2 pages failed"), settings, retry_failed=True)
    assert not pipeline.needs_processing(Info("skipped", "a named pipe"), settings)
    assert pipeline.needs_processing(Info("skipped", "a named pipe"), settings, retry_failed=True)


def test_a_file_over_the_size_limit_is_refused_before_extraction():
    settings = Settings(limits={"max_file_bytes": 1000, "workers": 0})
    source = SourceFile("/m/a.txt", "a.txt", "0" * 64, 2000, "text")
    with pytest.raises(LimitExceededError, match=r"file is 2\.0 KiB, over the limit of 1000 B \(limits\.max_file_bytes\)"):
        pipeline.extract_stage(source, b"x" * 2000, settings)


def test_a_stopped_run_raises_in_the_threads_still_at_work(monkeypatch):
    import lexprep.sandbox as sandbox

    monkeypatch.setattr(sandbox, "_stopping", threading.Event())
    p = GuardedPool("test", 1)
    try:
        assert p.call("tests.hostile:spin", (0,), timeout_s=30, what="testing") == "finished"
        sandbox._stopping.set()
        with pytest.raises(RunInterrupted):
            p.call("tests.hostile:spin", (0,), timeout_s=30, what="testing")
    finally:
        p.close()


def test_a_database_url_with_a_password_is_recognised():
    from lexprep.cli import _password_in

    assert _password_in("postgresql+psycopg://user:s3cret@db.example.com/lexprep")
    assert not _password_in("postgresql+psycopg://user@db.example.com/lexprep")
    assert not _password_in("sqlite:///lexprep.db") and not _password_in(None)
