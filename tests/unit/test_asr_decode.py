"""Decoding recordings (lexprep.asr.decode) and routing channels to speakers (lexprep.asr), no models.

Audio is made here: WAV with the stdlib ``wave`` module, other containers with PyAV's own encoders.
"""

from __future__ import annotations

import io
import re
import wave

import numpy as np
import pytest

pytestmark = pytest.mark.unit

av = pytest.importorskip("av", reason="PyAV (comes with faster-whisper, lexprep[asr]) is not installed")

from lexprep.asr import Transcript, channels_differ, transcribe_audio  # noqa: E402
from lexprep.asr.decode import SAMPLE_RATE, decode_audio  # noqa: E402
from lexprep.asr.diarize import assign_speakers  # noqa: E402
from lexprep.errors import CorruptFileError, EmptyFileError, InputError  # noqa: E402
from lexprep.models import Segment  # noqa: E402
from lexprep.settings import AsrSettings, Settings  # noqa: E402


def tone(freq: float, seconds: float, rate: int, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def make_wav(channels: list[np.ndarray], rate: int) -> bytes:
    """16-bit PCM WAV with one array per channel (stdlib wave)."""
    data = np.stack(channels, axis=1)  # interleave: (n, channels)
    pcm = (np.clip(data, -1, 1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def encode_with_pyav(fmt: str, codec: str, rate: int, seconds: float = 1.0) -> bytes:
    """A stereo recording (300 Hz left, 500 Hz right) in ``fmt`` with ``codec``, made by PyAV."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="stereo")
        sample_fmt = stream.codec_context.format.name
        frame_size = stream.codec_context.frame_size or 1024
        x = np.stack([tone(300, seconds, rate), tone(500, seconds, rate)])
        for i in range(0, x.shape[1], frame_size):
            chunk = x[:, i : i + frame_size]
            arr = chunk if sample_fmt.endswith("p") else chunk.T.reshape(1, -1)
            if sample_fmt.startswith("s16"):
                arr = (arr * 32767).astype(np.int16)
            elif sample_fmt.startswith("s32"):
                arr = (arr * (2**31 - 1)).astype(np.int32)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(arr), format=sample_fmt, layout="stereo")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def dominant_hz(x: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(x.shape[0], 1 / rate)[np.argmax(spectrum)])


# -- decode ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [8000, 44100])
def test_mono_wav_decodes_to_16k_float32(rate):
    audio = decode_audio(make_wav([tone(440, 1.5, rate)], rate))
    assert audio.dtype == np.float32
    assert audio.shape[0] == 1
    assert abs(audio.shape[1] / SAMPLE_RATE - 1.5) < 0.01  # seconds
    assert abs(dominant_hz(audio[0]) - 440) < 5
    assert 0.25 < np.abs(audio).max() <= 1.0


@pytest.mark.parametrize("rate", [8000, 44100])
def test_stereo_wav_keeps_channels_apart(rate):
    audio = decode_audio(make_wav([tone(300, 2.0, rate), tone(700, 2.0, rate)], rate))
    assert audio.dtype == np.float32
    assert audio.shape[0] == 2
    assert abs(audio.shape[1] / SAMPLE_RATE - 2.0) < 0.01
    assert abs(dominant_hz(audio[0]) - 300) < 5
    assert abs(dominant_hz(audio[1]) - 700) < 5


@pytest.mark.parametrize(
    ("fmt", "codec", "rate", "slack_s"),
    [
        ("flac", "flac", 44100, 0.01),
        ("mp3", "mp3", 44100, 0.06),
        ("mp4", "aac", 44100, 0.06),  # AAC adds encoder priming and frame padding
        ("ipod", "aac", 44100, 0.06),  # .m4a
        ("ogg", "libopus", 48000, 0.03),
    ],
)
def test_compressed_formats_decode(fmt, codec, rate, slack_s):
    try:
        data = encode_with_pyav(fmt, codec, rate)
    except (av.error.FFmpegError, ValueError) as exc:  # this PyAV build lacks the encoder
        pytest.skip(f"PyAV cannot encode {codec}: {exc}")
    audio = decode_audio(data)
    assert audio.shape[0] == 2
    assert abs(audio.shape[1] / SAMPLE_RATE - 1.0) <= slack_s
    assert abs(dominant_hz(audio[0]) - 300) < 10
    assert abs(dominant_hz(audio[1]) - 500) < 10


def test_zero_bytes_is_empty():
    with pytest.raises(EmptyFileError, match="^recording has no audio$"):
        decode_audio(b"")


def test_wav_without_frames_is_empty():
    with pytest.raises(EmptyFileError, match="recording has no audio"):
        decode_audio(make_wav([np.zeros(0, dtype=np.float32)], 16000))


def test_video_without_audio_is_empty():
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 40, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(EmptyFileError, match="recording has no audio"):
        decode_audio(buf.getvalue())


@pytest.mark.parametrize(
    "data",
    [b"garbage " * 200, np.random.default_rng(0).bytes(4096), b"RIFF\x00\x00\x00\x00WAVEfmt "],
    ids=["text", "random", "truncated-wav-header"],
)
def test_garbage_is_corrupt_with_one_clear_line(data):
    with pytest.raises(InputError) as info:
        decode_audio(data)
    message = str(info.value)
    assert "\n" not in message and len(message) < 160
    assert isinstance(info.value, CorruptFileError)
    assert message.startswith("cannot decode audio: ")


# -- channels and speakers, with a fake engine -----------------------------------------------------


class FakeEngine:
    """Returns one segment per call, saying which channel (and how loud) it was given."""

    name = "fake"
    model = "fake-1"

    def __init__(self):
        self.calls: list[tuple[int | None, int]] = []

    def transcribe(self, audio, *, channel=None):
        self.calls.append((channel, audio.shape[0]))
        offset = 0.5 if channel == 1 else 0.0
        return [
            Segment(start_s=offset, end_s=offset + 1.0, text=f"first {channel}", channel=channel),
            Segment(start_s=offset + 2.0, end_s=offset + 3.0, text=f"second {channel}", channel=channel),
        ]


def settings(**asr) -> Settings:
    return Settings(asr=AsrSettings(**asr))


def test_stereo_with_different_channels_is_split_and_merged_by_time():
    rng = np.random.default_rng(1)
    audio = (rng.standard_normal((2, SAMPLE_RATE * 4)) * 0.1).astype(np.float32)
    engine = FakeEngine()
    transcript = transcribe_audio(audio, settings(), engine=engine)
    assert isinstance(transcript, Transcript)
    assert transcript.split_channels and transcript.channels == 2
    assert sorted(c for c, _ in engine.calls) == [0, 1]
    assert [s.speaker for s in transcript.segments] == ["channel_1", "channel_2", "channel_1", "channel_2"]
    assert [s.channel for s in transcript.segments] == [0, 1, 0, 1]
    starts = [s.start_s for s in transcript.segments]
    assert starts == sorted(starts)
    assert transcript.duration_s == pytest.approx(4.0)
    assert transcript.audio_seconds == pytest.approx(8.0)
    assert transcript.engine == "fake" and transcript.model == "fake-1"


def test_stereo_with_the_same_signal_is_mono():
    x = tone(220, 3.0, SAMPLE_RATE)
    engine = FakeEngine()
    transcript = transcribe_audio(np.stack([x, x * 0.9]), settings(), engine=engine)
    assert not transcript.split_channels
    assert engine.calls == [(None, x.shape[0])]
    assert {s.speaker for s in transcript.segments} == {"SPEAKER_0"}
    assert transcript.audio_seconds == pytest.approx(3.0)


def test_split_stereo_off_gives_one_speaker():
    rng = np.random.default_rng(2)
    audio = (rng.standard_normal((2, SAMPLE_RATE)) * 0.1).astype(np.float32)
    transcript = transcribe_audio(audio, settings(split_stereo=False), engine=FakeEngine())
    assert {s.speaker for s in transcript.segments} == {"SPEAKER_0"}


def test_channels_differ():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 16000)).astype(np.float32) * 0.1
    assert channels_differ(np.stack([a, b]))
    assert not channels_differ(np.stack([a, a]))
    assert not channels_differ(np.stack([a, a * 0.5 + b * 0.05]))  # correlation ~0.995
    assert not channels_differ(np.stack([a, np.zeros_like(a)]))  # one silent channel: mono
    assert not channels_differ(a.reshape(1, -1))


def test_assign_speakers_by_largest_overlap():
    segments = [Segment(0.0, 2.0, "a"), Segment(2.0, 5.0, "b"), Segment(9.0, 10.0, "c")]
    turns = [(0.0, 1.5, "S1"), (1.5, 2.5, "S2"), (2.5, 5.0, "S1"), (6.0, 8.0, "S2")]
    assign_speakers(segments, turns)
    assert [s.speaker for s in segments] == ["S1", "S1", "S2"]  # c overlaps nothing: the nearest turn
    assign_speakers(segments, [])
    assert {s.speaker for s in segments} == {"SPEAKER_0"}


def test_mono_with_a_diarizer(monkeypatch):
    import lexprep.asr.diarize as diarize

    class FakeDiarizer:
        def __call__(self, audio, sr):
            assert sr == SAMPLE_RATE and audio.ndim == 1
            return [(0.0, 1.2, "SPEAKER_00"), (1.2, 4.0, "SPEAKER_01")]

    monkeypatch.setattr(diarize, "get_diarizer", lambda spec, device=None: FakeDiarizer())
    transcript = transcribe_audio(tone(200, 4.0, SAMPLE_RATE), settings(diarization="pyannote"), engine=FakeEngine())
    assert [s.speaker for s in transcript.segments] == ["SPEAKER_00", "SPEAKER_01"]


def test_pyannote_missing_names_the_extra():
    import importlib.util

    from lexprep.asr.diarize import PyannoteDiarizer
    from lexprep.errors import MissingDependencyError

    if importlib.util.find_spec("pyannote") is not None and importlib.util.find_spec("pyannote.audio") is not None:
        pytest.skip("pyannote.audio is installed")
    with pytest.raises(MissingDependencyError, match=r"pyannote\.audio.*lexprep\[diarize\]"):
        PyannoteDiarizer()(np.zeros(16000, dtype=np.float32), SAMPLE_RATE)


def test_get_engine_is_cached_and_checks_the_name():
    from lexprep.asr import get_engine
    from lexprep.errors import ConfigurationError

    assert get_engine(settings(engine="openai")) is get_engine(settings(engine="openai"))
    assert get_engine(settings(engine="openai")) is not get_engine(settings(engine="openai", openai_model="x"))
    with pytest.raises(ConfigurationError, match="unknown ASR engine"):
        get_engine(settings(engine="nope"))


@pytest.mark.parametrize(
    ("module", "engine_name", "extra"),
    [("faster_whisper", "faster-whisper", "lexprep[asr]"), ("whisper", "openai-whisper", "lexprep[gpu]")],
)
def test_missing_engine_package_names_the_extra(monkeypatch, module, engine_name, extra):
    import sys

    from lexprep.asr import get_engine
    from lexprep.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    engine = get_engine(settings(engine=engine_name, model="/nonexistent/model.pt", device="cpu"))
    with pytest.raises(MissingDependencyError, match=re.escape(extra)):
        engine.transcribe(np.zeros(SAMPLE_RATE, dtype=np.float32))
