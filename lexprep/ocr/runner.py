"""OCR a document's pages in worker processes with bounded memory.

The document's bytes go to a temporary file once; each worker opens it (a PDF stays open in the
worker for the next page), renders one page, recognises it and sends back only text and figures. At
most ``2 x workers`` pages are in flight, so a 500-page scan never holds more than that many rendered
images. A page that fails is an error on that page; the other pages go on.

Engines are tried in the order ``[settings.ocr_engine(), *settings.ocr.escalation]`` while the best
confidence so far is below ``ocr.escalate_below``; the best-confidence text is kept and every attempt
is recorded.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import tempfile
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from lexprep.errors import LexprepError, MissingDependencyError, TransientError
from lexprep.settings import OcrSettings, Settings


@dataclass(slots=True)
class OcrPageOutcome:
    """One page's OCR.

    Attributes:
        number: 1-based page (or image frame) number.
        text: the kept text ('' when every engine failed).
        confidence: 0..1 of the kept text, None if the engine gives none.
        method: the engine that produced the kept text (None when none did).
        attempts: ``(engine, confidence, error)`` per engine tried, in order.
        dpi: render resolution (dots per inch).
        error: one line when the page could not be rendered or every engine failed.
    """

    number: int
    text: str = ""
    confidence: float | None = None
    method: str | None = None
    attempts: list[tuple] = field(default_factory=list)
    dpi: int | None = None
    error: str | None = None


# ------------------------------------------------------------------------------- in the worker

_worker_settings: OcrSettings | None = None
_worker_engines: list[str] = []
_open_doc: tuple[str, object] | None = None


def _init_worker(settings_json: str, engines: list[str]) -> None:
    global _worker_settings, _worker_engines
    _worker_settings = OcrSettings.model_validate_json(settings_json)
    _worker_engines = engines


def _image_for(path: str, kind: str, number: int, settings: OcrSettings, pdf=None):
    """The page image and its dpi; ``pdf`` an open document (in process), else the worker's cached one."""
    global _open_doc
    from lexprep.ocr.render import PDFIUM_LOCK, image_frame, render_pdf_page

    if kind == "image":
        with open(path, "rb") as fh:
            return image_frame(fh.read(), number)
    if pdf is None:  # in a worker process (single-threaded): keep the document open for the next page
        if _open_doc is None or _open_doc[0] != path:
            with PDFIUM_LOCK:
                if _open_doc is not None:
                    _open_doc[1].close()
                    _open_doc = None
                _open_doc = (path, _open_pdf(path))
        pdf = _open_doc[1]
    return render_pdf_page(pdf, number, settings)


def _open_pdf(path: str):
    import pypdfium2 as pdfium

    from lexprep.errors import CorruptFileError
    from lexprep.ocr.render import PDFIUM_LOCK

    with PDFIUM_LOCK:
        try:
            return pdfium.PdfDocument(path)
        except Exception as exc:
            raise CorruptFileError(f"the PDF could not be opened: {type(exc).__name__}: {exc}") from exc


def ocr_one(path: str, kind: str, number: int, settings: OcrSettings, engines: list[str], pdf=None) -> OcrPageOutcome:
    """Render page ``number`` of the file at ``path`` (or of ``pdf``, an open document) and run the
    escalation chain on it.

    Raises:
        MissingDependencyError: the first engine is not installed (nothing can be OCRed here).
    """
    from lexprep.ocr import get_engine

    outcome = OcrPageOutcome(number)
    try:
        image, outcome.dpi = _image_for(path, kind, number, settings, pdf)
    except LexprepError as exc:
        outcome.error = str(exc)
        return outcome
    best = None
    for i, name in enumerate(engines):
        try:
            result = get_engine(name, settings).recognize(image)
        except MissingDependencyError:
            if i == 0:
                raise
            outcome.attempts.append((name, None, "not installed"))
            continue
        except Exception as exc:  # a failed engine (after its own retries) is recorded on the page
            outcome.attempts.append((name, None, f"{type(exc).__name__}: {exc}"[:300]))
            continue
        outcome.attempts.append((name, result.confidence, None))
        if best is None or (result.confidence or 0.0) > (best.confidence or 0.0):
            best = result
        if best.confidence is None or best.confidence >= settings.escalate_below:
            break
    image.close()
    if best is None:
        outcome.error = "every OCR engine failed: " + "; ".join(f"{a[0]}: {a[2]}" for a in outcome.attempts)
    else:
        outcome.text, outcome.confidence, outcome.method = best.text, best.confidence, best.engine
    return outcome


def _work(path: str, kind: str, number: int):
    try:
        return "ok", ocr_one(path, kind, number, _worker_settings, _worker_engines)
    except MissingDependencyError as exc:
        return "missing", (exc.what, exc.install)


# ------------------------------------------------------------------------------- in the caller


class OcrPool:
    """A pool of OCR worker processes for one set of OCR settings (spawned once, reused)."""

    def __init__(self, settings: OcrSettings, engines: list[str]):
        self.settings, self.engines = settings, engines
        self.workers = max(0, int(settings.workers))
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self.settings.model_dump_json(), self.engines),
                )
            return self._executor

    def run(self, path: str, kind: str, numbers: list[int]) -> list[OcrPageOutcome]:
        if self.workers == 0:  # in this process: this call's own document (callers may be threads)
            try:
                pdf = _open_pdf(path) if kind == "pdf" else None
            except LexprepError as exc:
                return [OcrPageOutcome(n, error=str(exc)) for n in numbers]
            try:
                return [ocr_one(path, kind, n, self.settings, self.engines, pdf) for n in numbers]
            finally:
                if pdf is not None:
                    from lexprep.ocr.render import PDFIUM_LOCK

                    with PDFIUM_LOCK:
                        pdf.close()
        executor = self._get()
        window = 2 * self.workers
        results: dict[int, OcrPageOutcome] = {}
        in_flight: deque[tuple[int, Future]] = deque()
        pending = list(numbers)
        try:
            while pending or in_flight:
                while pending and len(in_flight) < window:
                    n = pending.pop(0)
                    in_flight.append((n, executor.submit(_work, path, kind, n)))
                n, future = in_flight.popleft()
                status, payload = future.result()
                if status == "missing":
                    raise MissingDependencyError(*payload)
                results[n] = payload
        except BrokenProcessPool as exc:
            with self._lock:
                self._executor = None
            executor.shutdown(wait=False, cancel_futures=True)
            raise TransientError("an OCR worker process died; the pool restarts on retry") from exc
        return [results[n] for n in numbers]

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


_pools: dict[str, OcrPool] = {}
_pools_lock = threading.Lock()


def _pool(settings: Settings) -> OcrPool:
    engines = [settings.ocr_engine(), *[e for e in settings.ocr.escalation if e != settings.ocr_engine()]]
    key = settings.ocr.model_dump_json() + "|" + ",".join(engines)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = OcrPool(settings.ocr, engines)
        return pool


@atexit.register
def close_pools() -> None:
    with _pools_lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


def ocr_pages(data: bytes, kind: str, page_numbers: list[int], settings: Settings) -> list[OcrPageOutcome]:
    """OCR ``page_numbers`` (1-based) of a PDF (``kind="pdf"``) or image file (``kind="image"``).

    Returns one outcome per page, in the order asked.

    Raises:
        MissingDependencyError: the configured engine is not installed.
        TransientError: a worker process died (retry).
    """
    if not page_numbers:
        return []
    fd, path = tempfile.mkstemp(prefix="lexprep-ocr-", suffix=".pdf" if kind == "pdf" else ".img")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return _pool(settings).run(path, kind, page_numbers)
    finally:
        os.unlink(path)
