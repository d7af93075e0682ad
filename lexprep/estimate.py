"""What a run will cost before it runs: pages that need OCR per engine, audio seconds, and USD.

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


def estimate(location: str, settings: Settings) -> Estimate:
    """Count and price the work under ``location`` without running any engine.

    Raises:
        ConfigurationError: the location cannot be listed.
    """
    from lexprep.pipeline import check_size, extract_stage

    est = Estimate()
    engine = settings.ocr_engine()
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
        need = sum(1 for p in extracted.pages if p.method == PageMethod.needs_ocr.value)
        if need:
            est.ocr_pages[engine] = est.ocr_pages.get(engine, 0) + need
        pending.extend((SourceRef(f"{ref.uri}#{a.file_name}", a.file_name, len(a.data)), a.data, source.depth + 1)
                       for a in extracted.attachments)
    asr = settings.asr_engine()
    est.estimated_cost_usd = round(
        sum(n * settings.costs.ocr_per_page.get(e, 0.0) for e, n in est.ocr_pages.items())
        + est.audio_seconds / 60.0 * settings.costs.asr_per_minute.get(asr, 0.0),
        4,
    )
    est.audio_seconds = round(est.audio_seconds, 2)
    return est
