"""Sending a stage to its deployment (another work pool) and folding the result back in."""

from __future__ import annotations

from prefect.deployments import run_deployment

from lexprep import pipeline
from lexprep.errors import TransientError
from lexprep.models import ExtractedDocument, Page, Segment, SourceFile
from lexprep.settings import Settings

#: settings that travel to the stage flow (no secrets: those come from the worker's blocks or env)
_SHARED = ("ocr", "asr", "pdf", "limits")


def _overrides(settings: Settings) -> dict:
    data = settings.model_dump(include=set(_SHARED), mode="json")
    for section in ("ocr", "asr"):
        for key in [k for k in data.get(section, {}) if k.endswith("api_key")]:
            data[section].pop(key)
    return data


def _remote_readable(source: SourceFile) -> bool:
    """An attachment lives only inside its parent e-mail: a stage worker cannot read it by URI."""
    return "#" not in source.uri


def _run(name: str, source: SourceFile, settings: Settings) -> dict:
    flow_run = run_deployment(
        name=name,
        parameters={"source_uri": source.uri, "file_name": source.file_name, "profile": settings.profile,
                    "settings_overrides": _overrides(settings)},
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
