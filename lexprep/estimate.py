"""What a run will cost before it runs: pages that need OCR per engine, audio seconds, the LLM fact
extractor's tokens (when ``facts_kind() == "llm"``), and USD.

Cheap passes only: PDFs and images are extracted (text layers, no OCR) to count the pages that need
OCR; recordings are probed for their duration with PyAV (container metadata, no decoding). E-mail
attachments are counted through their parent's extraction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lexprep.errors import LexprepError
from lexprep.models import PageMethod
from lexprep.settings import Settings
from lexprep.sources import SourceRef, describe, list_sources, load


@dataclass
class Estimate:
    """Expected work and cost of processing a source (USD from ``settings.costs``)."""

    files: int = 0
    pages: int = 0
    ocr_pages: dict[str, int] = field(default_factory=dict)
    audio_seconds: float = 0.0
    #: the LLM fact extractor (``facts.kind=llm``): calls (windows) and tokens, estimated from the text
    #: layers' characters (about 4 characters a token; pages still to OCR are not counted)
    llm_calls: int = 0
    llm_tokens_in: int = 0
    llm_tokens_out: int = 0
    estimated_cost_usd: float = 0.0
    unreadable: list[str] = field(default_factory=list)


def audio_duration_s(data: bytes) -> float:
    """Duration in seconds from the container's metadata (PyAV); 0.0 when unknown."""
    import io

    try:
        import av
    except ImportError:  # pragma: no cover - av comes with faster-whisper (lexprep[asr])
        return 0.0
    try:
        with av.open(io.BytesIO(data)) as container:
            if container.duration:
                return container.duration / 1_000_000
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is not None and stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
    except Exception:
        return 0.0
    return 0.0


#: tokens of the LLM extractor's instructions and schema sent with every window (2,547 characters of prompt and
#: schema at about 4 characters a token, plus the messages' framing)
LLM_PROMPT_TOKENS = 700
#: tokens a window's answer takes, on average (a guess: a dozen facts with short evidence)
LLM_ANSWER_TOKENS = 400


def llm_tokens(chars: int, settings: Settings) -> tuple[int, int, int]:
    """``(calls, tokens in, tokens out)`` of the LLM fact extractor on a text of ``chars`` characters:
    its windows (``facts.llm_window_chars``, overlap, at most ``facts.llm_max_windows``), about 4
    characters a token plus :data:`LLM_PROMPT_TOKENS` per call in, :data:`LLM_ANSWER_TOKENS` out."""
    if chars <= 0:
        return 0, 0, 0
    fs = settings.facts
    step = max(fs.llm_window_chars - fs.llm_window_overlap_chars, 1)
    calls = min(fs.llm_max_windows, 1 + max(chars - fs.llm_window_chars + step - 1, 0) // step)
    read = min(chars, fs.llm_window_chars + (calls - 1) * step) + (calls - 1) * fs.llm_window_overlap_chars
    return calls, read // 4 + calls * LLM_PROMPT_TOKENS, calls * LLM_ANSWER_TOKENS


def llm_usd(tokens_in: int, tokens_out: int, model: str | None, settings: Settings) -> float:
    """USD of LLM tokens at ``costs.llm_per_million_tokens[model]`` (0 for an unpriced model or None)."""
    prices = settings.costs.llm_per_million_tokens.get(model) if model else None
    return (tokens_in * prices[0] + tokens_out * prices[1]) / 1_000_000 if prices else 0.0


def estimate(location: str, settings: Settings) -> Estimate:
    """Count and price the work under ``location`` without running any engine.

    Raises:
        ConfigurationError: the location cannot be listed.
    """
    from lexprep.pipeline import check_size, extract_stage

    est = Estimate()
    engine = settings.ocr_engine()
    llm = settings.facts.llm_model if settings.facts_kind() == "llm" else None
    refs = list_sources(location, follow_external_symlinks=settings.limits.follow_external_symlinks)
    pending: list[tuple[SourceRef, bytes | None, int]] = [(ref, None, 0) for ref in refs]
    while pending:
        ref, data, depth = pending.pop()
        est.files += 1
        if ref.status is not None:
            est.unreadable.append(f"{ref.file_name}: {ref.reason}")
            continue
        try:
            if data is None:
                source, data = load(ref, int(settings.limits.max_file_bytes))
                if data is None:
                    check_size(source.size, settings.limits)
            else:
                source = describe(ref.uri, ref.file_name, data, depth=depth)
            if source.kind == "audio":
                est.audio_seconds += audio_duration_s(data)
                continue
            extracted = extract_stage(source, data, settings)
        except (LexprepError, OSError) as exc:
            est.unreadable.append(f"{ref.file_name}: {exc}")
            continue
        est.pages += len(extracted.pages)
        if llm is not None:
            calls, tokens_in, tokens_out = llm_tokens(sum(len(p.text or "") for p in extracted.pages), settings)
            est.llm_calls += calls
            est.llm_tokens_in += tokens_in
            est.llm_tokens_out += tokens_out
        need = sum(1 for p in extracted.pages if p.method == PageMethod.needs_ocr.value)
        if need:
            est.ocr_pages[engine] = est.ocr_pages.get(engine, 0) + need
        pending.extend((SourceRef(f"{ref.uri}#{a.file_name}", a.file_name, len(a.data)), a.data, source.depth + 1)
                       for a in extracted.attachments)
    asr = settings.asr_engine()
    est.estimated_cost_usd = round(
        sum(n * settings.costs.ocr_per_page.get(e, 0.0) for e, n in est.ocr_pages.items())
        + est.audio_seconds / 60.0 * settings.costs.asr_per_minute.get(asr, 0.0)
        + llm_usd(est.llm_tokens_in, est.llm_tokens_out, llm, settings),
        4,
    )
    est.audio_seconds = round(est.audio_seconds, 2)
    return est
