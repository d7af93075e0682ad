"""Mention extraction in worker processes, each loading the NER backend (lexprep.ner.backends) once.

``MentionPool(settings)`` with ``settings.workers > 0`` runs a ``ProcessPoolExecutor`` (``spawn``
start method: safe with the caller's threads, and the same on Linux and macOS) whose initializer
loads the backend's model (spaCy by default; the transformers backend runs one worker, whose torch
uses the cores or the GPU; the llm backend only makes its client) and warms eyecite once per worker. ``extract`` reads one document: its
windows (lexprep.ner.windows) go to the workers in slices so that every worker is busy even for a
single large document (at least two slices per worker, at most ``settings.batch_size`` windows a
slice), and one more task finds the document's citations and rule spans; a last task filters,
merges and links them (lexprep.ner.combine) in a worker too, off the caller's GIL. A document that fits one
window is one task (``document_mentions`` in the worker). With ``workers == 0`` it runs in the calling process.

Workers set ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` to 1 (unless set):
the parallelism is the processes; BLAS threads on top would oversubscribe the cores.

Errors: a worker that dies (``BrokenProcessPool``: killed, out of memory, segfault) raises
:class:`lexprep.errors.TransientError` so the caller can retry; the broken executor is discarded and
the next call starts a fresh one. A model that cannot be loaded is reported as the
``MissingDependencyError``/``ConfigurationError`` it is (not retried), not as a broken pool.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from lexprep import errors
from lexprep.models import Mention
from lexprep.ner import combine, document_mentions, make_windows, precise_mentions, to_mentions

#: smallest slice sent to a worker (a round trip costs ~1 ms; a 2,000-char chunk ~30 ms of NER)
MIN_SLICE = 2

# ----------------------------------------------------------------------------- worker side

_worker_settings = None
_worker_error: tuple[str, tuple] | None = None


def _init_worker(settings_data: dict) -> None:
    """Process initializer: load the model once. Never raises (a failure is replayed per task)."""
    global _worker_settings, _worker_error
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from lexprep.settings import NerSettings

    try:
        _worker_settings = NerSettings(**settings_data)
        warm_up(_worker_settings)
    except errors.MissingDependencyError as exc:
        _worker_error = ("MissingDependencyError", (exc.what, exc.install))
    except Exception as exc:  # noqa: BLE001 - reported to the caller by _work
        _worker_error = ("ConfigurationError", (f"NER worker could not start: {exc}",))


def warm_up(settings) -> None:
    """Load the backend's model and warm eyecite, in this process; the llm backend only makes its client
    (no request)."""
    from lexprep.ner.backends import backend_name, get_backend

    if backend_name(settings) == "llm":
        get_backend(settings)
        precise_mentions("Warm-up: Roe v. Wade, 410 U.S. 113 (1973), in No. 11-889.", settings)
    else:
        document_mentions("Warm-up: Roe v. Wade, 410 U.S. 113 (1973), in No. 11-889.", settings)


def _ping() -> tuple[str, object]:
    """Task: nothing (the initializer has run by the time it answers)."""
    return ("error", _worker_error) if _worker_error is not None else ("ok", None)


def _guard(fn, *args) -> tuple[str, object]:
    if _worker_error is not None:
        return ("error", _worker_error)
    try:
        return ("ok", fn(*args))
    except errors.MissingDependencyError as exc:
        return ("error", ("MissingDependencyError", (exc.what, exc.install)))
    except errors.LexprepError as exc:
        return ("error", (type(exc).__name__, (str(exc),)))


def _work(texts: list[str]) -> tuple[str, object]:
    """Task: the statistical backend's raw spans of each window text, or an error that pickles safely."""
    from lexprep.ner.backends import backend_spans

    return _guard(backend_spans, texts, _worker_settings)


def _work_precise(text: str, category: str | None) -> tuple[str, object]:
    """Task: the document's citations and rule spans."""
    return _guard(precise_mentions, text, _worker_settings, category)


def _work_document(text: str, category: str | None, boundaries: list[int] | None) -> tuple[str, object]:
    """Task: every mention of a document that fits one window (lexprep.ner.document_mentions), in one round
    trip instead of three (most e-mails, letters and short filings)."""
    return _guard(document_mentions, text, _worker_settings, category, boundaries)


def _combine(text: str, statistical: list, cites: list, rules: list, category: str | None, backend: str) -> list[Mention]:
    return to_mentions(text, combine(text, statistical, cites, rules, category), backend)


def _work_combine(text: str, statistical: list, cites: list, rules: list, category: str | None,
                  backend: str) -> tuple[str, object]:
    """Task: filter, merge and link the document's spans into mentions (lexprep.ner.combine), here rather
    than in the caller: the caller is the flow's process, whose threads share one GIL."""
    return _guard(_combine, text, statistical, cites, rules, category, backend)


def _raise(kind: str, args: tuple) -> None:
    cls = getattr(errors, kind, errors.LexprepError)
    raise cls(*args)


def _unwrap(answer: tuple[str, object]):
    """A worker task's payload, or its error raised here."""
    status, payload = answer
    if status != "ok":
        _raise(*payload)
    return payload


# ----------------------------------------------------------------------------- caller side


def slices(n: int, workers: int, batch_size: int) -> list[tuple[int, int]]:
    """Cut ``range(n)`` into consecutive ``(start, end)`` slices for ``workers`` processes.

    Aims for at least two slices per worker (so a slow slice does not leave a worker idle at the
    end), at most ``batch_size`` items and at least MIN_SLICE items a slice.
    """
    if n <= 0:
        return []
    size = math.ceil(n / (2 * max(1, workers)))
    size = max(MIN_SLICE, min(max(1, batch_size), size))
    return [(i, min(i + size, n)) for i in range(0, n, size)]


class MentionPool:
    """Extract mentions in ``settings.workers`` processes (0: in the calling process).

    Use as a context manager or call :meth:`close`. Thread-safe: several threads may call
    :meth:`extract` at once (their slices share the workers).
    """

    def __init__(self, settings):
        """Args: settings: NerSettings (``workers``, ``batch_size``, ``spacy_model`` ...)."""
        from lexprep.ner.backends import backend_name

        self.settings = settings
        self.backend = backend_name(settings)
        self.workers = max(0, int(settings.workers))
        if self.backend == "transformers":  # one model replica: torch spreads one over the cores (or the GPU)
            self.workers = min(self.workers, 1)
        elif self.backend == "llm":  # waiting on the network: threads in this process (its cost is metered here)
            self.workers = 0
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False

    def __enter__(self) -> MentionPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _get_executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("MentionPool is closed")
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self.settings.model_dump(),),
                )
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def start(self, wait: bool = True) -> MentionPool:
        """Start every worker now (each loads the model) rather than on first use.

        With ``wait=False`` the workers load in the background while the caller goes on (e.g. while
        Prefect starts); errors then surface on the first :meth:`extract`.
        """
        if self.workers:
            executor = self._get_executor()
            futures = [executor.submit(_ping) for _ in range(self.workers)]
            if wait:
                for future in futures:
                    status, payload = future.result()
                    if status != "ok":
                        _raise(*payload)
        return self

    def extract(self, text: str, category: str | None = None, boundaries: list[int] | None = None) -> list[Mention]:
        """Mentions of one document's cleaned text (the same result as ``document_mentions``).

        Raises:
            TransientError: a worker process died; retry (the pool restarts on the next call).
            MissingDependencyError / ConfigurationError: the spaCy model cannot be loaded.
            RuntimeError: the pool was closed.
        """
        if not text.strip():
            return []
        if self.workers == 0:
            if self._closed:
                raise RuntimeError("MentionPool is closed")
            return document_mentions(text, self.settings, category, boundaries)
        windows = make_windows(text, self.settings.window_chars, self.settings.window_margin_chars, boundaries)
        executor = self._get_executor()
        with self._dead_worker_is_transient(executor):
            if len(windows) == 1:
                return _unwrap(executor.submit(_work_document, text, category, boundaries).result())
            pieces = [text[w.start:w.end] for w in windows]
            precise = executor.submit(_work_precise, text, category)
            cuts = slices(len(pieces), self.workers, self.settings.batch_size)
            futures = [executor.submit(_work, pieces[a:b]) for a, b in cuts]
            raw: list = []
            for f in futures:
                raw.extend(_unwrap(f.result()))
            cites, rules = _unwrap(precise.result())
            from lexprep.ner.merge import Span

            statistical = []
            for w, spans in zip(windows, raw):
                for label, s, e, score, src in spans:
                    if w.core_start <= w.start + s < w.core_end:
                        statistical.append(Span(label, w.start + s, w.start + e, score, src, "spacy"))
            return _unwrap(executor.submit(_work_combine, text, statistical, cites, rules, category,
                                           self.backend).result())

    @contextmanager
    def _dead_worker_is_transient(self, executor: ProcessPoolExecutor):
        """A worker that died (BrokenProcessPool) becomes TransientError; the broken executor is discarded."""
        try:
            yield
        except BrokenProcessPool as exc:
            self._discard(executor)
            raise errors.TransientError("an NER worker process died; the pool restarts on retry") from exc

    def close(self) -> None:
        """Stop the workers (waits for running tasks). Idempotent."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
