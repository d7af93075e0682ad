"""RapidOCR (PP-OCR models in ONNX, shipped inside the rapidocr-onnxruntime wheel).

Boxes are put in reading order: sorted by their top edge, boxes whose vertical centres fall within
half a line height of each other form one line, left to right. Confidence: the mean box score.
"""

from __future__ import annotations

import time

from lexprep.errors import MissingDependencyError
from lexprep.ocr import OcrResult
from lexprep.settings import OcrSettings


class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self, settings: OcrSettings):
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise MissingDependencyError("rapidocr-onnxruntime", "lexprep[ocr]") from exc
        # in a worker process (workers > 0) the parallelism is the processes: tesseract_threads threads
        # each; in the calling process (workers == 0) onnxruntime's default (every core)
        threads = max(1, int(settings.tesseract_threads)) if settings.workers > 0 else -1
        self._ocr = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=threads)
        self.settings = settings

    def recognize(self, image) -> OcrResult:
        import numpy as np

        started = time.perf_counter()
        result, _ = self._ocr(np.asarray(image.convert("RGB")))
        boxes = []
        for box, text, score in result or []:
            ys = [p[1] for p in box]
            xs = [p[0] for p in box]
            boxes.append((min(ys), max(ys), min(xs), text, float(score)))
        boxes.sort(key=lambda b: (b[0], b[2]))
        lines: list[list[tuple]] = []
        for box in boxes:
            centre = (box[0] + box[1]) / 2
            if lines:
                last = lines[-1]
                top = min(b[0] for b in last)
                bottom = max(b[1] for b in last)
                if abs(centre - (top + bottom) / 2) < (bottom - top) / 2:
                    last.append(box)
                    continue
            lines.append([box])
        text = "\n".join(" ".join(b[3] for b in sorted(line, key=lambda b: b[2])) for line in lines)
        confidence = sum(b[4] for b in boxes) / len(boxes) if boxes else 0.0
        dpi = image.info.get("dpi")
        return OcrResult(text, round(confidence, 4), self.name, dpi=int(round(dpi[0])) if dpi else None,
                         elapsed_s=time.perf_counter() - started)
