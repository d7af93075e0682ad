"""OCR engines behind one protocol, chosen by settings (``ocr.engine`` or the profile's default).

One module per engine, heavy imports lazy:

- ``tesseract`` (:mod:`lexprep.ocr.tesseract`): tesseract in process through tesserocr (pytesseract and
  Debian's binary as the fallback), with Debian's language data; the local default.
- ``rapidocr`` (:mod:`lexprep.ocr.rapidocr`): PP-OCR ONNX models shipped in rapidocr-onnxruntime.
- ``mistral`` (:mod:`lexprep.ocr.mistral`): Mistral OCR through the ``mistralai`` client (cloud profile).
- ``qwen2-vl`` (:mod:`lexprep.ocr.qwen2vl`): Qwen2-VL through transformers (gpu profile).

:func:`lexprep.ocr.runner.ocr_pages` renders and recognises a document's pages in worker processes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from lexprep.errors import ConfigurationError
from lexprep.settings import OcrSettings

ENGINES = ("tesseract", "rapidocr", "mistral", "qwen2-vl")


@dataclass(slots=True)
class OcrResult:
    """What an engine read on one image.

    Attributes:
        text: the page's text, lines separated by newlines.
        confidence: 0..1 (engine-specific, see each engine), None when the engine gives none.
        engine: the engine's name.
        dpi: the image's resolution (dots per inch) when known.
        elapsed_s: seconds spent in the engine.
    """

    text: str
    confidence: float | None
    engine: str
    dpi: int | None = None
    elapsed_s: float = 0.0


@runtime_checkable
class OcrEngine(Protocol):
    """An OCR engine: ``recognize(image) -> OcrResult`` for a PIL image. Loads its model once."""

    name: str

    def recognize(self, image) -> OcrResult: ...


_engines: dict[tuple[str, str], OcrEngine] = {}
_lock = threading.Lock()


def get_engine(name: str, settings: OcrSettings) -> OcrEngine:
    """The process's engine ``name`` for these settings (created once, models loaded lazily).

    Raises:
        ConfigurationError: unknown engine name.
        MissingDependencyError: the engine's package or program is not installed.
    """
    key = (name, settings.model_dump_json())
    with _lock:
        engine = _engines.get(key)
        if engine is not None:
            return engine
        if name == "tesseract":
            from lexprep.ocr.tesseract import TesseractEngine as cls
        elif name == "rapidocr":
            from lexprep.ocr.rapidocr import RapidOcrEngine as cls
        elif name == "mistral":
            from lexprep.ocr.mistral import MistralOcrEngine as cls
        elif name == "qwen2-vl":
            from lexprep.ocr.qwen2vl import Qwen2VLEngine as cls
        else:
            raise ConfigurationError(f"unknown OCR engine {name!r} (one of {', '.join(ENGINES)})")
        engine = _engines[key] = cls(settings)
        return engine


__all__ = ["ENGINES", "OcrEngine", "OcrResult", "get_engine"]
