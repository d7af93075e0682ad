"""Who spoke when, for mono recordings: a seam for diarization backends.

A :class:`Diarizer` returns speaker turns; :func:`assign_speakers` gives each transcript segment the
speaker whose turns overlap it most. The one backend here is pyannote.audio (imported lazily, extra
``lexprep[diarize]``), chosen with ``LEXPREP_ASR__DIARIZATION=pyannote`` or
``pyannote:<local pipeline directory or config.yaml>``.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol, runtime_checkable

import numpy as np

from lexprep.errors import ConfigurationError, MissingDependencyError
from lexprep.models import Segment

log = logging.getLogger(__name__)

#: a speaker turn: (start seconds, end seconds, speaker label)
Turn = tuple[float, float, str]

#: the pyannote pipeline used when ``diarization`` is just ``pyannote``
DEFAULT_PYANNOTE_PIPELINE = "pyannote/speaker-diarization-3.1"


@runtime_checkable
class Diarizer(Protocol):
    """Finds speaker turns in a mono recording."""

    def __call__(self, audio: np.ndarray, sr: int) -> list[Turn]:
        """Args: audio, float32 mono samples of shape ``(n,)``; sr, its rate in Hz.

        Returns: turns ``(start_s, end_s, speaker)`` in seconds, in any order, possibly overlapping.
        """
        ...


class PyannoteDiarizer:
    """pyannote.audio's speaker-diarization pipeline, loaded once, lazily.

    Args:
        pipeline: a local pipeline directory / ``config.yaml`` (offline), or a hub id (needs the hub).
        device: torch device (None = cuda if available else cpu).

    Raises (on first call):
        MissingDependencyError: pyannote.audio is not installed.
        ConfigurationError: the pipeline cannot be loaded.
    """

    def __init__(self, pipeline: str = DEFAULT_PYANNOTE_PIPELINE, device: str | None = None):
        self.pipeline_name = pipeline
        self.device = device
        self._pipeline = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._pipeline is not None:
                return self._pipeline
            try:
                from pyannote.audio import Pipeline
            except ImportError as exc:
                raise MissingDependencyError("pyannote.audio", "lexprep[diarize]") from exc
            import torch

            try:
                pipeline = Pipeline.from_pretrained(self.pipeline_name)
            except Exception as exc:  # noqa: BLE001 - any load failure is a configuration problem
                raise ConfigurationError(
                    f"cannot load pyannote pipeline {self.pipeline_name!r}: {type(exc).__name__}"
                ) from exc
            if pipeline is None:
                raise ConfigurationError(f"cannot load pyannote pipeline {self.pipeline_name!r}")
            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            pipeline.to(torch.device(device))
            self._pipeline = pipeline
            return pipeline

    def __call__(self, audio: np.ndarray, sr: int) -> list[Turn]:
        import torch

        pipeline = self._load()
        waveform = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).reshape(1, -1)
        result = pipeline({"waveform": waveform, "sample_rate": sr})
        annotation = getattr(result, "speaker_diarization", result)  # pyannote 4 wraps the annotation
        return [(float(turn.start), float(turn.end), str(label)) for turn, _, label in annotation.itertracks(yield_label=True)]


_cache: dict[str, Diarizer] = {}
_cache_lock = threading.Lock()


def get_diarizer(spec: str, device: str | None = None) -> Diarizer:
    """The diarizer named by ``settings.asr.diarization`` (cached per process).

    Args:
        spec: ``pyannote`` or ``pyannote:<pipeline path or hub id>``.

    Raises:
        ConfigurationError: an unknown backend.
    """
    key = f"{spec}|{device}"
    with _cache_lock:
        if key not in _cache:
            name, _, arg = spec.partition(":")
            if name.strip().lower() != "pyannote":
                raise ConfigurationError(f"unknown diarization backend {name!r} (known: pyannote)")
            _cache[key] = PyannoteDiarizer(arg.strip() or DEFAULT_PYANNOTE_PIPELINE, device=device)
        return _cache[key]


def assign_speakers(segments: list[Segment], turns: list[Turn], default: str = "SPEAKER_0") -> list[Segment]:
    """Give each segment the speaker whose turns overlap it most (in place; also returned).

    A segment that overlaps no turn takes the speaker of the nearest turn; with no turns at all every
    segment gets ``default``.
    """
    if not turns:
        for seg in segments:
            seg.speaker = default
        return segments
    for seg in segments:
        overlap: dict[str, float] = {}
        for start, end, speaker in turns:
            o = min(seg.end_s, end) - max(seg.start_s, start)
            if o > 0:
                overlap[speaker] = overlap.get(speaker, 0.0) + o
        if overlap:
            seg.speaker = max(overlap.items(), key=lambda kv: kv[1])[0]
        else:
            mid = (seg.start_s + seg.end_s) / 2
            seg.speaker = min(turns, key=lambda t: min(abs(mid - t[0]), abs(mid - t[1])))[2]
    return segments
