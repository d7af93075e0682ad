"""Per-document stage tasks and the task that composes them for one document."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import rate_limit
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

import threading

from lexprep import PIPELINE_VERSION, pipeline, progress
from lexprep.errors import InputError, TransientError
from lexprep.models import (
    CategoryResult,
    Chunk,
    CleanText,
    DocStatus,
    DocumentResult,
    ExtractedDocument,
    Mention,
    SourceFile,
)
from lexprep.report import document_state
from lexprep.settings import Settings
from lexprep.sources import SourceRef, describe, list_sources, read_bytes

from lexprep_prefect.tasks.common import STAGE_TASK_OPTIONS, as_state, get_store

log = logging.getLogger("lexprep.tasks")

#: (matter_id, sha256) of the documents being processed in this process right now: the same content
#: found twice in one run (a copy, an attachment sent twice) is processed once.
_in_flight: set[tuple[str, str]] = set()
_in_flight_lock = threading.Lock()


def _claim(matter_id: str, sha256: str) -> bool:
    with _in_flight_lock:
        if (matter_id, sha256) in _in_flight:
            return False
        _in_flight.add((matter_id, sha256))
        return True


def _release(matter_id: str, sha256: str) -> None:
    with _in_flight_lock:
        _in_flight.discard((matter_id, sha256))


@task(name="discover-sources", **STAGE_TASK_OPTIONS)
def discover_sources(location: str) -> list[SourceRef]:
    """Every file under ``location`` (fsspec)."""
    return list_sources(location)


@task(name="read-source", **STAGE_TASK_OPTIONS)
def read_source(ref: SourceRef) -> tuple[SourceFile, bytes]:
    """Read one file: its bytes and the SourceFile (sha256, sniffed kind)."""
    data = read_bytes(ref.uri)
    return describe(ref.uri, ref.file_name, data), data


@task(name="extract", task_run_name="extract {source.file_name}", **STAGE_TASK_OPTIONS)
def extract_task(source: SourceFile, data: bytes, settings: Settings) -> ExtractedDocument:
    return pipeline.extract_stage(source, data, settings)


@task(name="ocr", task_run_name="ocr {source.file_name}", **STAGE_TASK_OPTIONS)
def ocr_task(source: SourceFile, data: bytes, extracted: ExtractedDocument, settings: Settings) -> ExtractedDocument:
    """OCR the pages that need it: in this process's worker pool, or on the OCR stage deployment.

    With an API engine (mistral) the pages first take slots of the ``mistral-api`` rate limit
    (``make deploy`` creates it; absent, nothing waits).
    """
    if settings.ocr_engine() == "mistral":
        rate_limit("mistral-api", occupy=max(1, len(pipeline.needs_ocr_pages(extracted))), strict=False)
    if settings.deployments.ocr:
        from lexprep_prefect.tasks.stages import ocr_on_deployment

        return ocr_on_deployment(source, data, extracted, settings)
    return pipeline.ocr_stage(source, data, extracted, settings)


@task(name="transcribe", task_run_name="transcribe {source.file_name}", **STAGE_TASK_OPTIONS)
def transcribe_task(source: SourceFile, data: bytes, extracted: ExtractedDocument, settings: Settings) -> ExtractedDocument:
    """Transcribe a recording: in this process, or on the transcription stage deployment (the OpenAI
    engine first takes a slot of the ``openai-api`` rate limit)."""
    if settings.asr_engine() == "openai":
        rate_limit("openai-api", strict=False)
    if settings.deployments.transcribe:
        from lexprep_prefect.tasks.stages import transcribe_on_deployment

        return transcribe_on_deployment(source, data, extracted, settings)
    return pipeline.transcribe_stage(source, data, extracted, settings)


def _api_tags(engine: str) -> list[str]:
    """Tag-based concurrency limits for the API engines (``make deploy`` creates them)."""
    return [engine] if engine in ("mistral", "openai") else []


@task(name="clean", task_run_name="clean {source.file_name}", **STAGE_TASK_OPTIONS)
def clean_task(source: SourceFile, extracted: ExtractedDocument, settings: Settings) -> CleanText:
    return pipeline.clean_stage(extracted, settings)


@task(name="categorize", task_run_name="categorize {source.file_name}", **STAGE_TASK_OPTIONS)
def categorize_task(source: SourceFile, extracted: ExtractedDocument, clean: CleanText) -> CategoryResult:
    return pipeline.categorize_stage(source, extracted, clean)


@task(name="chunk", task_run_name="chunk {source.file_name}", **STAGE_TASK_OPTIONS)
def chunk_task(source: SourceFile, clean: CleanText, settings: Settings) -> list[Chunk]:
    return pipeline.chunk_stage(clean, settings)


@task(name="extract-mentions", task_run_name="mentions {source.file_name}", **STAGE_TASK_OPTIONS)
def mentions_task(source: SourceFile, clean: CleanText, chunks: list[Chunk], category: CategoryResult,
                  settings: Settings) -> list[Mention]:
    return pipeline.mentions_stage(clean, chunks, category, settings)


@task(name="store-document", task_run_name="store {source.file_name}", **STAGE_TASK_OPTIONS)
def store_task(source: SourceFile, document_id: str, result: DocumentResult, db: str, fingerprint: str) -> None:
    get_store(db).save_document(document_id, result, PIPELINE_VERSION, fingerprint)


@dataclass
class DocumentOutcome:
    """What the flow needs back from one document: counts, stage seconds and attachments.

    ``skipped`` is True when the store already held this document, done with the same pipeline
    version and settings; ``status`` is then its stored status.
    """

    document_id: str
    file_name: str
    sha256: str
    status: str
    error: str | None
    skipped: bool
    pages: int
    chunks: int
    mentions: int
    timings: dict[str, float]
    children: list[tuple[SourceFile, bytes]] = field(default_factory=list)


@task(name="process-document", task_run_name="document {file_name}", cache_policy=NO_CACHE, persist_result=False)
def process_document(
    file_name: str,
    ref: SourceRef | None,
    loaded: tuple[SourceFile, bytes] | None,
    parent_id: str | None,
    matter_id: str,
    matter: str,
    db: str,
    settings: Settings,
    retry_failed: bool = False,
) -> DocumentOutcome:
    """read -> extract -> clean -> categorize -> chunk -> mentions -> store, for one document.

    Give either ``ref`` (a file to read) or ``loaded`` (an attachment's SourceFile and bytes). The
    document is registered under (matter, sha256) and skipped when already done. Its status advances
    in the store at each stage. Bad input (InputError) and any error left after a stage's retries are
    recorded against the document and end this task run Failed (named Failed or Unsupported, the
    reason as its message) without raising, so one document never fails the matter: the flow reads
    the outcome with ``future.result(raise_on_failure=False)``. Skipped and duplicate documents end
    Completed named Skipped / Duplicate (see lexprep.report.document_state).
    """
    store = get_store(db)
    timings: dict[str, float] = {}
    try:
        with pipeline.timed(timings, "read"):
            source, data = loaded if loaded is not None else read_source(ref)
    except (InputError, TransientError) as exc:
        # the object vanished after listing, or its read outlived its retries: without its bytes there
        # is no sha256 (no document row), so it is reported in the run summary; a re-run reads it again
        error = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
        log.warning("cannot read %s: %s", ref.file_name, error)
        progress.emit("document", ref.file_name, DocStatus.failed.value, final=True)
        return _ended(DocumentOutcome("", ref.file_name, "", DocStatus.failed.value, error, False, 0, 0, 0, timings))
    if not _claim(matter_id, source.sha256):
        progress.emit("document", source.file_name, "duplicate", final=True)
        return _ended(DocumentOutcome("", source.file_name, source.sha256, "duplicate", None, True, 0, 0, 0, timings))
    try:
        return _ended(_process_claimed(source, data, parent_id, matter_id, matter, store, db, settings, retry_failed,
                                       timings))
    finally:
        _release(matter_id, source.sha256)


def _ended(outcome: DocumentOutcome):
    """The task's final state for ``outcome`` (its data is the outcome)."""
    return as_state(document_state(outcome.status, outcome.error, outcome.skipped), outcome)


#: a status update waits out a short database outage (lock, restart) before the document fails
_status_retry = retry(retry=retry_if_exception_type(TransientError), wait=wait_random_exponential(multiplier=0.5, max=8),
                      stop=stop_after_attempt(5), reraise=True)


def _process_claimed(source, data, parent_id, matter_id, matter, store, db, settings, retry_failed, timings):
    set_status = _status_retry(store.set_status)

    def advance(document_id: str, status: DocStatus) -> None:
        set_status(document_id, status.value)
        progress.emit("document", source.file_name, status.value)

    info = store.get_document(matter_id, source.sha256)
    document_id = store.register_document(matter_id, matter, source, parent_id)
    if not pipeline.needs_processing(info, settings, retry_failed) and not store.has_unfinished_children(document_id):
        progress.emit("document", source.file_name, info.status, final=True)
        return DocumentOutcome(document_id, source.file_name, source.sha256, info.status, None, True, 0, 0, 0, timings)
    children: list[tuple[SourceFile, bytes]] = []
    missing: str | None = None
    try:
        advance(document_id, DocStatus.extracting)
        with pipeline.timed(timings, "extract"):
            extracted = extract_task(source, data, settings)
        children = pipeline.attachment_sources(source, extracted)
        for child, _ in children:  # registered before the parent is done: a crash cannot lose them
            store.register_document(matter_id, matter, child, document_id)
        if pipeline.needs_ocr_pages(extracted):
            advance(document_id, DocStatus.ocr)
            with pipeline.timed(timings, "ocr"):
                ocr = ocr_task.with_options(tags=_api_tags(settings.ocr_engine()))
                extracted, missing = pipeline.needs_engine(lambda: ocr(source, data, extracted, settings), extracted)
        if extracted.kind == "audio":
            advance(document_id, DocStatus.transcribing)
            with pipeline.timed(timings, "transcribe"):
                transcribe = transcribe_task.with_options(tags=_api_tags(settings.asr_engine()))
                extracted, missing = pipeline.needs_engine(
                    lambda: transcribe(source, data, extracted, settings), extracted)
        advance(document_id, DocStatus.cleaning)
        with pipeline.timed(timings, "clean"):
            clean = clean_task(source, extracted, settings)
        with pipeline.timed(timings, "categorize"):
            category = categorize_task(source, extracted, clean)
        advance(document_id, DocStatus.chunking)
        with pipeline.timed(timings, "chunk"):
            chunks = chunk_task(source, clean, settings)
        advance(document_id, DocStatus.extracting_mentions)
        with pipeline.timed(timings, "mentions"):
            mentions = mentions_task(source, clean, chunks, category, settings)
        result = pipeline.document_result(source, extracted, clean, category, chunks, mentions, settings, timings,
                                          missing)
    except InputError as exc:
        result = pipeline.failure(source, exc, timings)
    except Exception as exc:  # a bug, or a transient error that outlived its retries: recorded, not raised
        log.warning("document %s failed: %s: %s", source.file_name, type(exc).__name__, exc)
        result = pipeline.failure(source, exc, timings)
    advance(document_id, DocStatus.storing)
    with pipeline.timed(timings, "store"):
        store_task(source, document_id, result, db, settings.fingerprint())
    progress.emit("document", source.file_name, result.status, final=True)
    return DocumentOutcome(
        document_id=document_id,
        file_name=source.file_name,
        sha256=source.sha256,
        status=result.status,
        error=result.error,
        skipped=False,
        pages=len(result.extracted.pages) if result.extracted else 0,
        chunks=len(result.chunks),
        mentions=len(result.mentions),
        timings=timings,
        children=children,
    )
