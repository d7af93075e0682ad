"""Sending a stage to its deployment (another work pool) and folding the result back in."""

from __future__ import annotations

from prefect.deployments import run_deployment

from lexprep import pipeline
from lexprep.errors import TransientError
from lexprep.models import CategoryResult, Chunk, CleanText, ExtractedDocument, Mention, Page, Segment, SourceFile
from lexprep.settings import Settings

#: settings that travel to the stage flow (no secrets: those come from the worker's blocks or env)
_SHARED = ("ocr", "asr", "pdf", "limits", "ner", "llm")


def _overrides(settings: Settings) -> dict:
    data = settings.model_dump(include=set(_SHARED), mode="json")
    for section in ("ocr", "asr", "llm"):
        for key in [k for k in data.get(section, {}) if k.endswith("api_key")]:
            data[section].pop(key)
    data.get("ner", {}).pop("llm", None)  # the endpoint travels as the llm section, without its key
    return data


def _remote_readable(source: SourceFile) -> bool:
    """An attachment lives only inside its parent e-mail: a stage worker cannot read it by URI."""
    return "#" not in source.uri


def _run(name: str, source: SourceFile | None, settings: Settings, **parameters) -> dict:
    if source is not None:
        parameters.update(source_uri=source.uri, file_name=source.file_name)
    flow_run = run_deployment(
        name=name,
        parameters={**parameters, "profile": settings.profile, "settings_overrides": _overrides(settings)},
        timeout=settings.deployments.timeout_s,
    )
    state = flow_run.state
    if state is None or not state.is_completed():
        raise TransientError(f"stage deployment {name} ended {state.name if state else 'without a state'}")
    return state.result()


def ocr_on_deployment(source: SourceFile, data: bytes, extracted: ExtractedDocument,
                      settings: Settings) -> ExtractedDocument:
    """OCR on ``settings.deployments.ocr`` and wait; an attachment (no URI a worker can read) is
    OCRed in this process instead."""
    if not _remote_readable(source):
        return pipeline.ocr_stage(source, data, extracted, settings)
    result = _run(settings.deployments.ocr, source, settings)
    extracted.pages = [Page(**p) for p in result["pages"]]
    extracted.meta.update(result.get("meta", {}))
    return extracted


def transcribe_on_deployment(source: SourceFile, data: bytes, extracted: ExtractedDocument,
                             settings: Settings) -> ExtractedDocument:
    """Transcription on ``settings.deployments.transcribe`` and wait; attachments run here."""
    if not _remote_readable(source):
        return pipeline.transcribe_stage(source, data, extracted, settings)
    result = _run(settings.deployments.transcribe, source, settings)
    extracted.segments = [Segment(**s) for s in result["segments"]]
    extracted.meta.update(result.get("meta", {}))
    extracted.meta.pop("needs_transcription", None)
    return extracted


def mentions_on_deployment(clean: CleanText, chunks: list[Chunk], category: CategoryResult | None,
                           settings: Settings, meta: dict | None = None) -> list[Mention]:
    """Entity extraction on ``settings.deployments.entities`` (the cleaned text travels as a parameter) and
    wait; the mentions are placed in this side's chunks, the stage's LLM usage (if any) added to ``meta``
    (lexprep.pipeline.mentions_stage with the deployment as its finder)."""
    return pipeline.mentions_stage(clean, chunks, category, settings, meta, find=_find_on_deployment)


def _find_on_deployment(text: str, category: str | None, boundaries: list[int], settings: Settings,
                        meta: dict | None) -> list[Mention]:
    result = _run(settings.deployments.entities, None, settings, text=text, category=category, boundaries=boundaries)
    mentions = []
    for d in result["mentions"]:
        d = dict(d)
        if d.get("link") is not None:
            d["link"] = tuple(d["link"])
        mentions.append(Mention(**d))
    if meta is not None:
        for key, value in (result.get("meta") or {}).items():
            if key == "left_out":
                meta.setdefault("left_out", []).extend(value)
            elif isinstance(value, (int, float)):
                meta[key] = (meta.get(key) or 0) + value
    return mentions
