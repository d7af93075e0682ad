"""lexprep.report (a run's summary, states and artifacts) and lexprep.watch (the live view's snapshots)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lexprep.models import DocStatus, DocumentResult, SourceFile, sha256_bytes
from lexprep.report import (
    COMPLETED_WITH_FAILURES,
    artifact_key,
    build_summary,
    document_state,
    failure_rows,
    run_state,
    summary_markdown,
)
from lexprep.store import Store
from lexprep.watch import changes, take_snapshot

pytestmark = pytest.mark.unit


@dataclass
class Outcome:
    file_name: str
    status: str
    error: str | None = None
    skipped: bool = False
    pages: int = 1
    timings: dict[str, float] = field(default_factory=dict)


def summary_of(outcomes: list[Outcome]) -> dict:
    by_status: dict[str, int] = {}
    for o in outcomes:
        by_status[o.status] = by_status.get(o.status, 0) + 1
    return build_summary("Acme v. Widget", "/matters/acme", outcomes,
                         {"documents_by_status": by_status, "documents": len(outcomes)},
                         stage_seconds={"extract": 1.25, "mentions": 0.5}, phase_seconds={"documents": 2.0})


def test_artifact_keys_are_valid_and_per_matter():
    keys = {artifact_key("summary", m) for m in ("Acme v. Widget", "acme-v-widget", "ACME V WIDGET", "Ünïcode ⚖ matter", "")}
    assert len(keys) == 5
    for key in keys:
        assert re.fullmatch(r"[a-z0-9-]+", key), key
        assert key.startswith("lexprep-summary-")
    assert artifact_key("summary", "Acme v. Widget") == artifact_key("summary", "Acme v. Widget")
    assert artifact_key("failures", "Acme v. Widget") != artifact_key("summary", "Acme v. Widget")
    assert len(artifact_key("summary", "x" * 500)) < 80


def test_summary_counts_and_failures():
    outcomes = [
        Outcome("a.pdf", "done", pages=3),
        Outcome("b.pdf", "failed", "file is empty (0 bytes)"),
        Outcome("c.dat", "unsupported", "unknown format"),
        Outcome("d.pdf", "failed", "PDF is damaged", skipped=True),
        Outcome("e.pdf", "done", skipped=True),
        Outcome("scan.pdf", "needs_ocr", "tesseract is not installed"),
    ]
    summary = summary_of(outcomes)
    assert (summary["documents"], summary["processed"], summary["skipped"], summary["failed"]) == (6, 4, 2, 2)
    assert summary["pages_processed"] == 8
    assert [f["file_name"] for f in summary["failures"]] == ["b.pdf", "c.dat", "d.pdf"]
    assert [f["earlier_run"] for f in summary["failures"]] == [False, False, True]
    assert summary["incomplete"] == [{"file_name": "scan.pdf", "status": "needs_ocr",
                                      "error": "tesseract is not installed"}]
    assert failure_rows(summary)[0] == {"file": "b.pdf", "status": "failed", "reason": "file is empty (0 bytes)",
                                        "run": "this"}
    assert failure_rows(summary)[2]["run"] == "earlier"


def test_run_state_names_failures_and_stays_completed():
    state = run_state(summary_of([Outcome("a.pdf", "done"), Outcome("b.pdf", "failed", "file is empty (0 bytes)")]))
    assert (state.kind, state.name) == ("completed", COMPLETED_WITH_FAILURES)
    assert "1 document(s) failed" in state.message and "b.pdf (file is empty (0 bytes))" in state.message
    many = run_state(summary_of([Outcome(f"{i}.pdf", "failed", "bad") for i in range(7)]))
    assert "and 4 more" in many.message
    clean = run_state(summary_of([Outcome("a.pdf", "done")]))
    assert (clean.kind, clean.name) == ("completed", "Completed") and "1 processed" in clean.message
    waiting = run_state(summary_of([Outcome("s.pdf", "needs_ocr", "no engine")]))
    assert waiting.name == "Completed" and "incomplete" in waiting.message


def test_document_states():
    assert document_state("failed", "file is empty", False).kind == "failed"
    assert document_state("failed", "file is empty", False).name == "Failed"
    assert document_state("unsupported", "x", False).name == "Unsupported"
    assert document_state("failed", "old", True).kind == "completed"
    assert document_state("failed", "old", True).name == "Skipped"
    assert document_state("duplicate", None, True).name == "Duplicate"
    assert document_state("partial", None, False).name == "Partial"
    assert document_state("needs_transcription", "no engine", False).name == "Waiting"
    assert document_state("done", None, False).name == "Completed"


def test_summary_markdown_has_everything_a_user_asks_for():
    md = summary_markdown(summary_of([Outcome("a.pdf", "done"), Outcome("b|c.pdf", "failed", "line one")]))
    for needle in ("/matters/acme", "processed: **2**", "skipped (already done): **0**", "failed: **1**",
                   "| b\\|c.pdf | failed | line one | this |", "| extract | 1.250 |", "| documents | 2.000 |"):
        assert needle in md, needle
    assert "none" in summary_markdown(summary_of([Outcome("a.pdf", "done")]))


# ---------------------------------------------------------------------------- lexprep.watch


def _source(name: str) -> SourceFile:
    return SourceFile(uri=f"/m/{name}", file_name=name, sha256=sha256_bytes(name.encode()), size=1, kind="text",
                      mime="text/plain")


def test_watch_snapshots_follow_a_run(tmp_path: Path):
    store = Store.open(f"sqlite:///{tmp_path / 'w.db'}")
    matter_id = store.ensure_matter("m")
    empty = take_snapshot(store, matter_id)
    assert not empty.running and not empty.done  # no run yet: --until-done keeps waiting
    a = store.register_document(matter_id, "m", _source("a.txt"))
    b = store.register_document(matter_id, "m", _source("b.txt"))
    run_id = store.start_run(matter_id)
    store.set_status(a, DocStatus.extracting.value)
    first = take_snapshot(store, matter_id)
    assert first.running and not first.done and {r.file_name for r in first.in_progress} == {"a.txt", "b.txt"}
    assert first.by_status == {"extracting": 1, "pending": 1}

    store.set_status(a, DocStatus.chunking.value)
    store.save_document(b, DocumentResult(source=_source("b.txt"), status="failed", error="file is empty"), "1", "fp")
    second = take_snapshot(store, matter_id)
    lines = changes(first, second)
    assert "a.txt: chunking" in lines and "b.txt: FAILED file is empty" in lines
    assert [r.file_name for r in second.failures] == ["b.txt"]

    store.save_document(a, DocumentResult(source=_source("a.txt"), status="done"), "1", "fp")
    store.finish_run(run_id, {})
    third = take_snapshot(store, matter_id)
    assert not third.running and third.done and third.by_status == {"done": 1, "failed": 1}
    assert changes(second, third)[-1] == "run finished: 1 done, 1 failed"
    assert changes(third, take_snapshot(store, matter_id)) == []
    assert third.to_dict()["failures"][0]["error"] == "file is empty"
    store.close()
