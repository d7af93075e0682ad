"""Stage flows that a GPU work pool runs: OCR of a document's pages, transcription of a recording, and
entity extraction from a document's cleaned text (the transformers NER backend on the GPU).

``process_matter`` sends a stage here with ``run_deployment`` when ``settings.deployments.ocr`` /
``.transcribe`` / ``.entities`` name a deployment (prefect.yaml: ``ocr-document/gpu``,
``transcribe-recording/gpu``, ``extract-entities/gpu``); otherwise it runs the same core functions in its
own process. OCR and transcription read the file by its URI; entity extraction gets the cleaned text as
a parameter (it exists only after extraction, OCR and cleaning on the calling side). Results are persisted to the storage
block named by LEXPREP_RESULT_STORAGE on the worker, which the calling run reads: a stage run from a
deployment without it fails at once (its result would stay on the GPU machine's disk).
"""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow

from lexprep import pipeline
from lexprep.errors import ConfigurationError
from lexprep.settings import Profile
from lexprep.sources import describe, read_bytes
from lexprep_prefect.tasks.common import RESULT_STORAGE, load_settings


def _require_shared_results() -> None:
    """A stage run from a deployment hands its result to a run on another machine: it needs shared storage."""
    from prefect.runtime import deployment

    if RESULT_STORAGE is None and deployment.id is not None:
        raise ConfigurationError(
            "LEXPREP_RESULT_STORAGE is not set on this worker: the calling run could not read this stage's "
            "result. Set it to a storage block both machines reach (e.g. s3-bucket/lexprep-results)")


def _load(source_uri: str, file_name: str | None):
    data = read_bytes(source_uri)
    return describe(source_uri, file_name or source_uri.rsplit("/", 1)[-1], data), data


@flow(name="ocr-document", persist_result=True, result_storage=RESULT_STORAGE, validate_parameters=False)
def ocr_document(source_uri: str, file_name: str | None = None, profile: Profile = "gpu",
                 settings_overrides: dict | None = None) -> dict:
    """OCR the pages of ``source_uri`` (a PDF or image) that have no usable text layer.

    Returns:
        ``{"pages": [Page as dict, ...], "meta": {"ocr_pages": {engine: n}}}``.
    """
    _require_shared_results()
    settings = load_settings(profile, settings_overrides)
    source, data = _load(source_uri, file_name)
    extracted = pipeline.ocr_stage(source, data, pipeline.extract_stage(source, data, settings), settings)
    return {"pages": [asdict(p) for p in extracted.pages], "meta": {"ocr_pages": extracted.meta.get("ocr_pages", {})}}


@flow(name="transcribe-recording", persist_result=True, result_storage=RESULT_STORAGE, validate_parameters=False)
def transcribe_recording(source_uri: str, file_name: str | None = None, profile: Profile = "gpu",
                         settings_overrides: dict | None = None) -> dict:
    """Transcribe the recording at ``source_uri``.

    Returns:
        ``{"segments": [Segment as dict, ...], "meta": {engine, model, language, duration_s, ...}}``.
    """
    _require_shared_results()
    settings = load_settings(profile, settings_overrides)
    source, data = _load(source_uri, file_name)
    extracted = pipeline.transcribe_stage(source, data, pipeline.extract_stage(source, data, settings), settings)
    return {"segments": [asdict(s) for s in extracted.segments], "meta": extracted.meta}


@flow(name="extract-entities", persist_result=True, result_storage=RESULT_STORAGE, validate_parameters=False)
def extract_entities(text: str, category: str | None = None, boundaries: list[int] | None = None,
                     profile: Profile = "gpu", settings_overrides: dict | None = None) -> dict:
    """Entity mentions of one document's cleaned ``text`` (lexprep.pipeline.find_mentions: the profile's NER
    backend, transformers on the gpu profile, with eyecite and the legal rules on top), in this worker's
    MentionPool (the model is loaded once per worker process and kept between runs).

    Returns:
        ``{"mentions": [Mention as dict (not yet placed in chunks), ...], "meta": {api_tokens_in, ...}}``.
    """
    _require_shared_results()
    settings = load_settings(profile, settings_overrides)
    meta: dict = {}
    mentions = pipeline.find_mentions(text, category, list(boundaries or []), settings, meta)
    return {"mentions": [asdict(m) for m in mentions], "meta": meta}
