"""Retrying a pipeline stage after a passing failure, in the core (no Prefect).

The per-document stages that stay in the process (read, extract, clean, categorize, chunk, facts, store,
and OCR, transcription and mentions unless they go to a stage deployment or an API engine) run as plain
calls inside the document's task rather than as task runs of their own: a task run costs the flow and the
Prefect server 25-50 ms of CPU, more than cleaning, chunking or finding the entities of a small document
does (bench/bench_throughput.py, docs/SCALING.md).
They keep the retry policy the stage tasks had: only :class:`~lexprep.errors.TransientError` (a worker
process that died, a timeout, HTTP 429/5xx, an outage that outlived its wait) is retried, ``attempts``
attempts in all, waiting ``base_delay_s`` x 2^(n-1) seconds (+/- ``jitter`` of it) before attempt n+1.
Bad input (:class:`~lexprep.errors.InputError`) and bugs raise at once.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Callable, TypeVar

from lexprep.errors import TransientError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: attempts of a stage in all (the first and 3 retries), as the stage tasks had
ATTEMPTS = 4
#: seconds before the first retry; doubled before each next one (2, 4, 8 s)
BASE_DELAY_S = 2.0
#: the wait is drawn within +/- this fraction of itself
JITTER = 0.5


def delays(attempts: int = ATTEMPTS, base_delay_s: float = BASE_DELAY_S) -> list[float]:
    """The nominal waits (seconds) before each retry: ``[base, 2 base, 4 base, ...]``, ``attempts - 1`` of them."""
    return [base_delay_s * 2 ** i for i in range(max(0, attempts - 1))]


def call(fn: Callable[..., T], *args, what: str = "stage", attempts: int = ATTEMPTS,
         base_delay_s: float = BASE_DELAY_S, jitter: float = JITTER,
         sleep: Callable[[float], None] = time.sleep, **kwargs) -> T:
    """``fn(*args, **kwargs)``, retried on TransientError (see the module docstring).

    A warning names ``what``, the attempt and the error (never document text) before each wait.

    Raises:
        TransientError: the last attempt's, when every attempt failed that way.
        Any other exception of ``fn``, at once.
    """
    waits = delays(attempts, base_delay_s)
    for attempt in range(1, len(waits) + 2):
        try:
            return fn(*args, **kwargs)
        except TransientError as exc:
            if attempt > len(waits):
                raise
            wait = waits[attempt - 1] * (1 + random.uniform(-jitter, jitter))
            log.warning("%s attempt %d/%d failed (%s); retrying in %.1f s", what, attempt, len(waits) + 1,
                        exc, wait)
            sleep(max(0.0, wait))
    raise AssertionError("unreachable")  # pragma: no cover


def wrap(fn: Callable[..., T], what: str, **options) -> Callable[..., T]:
    """``fn`` retried as :func:`call` does (for :class:`lexprep.pipeline.Stages`)."""

    def wrapped(*args, **kwargs):
        return call(fn, *args, what=what, **options, **kwargs)

    wrapped.__name__ = getattr(fn, "__name__", what)
    wrapped.__doc__ = fn.__doc__
    return wrapped
