"""Transcription with the ``openai-whisper`` package (PyTorch): the GPU profile's engine.

``settings.asr.model`` is a path to a whisper checkpoint (``.pt``, as openai-whisper saves it:
``{"dims": ..., "model_state_dict": ...}``) or a size name (``turbo``, ``small.en`` ...) found in
openai-whisper's download cache (``~/.cache/whisper``; fetching it needs the internet). ``None`` means
``turbo`` on CUDA and ``tiny.en`` on CPU.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from typing import Any

import numpy as np

from lexprep.errors import ConfigurationError, MissingDependencyError
from lexprep.models import Segment
from lexprep.settings import AsrSettings

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000


class OpenAIWhisperEngine:
    """openai-whisper's ``Whisper`` model behind the :class:`lexprep.asr.AsrEngine` protocol.

    The model loads once, on first use (``whisper.load_model(path, device=...)``).

    Args:
        settings: ``Settings.asr``; uses model, device, language, beam_size.
        **decode_options: extra keyword arguments for ``whisper.transcribe`` (e.g. ``temperature=0``,
            ``sample_len=16``, ``condition_on_previous_text=False``); they override the defaults.

    Raises (on first use):
        MissingDependencyError: openai-whisper (or torch) is not installed.
        ConfigurationError: the checkpoint cannot be found or loaded.
    """

    name = "openai-whisper"

    def __init__(self, settings: AsrSettings, **decode_options: Any):
        self.settings = settings
        self.decode_options = decode_options
        self._device = settings.device
        self.model = settings.model or ""
        self._model = None
        self._lock = threading.Lock()
        # torch modules are not safe to run from several threads at once
        self._run_lock = threading.Lock()

    def _load(self):
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is not None:
                return self._model
            try:
                import torch
                import whisper
            except ImportError as exc:
                raise MissingDependencyError("openai-whisper", "lexprep[gpu]") from exc
            device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
            source = self.settings.model or ("turbo" if device == "cuda" else "tiny.en")
            if os.sep in source or source.endswith(".pt"):
                if not os.path.isfile(source):
                    raise ConfigurationError(f"whisper checkpoint not found: {source}")
            try:
                model = whisper.load_model(source, device=device)
            except Exception as exc:  # noqa: BLE001 - a bad checkpoint, an unreachable download, no CUDA
                first = str(exc).splitlines()[0][:160] if str(exc) else ""
                raise ConfigurationError(
                    f"cannot load openai-whisper model {source!r} on {device}: {type(exc).__name__}: {first}"
                ) from exc
            self._device = device
            self.model = source
            self._model = model
            log.info("openai-whisper model %s loaded on %s", os.path.basename(source), device)
            return model

    def transcribe(self, audio: np.ndarray, *, channel: int | None = None) -> list[Segment]:
        """Transcribe mono 16 kHz float32 samples (shape ``(n,)``) into segments (seconds, speaker None)."""
        return self.transcribe_with_language(audio, channel=channel)[0]

    def transcribe_with_language(
        self, audio: np.ndarray, *, channel: int | None = None
    ) -> tuple[list[Segment], str | None]:
        """Like :meth:`transcribe`, plus the spoken language (the setting, or whisper's detection)."""
        model = self._load()  # raises MissingDependencyError before the import below can fail
        import whisper

        audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        duration = audio.shape[0] / SAMPLE_RATE
        if audio.shape[0] == 0:
            return [], self.settings.language
        options: dict[str, Any] = {
            "language": self.settings.language,
            "beam_size": self.settings.beam_size,
            "fp16": self._device == "cuda",
            "verbose": None,
        }
        options.update(self.decode_options)
        with self._run_lock:
            result = whisper.transcribe(model, audio, **options)
        segments = []
        for item in result.get("segments", []):
            text = str(item.get("text", "")).strip()
            if not text:
                continue
            start = min(max(float(item["start"]), 0.0), duration)
            end = min(max(float(item["end"]), start), duration)
            logprob = item.get("avg_logprob")
            confidence = min(max(math.exp(logprob), 0.0), 1.0) if logprob is not None and math.isfinite(logprob) else None
            segments.append(Segment(start_s=start, end_s=end, text=text, confidence=confidence, channel=channel))
        return segments, result.get("language") or self.settings.language
