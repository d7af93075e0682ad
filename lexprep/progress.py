"""In-process progress events: the CLI listens, the pipeline emits.

When the flow runs in the CLI's process (``lexprep run``), the CLI subscribes a listener that drives
its progress bars; on a remote worker nobody listens and :func:`emit` costs a list check.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable


@dataclass(slots=True, frozen=True)
class ProgressEvent:
    """``kind``: ``discovered`` (total = files found), ``document`` (one document reached ``stage``),
    ``matter`` (a matter-level stage such as resolve or graph started)."""

    kind: str
    name: str = ""
    stage: str = ""
    total: int = 0
    final: bool = False


Listener = Callable[[ProgressEvent], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


def subscribe(listener: Listener) -> Callable[[], None]:
    """Add a listener; returns the function that removes it."""
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def emit(kind: str, name: str = "", stage: str = "", total: int = 0, final: bool = False) -> None:
    """Send an event to every listener (listener errors are swallowed: progress never breaks a run)."""
    if not _listeners:
        return
    event = ProgressEvent(kind, name, stage, total, final)
    for listener in list(_listeners):
        try:
            listener(event)
        except Exception:  # pragma: no cover - a broken progress display must not fail the run
            pass
