"""Waiting out a database outage (a restart, a managed database's failover) instead of failing.

Every caller in a process that talks to the same database shares one clock: the outage begins at the
first TransientError any of them sees and ends at the first success. Each caller retries with
random-exponential backoff until ``budget_s`` seconds after the outage began, then gives up with the
TransientError; callers that come later during the same outage give up at once instead of each
waiting a whole budget of their own (a run of many documents against a database that is gone for
good ends in about one budget, not one per document).
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any, Callable, TypeVar

from lexprep.errors import TransientError

T = TypeVar("T")

#: first backoff (seconds) and its cap; waits are random in [0, backoff]
BACKOFF_S, BACKOFF_MAX_S = 0.5, 8.0


class OutageWait:
    """One database's outage clock (see the module docstring). Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._clock, self._sleep = clock, sleep
        self._down_since: float | None = None
        self._lock = threading.Lock()

    @property
    def down_since(self) -> float | None:
        """When the current outage began (the clock's seconds), None while the database answers."""
        return self._down_since

    def call(self, fn: Callable[..., T], *args: Any, budget_s: float, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, retried on TransientError until ``budget_s`` seconds after the outage began.

        Raises:
            TransientError: the outage outlasted the budget.
            whatever else ``fn`` raises, at once.
        """
        backoff = BACKOFF_S
        while True:
            try:
                result = fn(*args, **kwargs)
            except TransientError:
                now = self._clock()
                with self._lock:
                    if self._down_since is None:
                        self._down_since = now
                    deadline = self._down_since + budget_s
                if now >= deadline:
                    raise
                self._sleep(min(random.uniform(0, backoff), deadline - now))
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            if self._down_since is not None:
                with self._lock:
                    self._down_since = None
            return result


_waits: dict[str, OutageWait] = {}
_waits_lock = threading.Lock()


def outage_wait(url: str) -> OutageWait:
    """The process-wide :class:`OutageWait` of the database at ``url``."""
    with _waits_lock:
        wait = _waits.get(url)
        if wait is None:
            wait = _waits[url] = OutageWait()
        return wait
