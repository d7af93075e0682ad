"""Decode a recording from bytes into 16 kHz float32 samples, one row per channel.

PyAV (``av``, a dependency of faster-whisper) bundles FFmpeg's libraries, so WAV, FLAC, MP3, M4A/AAC,
OGG/Opus/Vorbis and the audio track of MP4/MOV/MKV video decode without a system ffmpeg.
"""

from __future__ import annotations

import gc
import io
import logging

import numpy as np

from lexprep.errors import CorruptFileError, EmptyFileError, MissingDependencyError

log = logging.getLogger(__name__)

#: the sample rate every engine takes (Hz)
SAMPLE_RATE = 16_000

#: decoded frames are grouped into chunks of this many input samples before resampling (bounds memory churn)
_GROUP_SAMPLES = 500_000


def decode_audio(data: bytes, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode a recording's bytes.

    Args:
        data: the file's content (any container and codec FFmpeg reads: WAV, FLAC, MP3, M4A, OGG, MP4 ...).
        sample_rate: output rate in Hz (16 000 for whisper).

    Returns:
        float32 array of shape ``(channels, n_samples)`` at ``sample_rate``, values in [-1, 1]; channels are
        kept separate (a stereo file gives 2 rows). Duration in seconds is ``n_samples / sample_rate``.

    Raises:
        EmptyFileError: zero bytes, no audio stream, or an audio stream with no samples
            ("recording has no audio").
        CorruptFileError: the bytes are not a readable media file ("cannot decode audio: <reason>").
        MissingDependencyError: PyAV is not installed.
    """
    if not data:
        raise EmptyFileError("recording has no audio")
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av comes with faster-whisper
        raise MissingDependencyError("av (PyAV)", "lexprep[asr]") from exc

    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise CorruptFileError(f"cannot decode audio: {_reason(exc)}") from None
    except (UnicodeDecodeError, ValueError, OSError) as exc:
        raise CorruptFileError(f"cannot decode audio: {_reason(exc)}") from None

    rows: list[np.ndarray] = []
    bad_frames = 0
    first_error: Exception | None = None
    try:
        if not container.streams.audio:
            raise EmptyFileError("recording has no audio")
        stream = container.streams.audio[0]
        fifo = av.audio.fifo.AudioFifo()
        resampler = None

        def flush(frame):
            nonlocal resampler
            if resampler is None and frame is not None:
                resampler = av.audio.resampler.AudioResampler(
                    format="fltp", layout=frame.layout.name, rate=sample_rate
                )
            if resampler is None:
                return
            for out in resampler.resample(frame):
                rows.append(out.to_ndarray())

        frames = container.decode(stream)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                break
            except av.error.InvalidDataError as exc:  # a damaged frame: skip it, keep the rest
                bad_frames += 1
                first_error = first_error or exc
                if bad_frames > 1000:
                    break
                continue
            frame.pts = None  # the resampler/fifo check timestamps; damaged files have gaps
            try:
                fifo.write(frame)
            except ValueError:
                # format or layout changed mid-stream: resample what we have, start a new group
                flush(fifo.read())
                flush(None)
                resampler = None
                fifo = av.audio.fifo.AudioFifo()
                fifo.write(frame)
            if fifo.samples >= _GROUP_SAMPLES:
                flush(fifo.read())
        if fifo.samples:
            flush(fifo.read())
        flush(None)
    except EmptyFileError:
        raise
    except av.error.FFmpegError as exc:
        if not rows:
            raise CorruptFileError(f"cannot decode audio: {_reason(exc)}") from None
        log.warning("audio decoding stopped early: %s", _reason(exc))
    finally:
        container.close()
        gc.collect()  # PyAV's resampler holds native buffers until collected (faster-whisper#390)

    if not rows:
        if first_error is not None:
            raise CorruptFileError(f"cannot decode audio: {_reason(first_error)}")
        raise EmptyFileError("recording has no audio")
    if bad_frames:
        log.warning("skipped %d undecodable audio frame(s)", bad_frames)
    channels = max(r.shape[0] for r in rows)
    rows = [r if r.shape[0] == channels else np.repeat(r[:1], channels, axis=0) for r in rows]
    audio = np.concatenate(rows, axis=1).astype(np.float32, copy=False)
    if audio.shape[1] == 0:
        raise EmptyFileError("recording has no audio")
    np.clip(audio, -1.0, 1.0, out=audio)
    return np.ascontiguousarray(audio)


def _reason(exc: Exception) -> str:
    """A short, one-line reason from an FFmpeg/PyAV error (no file paths, no bytes)."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    text = " ".join(str(text).split())
    return text[:120].rstrip(".").lower() or "unknown error"
