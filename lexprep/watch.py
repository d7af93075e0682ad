"""A live view of a matter being processed, read from the store (``lexprep status --watch``).

Every document's status is stored as it advances (extracting, ocr, cleaning, ... done / failed), so a
second process can watch a run wherever it executes (the CLI's process, a worker on another machine)
by polling :func:`take_snapshot`. :func:`changes` turns two snapshots into one-line events (a
document reaching a stage, a failure with its reason), for terminals that cannot redraw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lexprep.models import DocStatus
from lexprep.report import FAILED_STATUSES

#: statuses a document rests in; any other status is a stage in progress
TERMINAL_STATUSES = frozenset({DocStatus.done.value, DocStatus.partial.value, DocStatus.needs_ocr.value,
                               DocStatus.needs_transcription.value, *FAILED_STATUSES})


@dataclass(frozen=True)
class DocumentRow:
    file_name: str
    status: str
    error: str | None
    updated_at: datetime


@dataclass
class Snapshot:
    """The matter at one moment.

    Attributes:
        by_status: documents per status.
        in_progress: documents in a stage (status not terminal), latest change first.
        failures: failed or unsupported documents with their reasons, latest first.
        run_started_at, run_finished_at: the latest run (None when there was none / it has not finished).
        documents: every document, latest change first.
    """

    by_status: dict[str, int]
    in_progress: list[DocumentRow]
    failures: list[DocumentRow]
    run_started_at: datetime | None
    run_finished_at: datetime | None
    documents: list[DocumentRow] = field(default_factory=list)

    @property
    def running(self) -> bool:
        """A run has started and not finished, or documents are still in a stage."""
        return bool(self.in_progress) or (self.run_started_at is not None and self.run_finished_at is None)

    @property
    def done(self) -> bool:
        """A run has happened and nothing is in progress (``status --watch --until-done`` stops here)."""
        return self.run_started_at is not None and not self.running

    def to_dict(self) -> dict[str, Any]:
        def row(r: DocumentRow) -> dict[str, Any]:
            return {"file_name": r.file_name, "status": r.status, "error": r.error,
                    "updated_at": r.updated_at.isoformat() if r.updated_at else None}

        return {"by_status": self.by_status, "in_progress": [row(r) for r in self.in_progress],
                "failures": [row(r) for r in self.failures], "running": self.running,
                "run_started_at": self.run_started_at.isoformat() if self.run_started_at else None,
                "run_finished_at": self.run_finished_at.isoformat() if self.run_finished_at else None}


def take_snapshot(store, matter_id: str) -> Snapshot:
    """The matter's documents and latest run, from the store (two queries)."""
    rows = [DocumentRow(*r) for r in store.document_activity(matter_id)]
    by_status: dict[str, int] = {}
    for r in rows:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    run = store.latest_run(matter_id)
    return Snapshot(
        by_status=by_status,
        in_progress=[r for r in rows if r.status not in TERMINAL_STATUSES],
        failures=[r for r in rows if r.status in FAILED_STATUSES],
        run_started_at=run[1] if run else None,
        run_finished_at=run[2] if run else None,
        documents=rows,
    )


def changes(before: Snapshot | None, after: Snapshot) -> list[str]:
    """One line per document whose status changed between two snapshots (oldest change first):
    ``file: stage`` for progress, ``file: FAILED reason`` for a failure; plus run start and end."""
    seen = {r.file_name: r.status for r in before.documents} if before else {}
    lines: list[str] = []
    if before is not None and after.run_started_at and after.run_started_at != before.run_started_at:
        lines.append("run started")
    for r in reversed(after.documents):
        if seen.get(r.file_name) == r.status:
            continue
        if r.status in FAILED_STATUSES:
            lines.append(f"{r.file_name}: {r.status.upper()} {r.error or ''}".rstrip())
        else:
            lines.append(f"{r.file_name}: {r.status}")
    if before is not None and before.running and not after.running:
        lines.append("run finished: " + ", ".join(f"{n} {s}" for s, n in sorted(after.by_status.items())))
    return lines


__all__ = ["DocumentRow", "Snapshot", "TERMINAL_STATUSES", "changes", "take_snapshot"]
