"""OCR a document's pages in worker processes with bounded memory and time.

The document's bytes go to a temporary file once; each worker opens it (a PDF stays open in the
worker for the next page), renders one page, recognises it and sends back only text and figures. At
most ``workers`` pages are in flight, so a 500-page scan never holds more than that many rendered
images. A page that fails is an error on that page; the other pages go on.

Workers are :class:`lexprep.sandbox.GuardedPool` processes: a page gets ``limits.ocr_page_timeout_s``
seconds and its worker ``limits.ocr_memory_bytes`` of resident memory; past either the worker is killed
and the page's error says so ("exceeded 300 s rendering and OCR of page 3"). No page is rendered above
``limits.max_render_pixels`` pixels (a huge page is rendered at a lower resolution). A page that failed
for a passing reason (an API engine unreachable) is marked ``transient``.

Engines are tried in the order ``[settings.ocr_engine(), *settings.ocr.escalation]`` while the best
confidence so far is below ``ocr.escalate_below``; the best-confidence text is kept and every attempt
is recorded.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from lexprep.errors import LexprepError, MissingDependencyError, TransientError
from lexprep.settings import LimitSettings, OcrSettings, Settings


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
        transient: the page failed for a passing reason (worth trying again on the next run).
    """

    number: int
    text: str = ""
    confidence: float | None = None
    method: str | None = None
    attempts: list[tuple] = field(default_factory=list)
    dpi: int | None = None
    error: str | None = None
    transient: bool = False


# ------------------------------------------------------------------------------- in the worker

_worker_settings: OcrSettings | None = None
_worker_engines: list[str] = []
_worker_max_pixels: int | None = None
_open_doc: tuple[str, object] | None = None


def _init_worker(settings_json: str, engines: list[str], max_pixels: int | None = None) -> None:
    global _worker_settings, _worker_engines, _worker_max_pixels
    _worker_settings = OcrSettings.model_validate_json(settings_json)
    _worker_engines = engines
    _worker_max_pixels = max_pixels


def _image_for(path: str, kind: str, number: int, settings: OcrSettings, pdf=None, max_pixels: int | None = None):
    """The page image and its dpi; ``pdf`` an open document (in process), else the worker's cached one."""
    global _open_doc
    from lexprep.ocr.render import PDFIUM_LOCK, image_frame, render_pdf_page

    if kind == "image":
        with open(path, "rb") as fh:
            return image_frame(fh.read(), number, max_pixels)
    if pdf is None:  # in a worker process (single-threaded): keep the document open for the next page
        if _open_doc is None or _open_doc[0] != path:
            with PDFIUM_LOCK:
                if _open_doc is not None:
                    _open_doc[1].close()
                    _open_doc = None
                _open_doc = (path, _open_pdf(path))
        pdf = _open_doc[1]
    return render_pdf_page(pdf, number, settings, max_pixels)


def _open_pdf(path: str):
    import pypdfium2 as pdfium

    from lexprep.errors import CorruptFileError
    from lexprep.ocr.render import PDFIUM_LOCK

    with PDFIUM_LOCK:
        try:
            return pdfium.PdfDocument(path)
        except Exception as exc:
            raise CorruptFileError(f"the PDF could not be opened: {type(exc).__name__}: {exc}") from exc


def ocr_one(path: str, kind: str, number: int, settings: OcrSettings, engines: list[str], pdf=None,
            max_pixels: int | None = None) -> OcrPageOutcome:
    """Render page ``number`` of the file at ``path`` (or of ``pdf``, an open document), at most
    ``max_pixels`` pixels, and run the escalation chain on it.

    Raises:
        MissingDependencyError: the first engine is not installed (nothing can be OCRed here).
    """
    from lexprep.ocr import get_engine
    from lexprep.sources._errors import is_transient_type

    outcome = OcrPageOutcome(number)
    try:
        image, outcome.dpi = _image_for(path, kind, number, settings, pdf, max_pixels)
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
            outcome.transient = outcome.transient or isinstance(exc, TransientError) or is_transient_type(exc)
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
        outcome.transient = False
    return outcome


def _work(path: str, kind: str, number: int):
    try:
        return "ok", ocr_one(path, kind, number, _worker_settings, _worker_engines, max_pixels=_worker_max_pixels)
    except MissingDependencyError as exc:
        return "missing", (exc.what, exc.install)


# ------------------------------------------------------------------------------- in the caller


class OcrPool:
    """OCR worker processes for one set of OCR settings and limits (started on first use, reused)."""

    def __init__(self, settings: OcrSettings, engines: list[str], limits: LimitSettings | None = None):
        self.settings, self.engines = settings, engines
        self.limits = limits or LimitSettings()
        self.workers = max(0, int(settings.workers))
        self._pool = None
        self._lock = threading.Lock()

    def _get(self):
        from lexprep.sandbox import GuardedPool

        with self._lock:
            if self._pool is None:
                self._pool = GuardedPool(
                    "ocr", self.workers, int(self.limits.ocr_memory_bytes), address_space=False,
                    initializer="lexprep.ocr.runner:_init_worker",
                    initargs=(self.settings.model_dump_json(), self.engines, self.limits.max_render_pixels))
            return self._pool

    def _page(self, pool, path: str, kind: str, number: int) -> OcrPageOutcome:
        try:
            status, payload = pool.call(_work, (path, kind, number), timeout_s=self.limits.ocr_page_timeout_s,
                                        what=f"rendering and OCR of page {number}")
        except MissingDependencyError:
            raise
        except LexprepError as exc:  # over the page's time or memory, or its worker crashed: this page only
            return OcrPageOutcome(number, error=str(exc), transient=isinstance(exc, TransientError))
        if status == "missing":
            raise MissingDependencyError(*payload)
        return payload

    def run(self, path: str, kind: str, numbers: list[int]) -> list[OcrPageOutcome]:
        max_pixels = self.limits.max_render_pixels
        if self.workers == 0:  # in this process: this call's own document (callers may be threads)
            try:
                pdf = _open_pdf(path) if kind == "pdf" else None
            except LexprepError as exc:
                return [OcrPageOutcome(n, error=str(exc)) for n in numbers]
            try:
                return [ocr_one(path, kind, n, self.settings, self.engines, pdf, max_pixels) for n in numbers]
            finally:
                if pdf is not None:
                    from lexprep.ocr.render import PDFIUM_LOCK

                    with PDFIUM_LOCK:
                        pdf.close()
        pool = self._get()
        with ThreadPoolExecutor(max_workers=min(self.workers, len(numbers)), thread_name_prefix="lexprep-ocr") as ex:
            return list(ex.map(lambda n: self._page(pool, path, kind, n), numbers))

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


_pools: dict[str, OcrPool] = {}
_pools_lock = threading.Lock()


def _pool(settings: Settings) -> OcrPool:
    engines = [settings.ocr_engine(), *[e for e in settings.ocr.escalation if e != settings.ocr_engine()]]
    key = settings.ocr.model_dump_json() + "|" + ",".join(engines) + "|" + settings.limits.model_dump_json()
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = OcrPool(settings.ocr, engines, settings.limits)
        return pool


@atexit.register
def close_pools() -> None:
    with _pools_lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


def ocr_pages(data: bytes, kind: str, page_numbers: list[int], settings: Settings) -> list[OcrPageOutcome]:
    """OCR ``page_numbers`` (1-based) of a PDF (``kind="pdf"``) or image file (``kind="image"``).

    Returns one outcome per page, in the order asked (a page over its time or memory budget, or whose
    worker died, is an outcome with its error).

    Raises:
        MissingDependencyError: the configured engine is not installed.
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
