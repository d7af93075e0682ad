"""A run's report, Prefect-free: the summary of a matter run, its failures, its final state, its artifacts.

The flow (``lexprep_prefect.flows.process_matter``) collects one outcome per document and calls
:func:`build_summary`; the Prefect layer turns :func:`run_state` and :func:`document_state` into
Prefect states and :func:`summary_markdown` / :func:`failure_rows` into artifacts keyed per matter
(:func:`artifact_key`). Nothing here contains document text: file names, statuses, one-line reasons,
counts and seconds only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Iterable, Protocol

from lexprep.models import DocStatus

#: statuses of documents that could not be processed (bad input, a format not readable here, or a file found
#: but not read: a special file, a link out of the source)
FAILED_STATUSES = frozenset({DocStatus.failed.value, DocStatus.unsupported.value, DocStatus.skipped.value})
#: statuses of documents processed in part, or waiting for an engine that is not installed here
INCOMPLETE_STATUSES = frozenset({DocStatus.partial.value, DocStatus.needs_ocr.value,
                                 DocStatus.needs_transcription.value})
#: the name of a run's final state when documents failed (its type stays COMPLETED: see run_state)
COMPLETED_WITH_FAILURES = "Completed with failures"


class Outcome(Protocol):
    """What the report needs of one document's outcome (``lexprep_prefect.tasks.documents.DocumentOutcome``)."""

    file_name: str
    status: str
    error: str | None
    skipped: bool
    pages: int
    timings: dict[str, float]


def artifact_key(kind: str, matter: str) -> str:
    """A Prefect artifact key for ``kind`` (e.g. ``summary``) and a matter: ``lexprep-<kind>-<slug>-<hash>``.

    Keys may hold only lowercase letters, digits and dashes; the 8 hex digits of the matter name's
    sha256 keep two matters whose names slug alike (``Acme v. Widget`` / ``acme-v-widget``) apart.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", matter.lower()).strip("-")[:40].strip("-") or "matter"
    digest = hashlib.sha256(matter.encode()).hexdigest()[:8]
    return f"lexprep-{kind}-{slug}-{digest}"


def failure_entries(outcomes: Iterable[Outcome]) -> list[dict[str, Any]]:
    """The documents that failed, are unsupported or were skipped: ``[{file_name, status, error, earlier_run}]``.

    ``earlier_run`` is True for a document that failed in an earlier run and was skipped now (it is
    retried with ``retry_failed``).
    """
    return [
        {"file_name": o.file_name, "status": o.status, "error": o.error, "earlier_run": bool(o.skipped)}
        for o in outcomes
        if o.status in FAILED_STATUSES
    ]


def incomplete_entries(outcomes: Iterable[Outcome]) -> list[dict[str, Any]]:
    """Documents processed in part or waiting for an engine: ``[{file_name, status, error}]``."""
    return [{"file_name": o.file_name, "status": o.status, "error": o.error}
            for o in outcomes if o.status in INCOMPLETE_STATUSES]


def build_summary(matter: str, source: str, outcomes: list[Outcome], status: dict, *, stage_seconds: dict[str, float],
                  phase_seconds: dict[str, float], resolution: dict | None = None, graph: dict | None = None,
                  quality: dict | None = None, flow_started_at: float | None = None,
                  first_document_at: float | None = None, flow_seconds: float | None = None) -> dict[str, Any]:
    """The run summary (plain JSON data).

    Keys: ``matter``, ``source``, ``status`` (the store's counts for the matter), ``documents`` (outcomes
    this run), ``processed`` (documents processed now), ``skipped`` (already done: not processed again),
    ``failed`` (failures processed now), ``pages_processed``, ``failures`` (:func:`failure_entries`),
    ``incomplete`` (:func:`incomplete_entries`), ``resolution``, ``graph``, ``quality``,
    ``stage_seconds`` (seconds per stage, summed over documents), ``phase_seconds`` (wall seconds of the
    flow's phases), ``flow_started_at`` and ``first_document_at`` (epoch seconds), ``flow_seconds``.
    """
    failures = failure_entries(outcomes)
    return {
        "matter": matter,
        "source": source,
        "status": status,
        "documents": len(outcomes),
        "processed": sum(1 for o in outcomes if not o.skipped),
        "skipped": sum(1 for o in outcomes if o.skipped),
        "failed": sum(1 for f in failures if not f["earlier_run"]),
        "pages_processed": sum(o.pages for o in outcomes),
        "failures": failures,
        "incomplete": incomplete_entries(outcomes),
        "resolution": resolution,
        "graph": graph,
        "quality": quality,
        "stage_seconds": dict(stage_seconds),
        "phase_seconds": dict(phase_seconds),
        "flow_started_at": flow_started_at,
        "first_document_at": first_document_at,
        "flow_seconds": flow_seconds,
    }


def _names(entries: list[dict[str, Any]], limit: int = 3) -> str:
    shown = [f"{e['file_name']} ({e['error'] or e['status']})" for e in entries[:limit]]
    more = len(entries) - limit
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class StateSpec:
    """A Prefect state to end a run in, in plain terms: ``kind`` (completed | failed), ``name``, ``message``."""

    kind: str
    name: str
    message: str


def run_state(summary: dict[str, Any]) -> StateSpec:
    """The final state of a matter run.

    A run whose documents failed ends COMPLETED, named ``Completed with failures``, with a message naming
    the first failures (the failures artifact lists them all): every file has a recorded outcome and the
    matter's data is consistent, so callers (``run_deployment(...).state.result()``, the CLI's exit code
    0) get the summary; the failed documents' own task runs are Failed, so the UI shows them red. A run
    that could not proceed (unreachable store, missing source, a quality gate in fail mode) raises and
    ends FAILED instead.
    """
    failures = summary.get("failures") or []
    incomplete = summary.get("incomplete") or []
    by_status = (summary.get("status") or {}).get("documents_by_status") or {}
    counts = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items(), key=lambda kv: (-kv[1], kv[0])))
    head = (f"{summary.get('processed', 0)} processed, {summary.get('skipped', 0)} skipped"
            + (f"; matter: {counts}" if counts else ""))
    if failures:
        now = [f for f in failures if not f["earlier_run"]]
        earlier = len(failures) - len(now)
        text = f"{len(failures)} document(s) failed"
        if earlier:
            text += f" ({earlier} in earlier runs, not retried)"
        message = f"{text}: {_names(now or failures)}. {head}"
        if incomplete:
            message += f". {len(incomplete)} incomplete: {_names(incomplete)}"
        return StateSpec("completed", COMPLETED_WITH_FAILURES, message)
    if incomplete:
        return StateSpec("completed", "Completed", f"{len(incomplete)} document(s) incomplete: {_names(incomplete)}. "
                                                   f"{head}")
    return StateSpec("completed", "Completed", head)


def document_state(status: str, error: str | None, skipped: bool) -> StateSpec:
    """The final state of one document's task run: Failed (named Failed or Unsupported, the reason as
    message) for a document that failed now; Completed named Skipped, Duplicate, Partial or Waiting
    (for an engine) otherwise; plain Completed for a document done now."""
    if skipped:
        name = "Duplicate" if status == "duplicate" else "Skipped"
        return StateSpec("completed", name, f"already {status}" if status != "duplicate" else
                         "the same content was processed in this run")
    if status in FAILED_STATUSES:
        return StateSpec("failed", status.capitalize(), error or status)
    if status == DocStatus.partial.value:
        return StateSpec("completed", "Partial", error or "one or more pages failed")
    if status in INCOMPLETE_STATUSES:
        return StateSpec("completed", "Waiting", error or status)
    return StateSpec("completed", "Completed", status)


def failure_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the failures table artifact: ``file``, ``status``, ``reason``, ``run`` (this | earlier)."""
    return [{"file": f["file_name"], "status": f["status"], "reason": f["error"] or "",
             "run": "earlier" if f["earlier_run"] else "this"} for f in summary.get("failures") or []]


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def summary_markdown(summary: dict[str, Any]) -> str:
    """The run summary as Markdown: source, processed/skipped/failed counts, documents by status, the
    failures (file and reason), incomplete documents, seconds per stage and per phase."""
    status = summary.get("status") or {}
    lines = [
        f"# lexprep run of matter `{_md_cell(summary['matter'])}`",
        "",
        f"- source: `{_md_cell(summary.get('source', ''))}`",
        f"- processed: **{summary.get('processed', 0)}**, skipped (already done): **{summary.get('skipped', 0)}**, "
        f"failed: **{len(summary.get('failures') or [])}**",
        f"- matter totals: " + ", ".join(f"{k} {status.get(k, 0)}" for k in
                                        ("documents", "pages", "chunks", "mentions", "entities", "relationships")),
        "",
        "## Documents by status",
        "",
        "| status | documents |",
        "|---|---:|",
        *[f"| {s} | {n} |" for s, n in sorted((status.get("documents_by_status") or {}).items())],
        "",
        "## Failures",
        "",
    ]
    failures = summary.get("failures") or []
    if failures:
        lines += ["| file | status | reason | run |", "|---|---|---|---|"]
        lines += [f"| {_md_cell(r['file'])} | {r['status']} | {_md_cell(r['reason'])} | {r['run']} |"
                  for r in failure_rows(summary)]
    else:
        lines.append("none")
    incomplete = summary.get("incomplete") or []
    if incomplete:
        lines += ["", "## Incomplete", "", "| file | status | reason |", "|---|---|---|"]
        lines += [f"| {_md_cell(e['file_name'])} | {e['status']} | {_md_cell(e['error'] or '')} |" for e in incomplete]
    lines += ["", "## Seconds per stage (summed over documents)", "", "| stage | seconds |", "|---|---:|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in (summary.get("stage_seconds") or {}).items()]
    lines += ["", "## Wall seconds per phase", "", "| phase | seconds |", "|---|---:|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in (summary.get("phase_seconds") or {}).items()]
    return "\n".join(lines) + "\n"


__all__ = [
    "COMPLETED_WITH_FAILURES",
    "FAILED_STATUSES",
    "INCOMPLETE_STATUSES",
    "StateSpec",
    "artifact_key",
    "build_summary",
    "document_state",
    "failure_entries",
    "failure_rows",
    "incomplete_entries",
    "run_state",
    "summary_markdown",
]
