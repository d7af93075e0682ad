"""Transcription through OpenAI's audio API (or any OpenAI-compatible server, via ``openai_base_url``).

Audio is sent as 16 kHz 16-bit mono WAV, made in memory. The API takes at most 25 MB per request, so a
long recording is cut into pieces of at most :data:`MAX_CHUNK_S` seconds (19.2 MB each), at the quietest
moment near each cut, and the pieces' segment times are shifted back onto the recording's clock.

Errors: HTTP 429, 5xx, timeouts and connection failures are :class:`~lexprep.errors.TransientError`
and are retried here with tenacity (``asr.max_attempts`` attempts, random exponential backoff with
``asr.retry_wait_s`` as the unit); 401/403/404 are :class:`~lexprep.errors.ConfigurationError`
(bad key, no access, wrong model or base URL); 400 and other 4xx are :class:`~lexprep.errors.InputError`.
The API key never appears in a message or a log line.
"""

from __future__ import annotations

import io
import math
import os
import wave
from typing import Any

import numpy as np

from lexprep.errors import ConfigurationError
from lexprep.models import Segment
from lexprep.openai_compat import LazyClient, call_mapped, map_error, retrying
from lexprep.settings import AsrSettings

SAMPLE_RATE = 16_000

#: longest piece sent in one request (seconds): 600 s of 16 kHz 16-bit mono is 19.2 MB, under the 25 MB cap
MAX_CHUNK_S = 600.0
#: a cut is placed at the quietest 100 ms within this many seconds before the nominal cut
CUT_SEARCH_S = 30.0

#: models that answer only ``json`` / ``text`` (no segment timestamps)
_JSON_ONLY_PREFIXES = ("gpt-4o",)


def wav_bytes(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """16-bit PCM mono WAV of float32 samples in [-1, 1] (shape ``(n,)``)."""
    pcm = (np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0) * 32767.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def chunk_bounds(audio: np.ndarray, max_chunk_s: float = MAX_CHUNK_S, sample_rate: int = SAMPLE_RATE) -> list[tuple[int, int]]:
    """Sample ranges ``[(start, end), ...]`` covering ``audio``, each at most ``max_chunk_s`` seconds long,
    cut at the quietest 100 ms window in the last :data:`CUT_SEARCH_S` seconds before each limit."""
    n = int(audio.shape[0])
    limit = max(int(max_chunk_s * sample_rate), 1)
    bounds: list[tuple[int, int]] = []
    start = 0
    win = sample_rate // 10
    while n - start > limit:
        hi = start + limit
        lo = max(start + limit // 2, hi - int(CUT_SEARCH_S * sample_rate))
        region = audio[lo:hi]
        frames = region[: (region.shape[0] // win) * win].reshape(-1, win) if region.shape[0] >= win else None
        if frames is None or frames.shape[0] == 0:
            cut = hi
        else:
            energy = (frames.astype(np.float64) ** 2).mean(axis=1)
            cut = lo + int(np.argmin(energy)) * win + win // 2
        bounds.append((start, cut))
        start = cut
    bounds.append((start, n))
    return bounds


class OpenAIApiEngine:
    """OpenAI's ``audio.transcriptions`` endpoint behind the :class:`lexprep.asr.AsrEngine` protocol.

    Args:
        settings: ``Settings.asr``; uses openai_model, openai_base_url, openai_api_key (else the
            ``OPENAI_API_KEY`` environment variable), timeout_s, language, max_attempts, retry_wait_s.
        max_chunk_s: longest piece per request (seconds).

    Raises (from :meth:`transcribe`):
        TransientError: still failing after ``max_attempts`` (429, 5xx, timeout, connection).
        ConfigurationError: no key, a rejected key (401), no access (403), unknown model/endpoint (404).
        InputError: the server rejected the audio (400, 413, 415, 422 ...).
        MissingDependencyError: the ``openai`` package is not installed.
    """

    name = "openai"

    def __init__(self, settings: AsrSettings, *, max_chunk_s: float = MAX_CHUNK_S):
        self.settings = settings
        self.model = settings.openai_model
        self.max_chunk_s = max_chunk_s
        self._client = LazyClient(self._api_key, settings.openai_base_url, settings.timeout_s)

    # -- client --------------------------------------------------------------------------------------

    def _secret(self) -> str | None:
        if self.settings.openai_api_key is not None:
            return self.settings.openai_api_key.get_secret_value()
        return os.environ.get("OPENAI_API_KEY")

    def _api_key(self) -> str:
        key = self._secret()
        if not key:
            raise ConfigurationError("no OpenAI API key: set LEXPREP_ASR__OPENAI_API_KEY or OPENAI_API_KEY")
        return key

    def transcribe(self, audio: np.ndarray, *, channel: int | None = None) -> list[Segment]:
        """Transcribe mono 16 kHz float32 samples (shape ``(n,)``) into segments (seconds, speaker None)."""
        return self.transcribe_with_language(audio, channel=channel)[0]

    def transcribe_with_language(
        self, audio: np.ndarray, *, channel: int | None = None
    ) -> tuple[list[Segment], str | None]:
        """Like :meth:`transcribe`, plus the language the server reports (or the setting)."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        segments: list[Segment] = []
        language = None
        for start, end in chunk_bounds(audio, self.max_chunk_s):
            if end <= start:
                continue
            offset = start / SAMPLE_RATE
            piece_s = (end - start) / SAMPLE_RATE
            response = self._call_with_retries(wav_bytes(audio[start:end]))
            piece_segments, piece_language = self._parse(response, piece_s)
            language = language or piece_language
            for seg in piece_segments:
                seg.start_s += offset
                seg.end_s += offset
                seg.channel = channel
            segments.extend(piece_segments)
        return segments, language or self.settings.language

    def _request_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.model}
        if self.model.startswith(_JSON_ONLY_PREFIXES):
            kwargs["response_format"] = "json"
        else:
            kwargs["response_format"] = "verbose_json"
            kwargs["timestamp_granularities"] = ["segment"]
        if self.settings.language:
            kwargs["language"] = self.settings.language
        return kwargs

    def _call_once(self, data: bytes):
        return call_mapped(self._client.get().audio.transcriptions.create,
                           file=("audio.wav", data, "audio/wav"), **self._request_kwargs(),
                           mapper=lambda exc: map_error(exc, what="OpenAI transcription", timeout_s=self.settings.timeout_s,
                                                        model=self.model, key_env="LEXPREP_ASR__OPENAI_API_KEY",
                                                        secret=self._secret(), rejected="recording"))

    def _call_with_retries(self, data: bytes):
        return retrying("OpenAI transcription", self.settings.max_attempts, self.settings.retry_wait_s)(
            self._call_once, data)

    def _parse(self, response: Any, piece_s: float) -> tuple[list[Segment], str | None]:
        """Segments (seconds from the piece's start) and language from a transcription response."""
        get = (lambda k, d=None: response.get(k, d)) if isinstance(response, dict) else (
            lambda k, d=None: getattr(response, k, d)
        )
        if isinstance(response, str):  # response_format=text from a compatible server
            text, language, raw_segments = response, None, None
        else:
            text, language, raw_segments = get("text", "") or "", get("language"), get("segments")
        segments: list[Segment] = []
        if raw_segments:
            for item in raw_segments:
                iget = (lambda k, d=None: item.get(k, d)) if isinstance(item, dict) else (
                    lambda k, d=None: getattr(item, k, d)
                )
                seg_text = str(iget("text", "") or "").strip()
                if not seg_text:
                    continue
                start = min(max(float(iget("start", 0.0) or 0.0), 0.0), piece_s)
                end = min(max(float(iget("end", start) or start), start), piece_s)
                logprob = iget("avg_logprob")
                confidence = min(max(math.exp(logprob), 0.0), 1.0) if logprob is not None and math.isfinite(logprob) else None
                segments.append(Segment(start_s=start, end_s=end, text=seg_text, confidence=confidence))
        elif text.strip():
            segments.append(Segment(start_s=0.0, end_s=piece_s, text=text.strip()))
        return segments, language
