"""Tesseract (Debian's tesseract-ocr) through pytesseract: one ``image_to_data`` call per page gives
both the text (rebuilt from its block/paragraph/line structure) and word confidences.

Confidence: the mean of tesseract's word confidences (0..100, words with conf >= 0) weighted by word
length, divided by 100.
"""

from __future__ import annotations

import os
import shutil
import time

from lexprep.errors import MissingDependencyError
from lexprep.ocr import OcrResult
from lexprep.settings import OcrSettings


class TesseractEngine:
    name = "tesseract"

    def __init__(self, settings: OcrSettings):
        try:
            import pytesseract
        except ImportError as exc:
            raise MissingDependencyError("pytesseract", "lexprep[ocr]") from exc
        if shutil.which("tesseract") is None:
            raise MissingDependencyError("tesseract", "apt-get install tesseract-ocr tesseract-ocr-eng")
        self._pt = pytesseract
        self.settings = settings
        # one thread per tesseract process: pages run in parallel processes instead
        os.environ["OMP_THREAD_LIMIT"] = str(settings.tesseract_threads)
        # tessedit_do_invert=0 skips the second pass that looks for white-on-black text (about 7% of the
        # time per page measured here; scanned filings rarely carry inverted text)
        self.config = f"--psm {settings.tesseract_psm} -c tessedit_do_invert=0"

    def recognize(self, image) -> OcrResult:
        started = time.perf_counter()
        data = self._pt.image_to_data(image, lang=self.settings.tesseract_lang, config=self.config,
                                      output_type=self._pt.Output.DICT)
        lines: dict[tuple[int, int, int], list[str]] = {}
        order: list[tuple[int, int, int]] = []
        weight = score = 0.0
        for i, word in enumerate(data["text"]):
            word = (word or "").strip()
            if not word:
                continue
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            if key not in lines:
                lines[key] = []
                order.append(key)
            lines[key].append(word)
            conf = float(data["conf"][i])
            if conf >= 0:
                weight += len(word)
                score += conf * len(word)
        out: list[str] = []
        previous = None
        for key in order:
            if previous is not None and key[:2] != previous[:2]:
                out.append("")  # a blank line between paragraphs
            out.append(" ".join(lines[key]))
            previous = key
        confidence = (score / weight / 100.0) if weight else 0.0
        return OcrResult("\n".join(out), round(min(max(confidence, 0.0), 1.0), 4), self.name,
                         elapsed_s=time.perf_counter() - started)
