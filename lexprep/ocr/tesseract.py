"""Tesseract, in process through tesserocr (preferred) or as Debian's binary through pytesseract.

Backends, chosen once when the engine is built:

- ``tesserocr`` (``lexprep[ocr]``; its wheel bundles libtesseract 5.5): the model loads once per
  thread and stays loaded; the image goes over in memory; one ``Recognize`` per page, after which
  the text (``GetUTF8Text``) and the word confidences (``MapWordConfidences``) are read from the same
  result. Measured on the 200 dpi scan of vector-pdf.pdf (bench/bench_ocr.py): 0.85 s a page against
  1.2 s for pytesseract (which starts a process, writes a PNG and reloads the model every page),
  and a slightly lower CER (0.72% against 0.77%). The bundled library has no OpenMP: one thread.
- ``pytesseract`` (fallback when tesserocr is not installed): one ``image_to_data`` call per page
  gives both the words (the text is rebuilt from its block/paragraph/line structure) and their
  confidences; ``OMP_THREAD_LIMIT`` is set to ``settings.tesseract_threads`` for the binary.

Both read the language data (``<lang>.traineddata``) installed by Debian's ``tesseract-ocr-<lang>``
packages (or ``TESSDATA_PREFIX``). ``tessedit_do_invert=0`` skips the pass that looks for white-on-black
text (~7% of the time a page; scanned filings rarely carry any).

Confidence: the mean of tesseract's word confidences (0..100; words with conf >= 0) weighted by word
length (characters), divided by 100; 0.0 when no word was found (a blank page, or one tesseract cannot
read, so an escalation engine gets a chance).

Raises (when built): MissingDependencyError("tesseract", "apt-get install tesseract-ocr tesseract-ocr-eng")
when neither backend can run, or naming the missing language package.
"""

from __future__ import annotations

import glob
import os
import shutil
import threading
import time

from lexprep.errors import MissingDependencyError
from lexprep.ocr import OcrResult
from lexprep.settings import OcrSettings

INSTALL = "apt-get install tesseract-ocr tesseract-ocr-eng"
#: tesseract variables set for every page (see the module docstring)
VARIABLES = {"tessedit_do_invert": "0"}
#: where Debian, Fedora, Homebrew and source builds put the language data
TESSDATA_GLOBS = (
    "/usr/share/tesseract-ocr/*/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)


def find_tessdata(langs: list[str]) -> str | None:
    """The first tessdata folder holding ``<lang>.traineddata`` for every lang (TESSDATA_PREFIX first)."""
    candidates = []
    if os.environ.get("TESSDATA_PREFIX"):
        prefix = os.environ["TESSDATA_PREFIX"]
        candidates += [prefix, os.path.join(prefix, "tessdata")]
    for pattern in TESSDATA_GLOBS:
        candidates += sorted(glob.glob(pattern), reverse=True)  # the newest version folder first
    for folder in candidates:
        if all(os.path.isfile(os.path.join(folder, f"{lang}.traineddata")) for lang in langs):
            return folder
    return None


def weighted_confidence(words: list[tuple[str, float]]) -> float:
    """Mean of word confidences (0..100, negatives skipped) weighted by word length, scaled to 0..1."""
    weight = score = 0.0
    for word, conf in words:
        word = (word or "").strip()
        if word and conf is not None and float(conf) >= 0:
            weight += len(word)
            score += float(conf) * len(word)
    return round(min(max(score / weight / 100.0, 0.0), 1.0), 4) if weight else 0.0


def _dpi(image) -> int | None:
    dpi = image.info.get("dpi")
    try:
        value = int(round(float(dpi[0]))) if dpi else None
    except (TypeError, ValueError, IndexError):
        return None
    return value if value and value > 1 else None


class TesseractEngine:
    """Tesseract OCR (see the module docstring). Thread-safe: one tesseract instance per thread."""

    name = "tesseract"

    def __init__(self, settings: OcrSettings, backend: str | None = None):
        """Args: settings; backend ``"tesserocr"`` or ``"pytesseract"`` (None: tesserocr when installed)."""
        self.settings = settings
        self.langs = [lang for lang in settings.tesseract_lang.split("+") if lang]
        # one thread per tesseract: pages run in parallel processes instead (the binary reads this)
        os.environ["OMP_THREAD_LIMIT"] = str(settings.tesseract_threads)
        self._local = threading.local()
        self._tessdata = None
        if backend not in (None, "tesserocr", "pytesseract"):
            raise ValueError(f"unknown tesseract backend {backend!r}")
        self.backend = backend or "tesserocr"
        if self.backend == "tesserocr":
            try:
                import tesserocr  # noqa: F401

                self._tessdata = find_tessdata(self.langs)
            except ImportError as exc:
                if backend == "tesserocr":
                    raise MissingDependencyError("tesserocr", "lexprep[ocr]") from exc
                self.backend = "pytesseract"
        if self.backend == "tesserocr":
            if self._tessdata is None:
                missing = [lang for lang in self.langs if find_tessdata([lang]) is None]
                if not missing:
                    raise MissingDependencyError(
                        f"tesseract language data for {'+'.join(self.langs)} in one folder", "set TESSDATA_PREFIX")
                raise MissingDependencyError(
                    f"tesseract language data for {'+'.join(missing)}",
                    "apt-get install tesseract-ocr " + " ".join(f"tesseract-ocr-{lang}" for lang in missing),
                )
            self._api()  # load the model now, so a broken install fails here and not on a page
        else:
            try:
                import pytesseract
            except ImportError as exc:
                raise MissingDependencyError("tesseract", f"lexprep[ocr] and {INSTALL}") from exc
            if shutil.which(getattr(pytesseract.pytesseract, "tesseract_cmd", "tesseract")) is None:
                raise MissingDependencyError("tesseract", INSTALL)
            self._pt = pytesseract
            self.config = f"--psm {settings.tesseract_psm} " + " ".join(f"-c {k}={v}" for k, v in VARIABLES.items())

    # --------------------------------------------------------------------------- tesserocr

    def _api(self):
        api = getattr(self._local, "api", None)
        if api is None:
            import tesserocr

            try:
                api = tesserocr.PyTessBaseAPI(
                    path=self._tessdata.rstrip("/") + "/",
                    lang=self.settings.tesseract_lang,
                    psm=int(self.settings.tesseract_psm),
                )
            except RuntimeError as exc:
                raise MissingDependencyError(f"tesseract language data ({exc})", INSTALL) from exc
            for key, value in VARIABLES.items():
                api.SetVariable(key, value)
            self._local.api = api
        return api

    def _recognize_tesserocr(self, image) -> tuple[str, float]:
        api = self._api()
        api.SetImage(image)
        dpi = _dpi(image)
        if dpi:
            api.SetSourceResolution(dpi)
        api.Recognize()
        text = api.GetUTF8Text()
        words = api.MapWordConfidences()
        api.Clear()  # frees the page image and results; the model stays loaded
        return text, weighted_confidence(words)

    # --------------------------------------------------------------------------- pytesseract

    def _recognize_pytesseract(self, image) -> tuple[str, float]:
        config = self.config
        dpi = _dpi(image)
        if dpi:
            config += f" --dpi {dpi}"
        data = self._pt.image_to_data(image, lang=self.settings.tesseract_lang, config=config,
                                      output_type=self._pt.Output.DICT)
        lines: dict[tuple[int, int, int], list[str]] = {}
        words: list[tuple[str, float]] = []
        for i, word in enumerate(data["text"]):
            word = (word or "").strip()
            if not word:
                continue
            lines.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(word)
            words.append((word, float(data["conf"][i])))
        out: list[str] = []
        previous = None
        for key, line in lines.items():  # dicts keep tesseract's reading order
            if previous is not None and key[:2] != previous[:2]:
                out.append("")  # a blank line between paragraphs
            out.append(" ".join(line))
            previous = key
        return "\n".join(out), weighted_confidence(words)

    # --------------------------------------------------------------------------- the protocol

    def recognize(self, image) -> OcrResult:
        """Read one page image (PIL, any mode; ``info['dpi']`` passed to tesseract when present).

        Returns an OcrResult whose text has lines separated by ``\\n`` and paragraphs by a blank line.
        """
        started = time.perf_counter()
        if self.backend == "tesserocr":
            text, confidence = self._recognize_tesserocr(image)
        else:
            text, confidence = self._recognize_pytesseract(image)
        return OcrResult(text.strip(), confidence, self.name, dpi=_dpi(image),
                         elapsed_s=time.perf_counter() - started)
