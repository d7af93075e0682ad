"""Speech transcription: speed and accuracy of the local default on ../shared/corpus/audio.

For each recording (jfk.flac, stereo_diarization.wav, mixture.wav) it prints the duration, the wall time
of decoding plus transcription (model already loaded; the load is reported once), the real-time factor
RTF = elapsed / recording duration (goal <= 0.10 on 2 CPU cores with tiny.en), and accuracy:

- jfk.flac: WER against eval/asr/references.json;
- stereo_diarization.wav: WER of each channel's speaker against its channel's reference;
- mixture.wav (4 overlapping speakers, no time-aligned reference): bag-of-words recall, the share of the
  speakers' reference words (mixture_text/*) found in the transcript, counted as a multiset.

Text is normalised before scoring (lower case, punctuation dropped, apostrophes kept inside words).
Needs the ``test`` extra (jiwer). Usage::

    python bench/bench_asr.py [--repeat 3] [--beam-size 1] [--cpu-threads 2] [--vad] [--sweep]

``--sweep`` times every beam size in (1, 2, 5) x cpu_threads in (1, 2) x VAD off/on.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LEXPREP_SHARED_DIR", REPO.parent / "shared"))
FILES = ("jfk.flac", "stereo_diarization.wav", "mixture.wav")


def normalize(text: str) -> str:
    """Lower case, no punctuation (apostrophes inside words kept), single spaces."""
    text = text.lower().replace("_", "").replace("-", " ")
    text = re.sub(r"[^\w\s']", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return " ".join(text.split())


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` after :func:`normalize` (0.0 = perfect)."""
    import jiwer

    return float(jiwer.wer(normalize(reference), normalize(hypothesis)))


def bag_recall(reference: str, hypothesis: str) -> float:
    """Share of the reference's words (a multiset) present in the hypothesis."""
    ref = collections.Counter(normalize(reference).split())
    hyp = collections.Counter(normalize(hypothesis).split())
    total = sum(ref.values())
    return sum(min(c, hyp[w]) for w, c in ref.items()) / total if total else 1.0


def references() -> dict:
    return json.loads((SHARED / "eval" / "asr" / "references.json").read_text())


def score(name: str, transcript, refs: dict) -> str:
    if name == "jfk.flac":
        return f"WER {wer(refs[name]['text'], transcript.text):.1%}"
    if name == "stereo_diarization.wav":
        parts = []
        for side, speaker in (("left", "channel_1"), ("right", "channel_2")):
            text = " ".join(s.text for s in transcript.segments if s.speaker == speaker)
            parts.append(f"{side} WER {wer(refs[name]['channels'][side], text):.1%}")
        return ", ".join(parts) + f" ({len({s.speaker for s in transcript.segments})} speakers)"
    if name == "mixture.wav":
        ref = " ".join(p.read_text() for p in sorted((SHARED / "eval" / "asr" / "mixture_text").glob("*.txt")))
        return f"word recall {bag_recall(ref, transcript.text):.1%} ({len(transcript.segments)} segments)"
    return ""


def run(beam_size: int, cpu_threads: int, vad: bool, repeat: int, quiet: bool = False) -> dict[str, float]:
    """Transcribe every file ``repeat`` times with fresh settings; returns the median RTF per file."""
    from lexprep.asr import get_engine, transcribe_recording
    from lexprep.settings import AsrSettings, Settings

    settings = Settings(asr=AsrSettings(beam_size=beam_size, cpu_threads=cpu_threads, vad_filter=vad))
    engine = get_engine(settings)
    t = time.perf_counter()
    engine._load()  # noqa: SLF001 - the load is reported on its own, not in the per-file times
    load_s = time.perf_counter() - t
    refs = references()
    if not quiet:
        print(
            f"engine {engine.name} model {engine.model} beam_size={beam_size} cpu_threads={cpu_threads} "
            f"vad={vad} (model load {load_s:.2f} s)"
        )
    rtfs = {}
    for name in FILES:
        data = (SHARED / "corpus" / "audio" / name).read_bytes()
        elapsed = []
        transcript = None
        for _ in range(repeat):
            transcript = transcribe_recording(data, name, settings)
            elapsed.append(transcript.elapsed_s)
        med = statistics.median(elapsed)
        rtfs[name] = med / transcript.duration_s
        print(
            f"  {name:24s} {transcript.duration_s:6.1f} s  elapsed {med:5.2f} s  RTF {rtfs[name]:.3f}  "
            f"channels {transcript.channels}{' split' if transcript.split_channels else ''}  "
            f"{score(name, transcript, refs)}"
        )
    return rtfs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per file (the median is shown)")
    parser.add_argument("--beam-size", type=int, default=None, help="default: AsrSettings().beam_size")
    parser.add_argument("--cpu-threads", type=int, default=None, help="default: AsrSettings().cpu_threads")
    parser.add_argument("--vad", action="store_true", help="faster-whisper's Silero VAD filter on")
    parser.add_argument("--sweep", action="store_true", help="time beam sizes x threads x VAD")
    args = parser.parse_args(argv)
    if not (SHARED / "corpus" / "audio").is_dir():
        print(f"shared corpus not found at {SHARED} (set LEXPREP_SHARED_DIR)", file=sys.stderr)
        return 2
    from lexprep.settings import AsrSettings

    defaults = AsrSettings()
    if args.sweep:
        for vad in (False, True):
            for threads in (1, 2):
                for beam in (1, 2, 5):
                    run(beam, threads, vad, args.repeat)
        return 0
    beam = args.beam_size if args.beam_size is not None else defaults.beam_size
    threads = args.cpu_threads if args.cpu_threads is not None else defaults.cpu_threads
    run(beam, threads, args.vad or defaults.vad_filter, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
