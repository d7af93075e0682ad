"""Per-document stage tasks and the task that composes them for one document."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import rate_limit
from prefect.utilities.annotations import quote

from lexprep import PIPELINE_VERSION, pipeline, progress, retrying
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
from lexprep.sandbox import check_stopping
from lexprep.settings import Settings
from lexprep.sources import ObjectNotFoundError, SourceRef, list_sources, load
from lexprep.sources._errors import first_line
from lexprep.store.outage import outage_wait

from lexprep_prefect.tasks.common import STAGE_TASK_OPTIONS, as_state, get_store

log = logging.getLogger("lexprep.tasks")

#: (matter_id, sha256) of the documents being processed in this process right now: the same content
#: found twice in one run (a copy, an attachment sent twice) is processed once. On a Dask cluster the claim
#: is a lock the whole cluster shares (lexprep_prefect.cluster.ClusterClaims).
_in_flight: set[tuple[str, str]] = set()
_in_flight_lock = threading.Lock()
_cluster_claims = None


def _claims():
    """The cluster's claims when this runs in a Dask worker, else None (this process's set)."""
    global _cluster_claims
    from lexprep_prefect.cluster import ClusterClaims, in_dask_worker

    if not in_dask_worker():
        return None
    with _in_flight_lock:
        if _cluster_claims is None:
            _cluster_claims = ClusterClaims()
        return _cluster_claims


def _claim(matter_id: str, sha256: str) -> bool:
    claims = _claims()
    if claims is not None:
        return claims.claim(matter_id, sha256)
    with _in_flight_lock:
        if (matter_id, sha256) in _in_flight:
            return False
        _in_flight.add((matter_id, sha256))
        return True


def _release(matter_id: str, sha256: str) -> None:
    claims = _claims()
    if claims is not None:
        claims.release(matter_id, sha256)
        return
    with _in_flight_lock:
        _in_flight.discard((matter_id, sha256))


@task(name="discover-sources", **STAGE_TASK_OPTIONS)
def discover_sources(location: str, follow_external_symlinks: bool = False) -> list[SourceRef]:
    """Every file under ``location`` (fsspec); paths that are not read come back with a status and reason."""
    return list_sources(location, follow_external_symlinks=follow_external_symlinks)


def read_source(ref: SourceRef, max_bytes: int | None = None) -> tuple[SourceFile, bytes | None]:
    """Read one file: its bytes and the SourceFile (sha256, sniffed kind); None for the bytes of a file
    over ``max_bytes`` (hashed and sniffed as a stream). A passing failure is retried (lexprep.retrying)."""
    return retrying.call(load, ref, max_bytes, what=f"reading {ref.file_name}")


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


#: OCR and transcription engines that are remote APIs (their stage is a task run with a concurrency tag)
API_ENGINES = ("mistral", "openai")


def _api_tags(engine: str) -> list[str]:
    """Tag-based concurrency limits for the API engines (``make deploy`` creates them)."""
    return [engine] if engine in API_ENGINES else []


@task(name="extract-mentions", task_run_name="mentions {source.file_name}", **STAGE_TASK_OPTIONS)
def mentions_task(source: SourceFile, clean: CleanText, chunks: list[Chunk], category: CategoryResult,
                  settings: Settings, meta: dict | None = None) -> list[Mention]:
    """Entity mentions: in this process's NER pool, or on the extract-entities stage deployment. The llm
    backend first takes its requests' slots of the ``openai-api`` rate limit; its usage goes into ``meta``
    (the document's cost ledger)."""
    if settings.ner_backend() == "llm" and clean.text.strip():
        from lexprep.ner.llm_ner import requests_for

        rate_limit("openai-api", occupy=requests_for(len(clean.text), settings.ner), strict=False)
    if settings.deployments.entities:
        from lexprep_prefect.tasks.stages import mentions_on_deployment

        return mentions_on_deployment(clean, chunks, category, settings, meta)
    return pipeline.mentions_stage(clean, chunks, category, settings, meta)


def facts_stage(clean: CleanText, chunks: list[Chunk], category: CategoryResult, extracted: ExtractedDocument,
                mentions: list[Mention], settings: Settings):
    """The document's facts (lexprep.pipeline.facts_stage: ``mentions`` gets the extractor's additions and
    ``extracted.meta`` the counts and the LLM's tokens, in place); each call of the LLM extractor first takes
    a slot of the ``openai-api`` rate limit. The LLM's passing failures are retried by its client."""
    return pipeline.facts_stage(clean, chunks, category, extracted, mentions, settings,
                                before_call=lambda: rate_limit("openai-api", strict=False)).facts


def store_document(source: SourceFile, document_id: str, result: DocumentResult, db: str, fingerprint: str,
                   outage_wait_s: float = 0.0) -> None:
    """Save the document's result, waiting out a database outage of up to ``outage_wait_s`` seconds (then
    retried as a passing failure, lexprep.retrying)."""
    retrying.call(outage_wait(db).call, get_store(db).save_document, document_id, result, PIPELINE_VERSION,
                  fingerprint, budget_s=outage_wait_s, what=f"storing {source.file_name}")


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
    parent_id: str | None = None


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
    """read -> extract -> (OCR | transcription) -> clean -> categorize -> chunk -> mentions -> facts -> store, for
    one document, in one task run: OCR, transcription and mentions are task runs of their own when they leave
    this process (a stage deployment, an API engine); every other stage is a plain call retried on a passing
    failure (lexprep.retrying).

    Give either ``ref`` (a file to read) or ``loaded`` (an attachment's SourceFile and bytes). The
    document is registered under (matter, sha256) and skipped when already done. Its status advances
    in the store at each stage. Bad input (InputError) and any error left after a stage's retries are
    recorded against the document and end this task run Failed (named Failed or Unsupported, the
    reason as its message) without raising, so one document never fails the matter: the flow reads
    the outcome with ``future.result(raise_on_failure=False)``. Skipped and duplicate documents end
    Completed named Skipped / Duplicate (see lexprep.report.document_state).
    """
    check_stopping()  # the run is being stopped: documents not begun stay as they are
    store = get_store(db)
    timings: dict[str, float] = {}
    if ref is not None and ref.status is not None:  # found but not read: a special file, a link out of the source
        return _ended(_record_unread(ref, ref.status, ref.reason or ref.status, matter_id, matter, store, db,
                                     settings, timings))
    try:
        with pipeline.timed(timings, "read"):
            source, data = loaded if loaded is not None else read_source(ref, int(settings.limits.max_file_bytes))
    except (InputError, TransientError) as exc:
        # the file cannot be read (permissions, a path the OS refuses) or its read outlived its retries:
        # without its bytes there is no sha256, so it is recorded under its path; a re-run reads it again.
        # One that vanished since it was listed is only reported: there is nothing left to account for
        error = first_line(exc, 500)
        if isinstance(exc, TransientError):
            error = f"{pipeline.TEMPORARY_FAILURE}{error}"
        log.warning("cannot read %s: %s", ref.file_name, error)
        if isinstance(exc, ObjectNotFoundError):
            progress.emit("document", ref.file_name, DocStatus.failed.value, final=True)
            return _ended(DocumentOutcome("", ref.file_name, "", DocStatus.failed.value, error, False, 0, 0, 0,
                                          timings))
        return _ended(_record_unread(ref, getattr(exc, "status", DocStatus.failed.value), error, matter_id, matter,
                                     store, db, settings, timings))
    if ref is not None:
        outage_wait(db).call(_forget_unread, ref, matter_id, store, budget_s=settings.db_outage_wait_s)
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



def _record_unread(ref: SourceRef, status: str, reason: str, matter_id: str, matter: str, store, db: str,
                   settings: Settings, timings: dict[str, float]) -> DocumentOutcome:
    """A path that was found but not read: a document row under its path (:func:`pipeline.unread_result`)."""
    result = pipeline.unread_result(ref, status, reason)
    source = result.source
    wait = outage_wait(db)
    budget = settings.db_outage_wait_s
    info = wait.call(store.get_document, matter_id, source.sha256, budget_s=budget)
    document_id = wait.call(store.register_document, matter_id, matter, source, None, budget_s=budget)
    unchanged = (info is not None and info.status == result.status and info.error == result.error
                 and info.pipeline_version == PIPELINE_VERSION)
    if not unchanged:
        store_document(source, document_id, result, db, settings.fingerprint(), budget)
    progress.emit("document", source.file_name, result.status, final=True)
    return DocumentOutcome(document_id, source.file_name, source.sha256, result.status, result.error, unchanged,
                           0, 0, 0, timings)


def _forget_unread(ref: SourceRef, matter_id: str, store) -> None:
    """The path was recorded unread by an earlier run and reads now: its path row goes."""
    from lexprep.sources import path_key

    info = store.get_document(matter_id, path_key(ref.uri))
    if info is not None:
        store.delete_document(info.id)


def _process_claimed(source, data, parent_id, matter_id, matter, store, db, settings, retry_failed, timings):
    # store calls wait out a database outage (a restart, a failover) of up to settings.db_outage_wait_s
    wait, budget = outage_wait(db), settings.db_outage_wait_s

    def advance(document_id: str, status: DocStatus) -> None:
        check_stopping()  # a stopped run writes nothing more (the documents it was on are marked)
        wait.call(store.set_status, document_id, status.value, budget_s=budget)
        progress.emit("document", source.file_name, status.value)

    info = wait.call(store.get_document, matter_id, source.sha256, budget_s=budget)
    document_id = wait.call(store.register_document, matter_id, matter, source, parent_id, budget_s=budget)
    if not pipeline.needs_processing(info, settings, retry_failed) and not wait.call(
            store.has_unfinished_children, document_id, budget_s=budget):
        progress.emit("document", source.file_name, info.status, final=True)
        return DocumentOutcome(document_id, source.file_name, source.sha256, info.status, None, True, 0, 0, 0, timings)
    children: list[tuple[SourceFile, bytes]] = []

    def register_children(extracted: ExtractedDocument) -> None:
        children.extend(pipeline.attachment_sources(source, extracted))
        for child, _ in children:  # registered before the parent is done: a crash cannot lose them
            wait.call(store.register_document, matter_id, matter, child, document_id, budget_s=budget)

    def failed(exc: BaseException) -> None:
        check_stopping()  # the run is being stopped (its workers were ended): nothing is recorded
        if not isinstance(exc, InputError):  # a bug, or a transient error that outlived its retries: recorded
            log.warning("document %s failed: %s: %s", source.file_name, type(exc).__name__, exc)

    # A stage that leaves this process (a stage deployment on another work pool, an API engine with its
    # concurrency tags and rate limits) is a task run of its own; the others are plain calls with the same
    # retry policy (lexprep.retrying): a task run costs the flow and the Prefect server more CPU than
    # cleaning, chunking or finding the entities of a small document. A document's text, chunks and mentions
    # pass through quote(): Prefect would otherwise walk every element of them, twice per task call
    stages = pipeline.Stages(facts=facts_stage).retried(source.file_name)
    if settings.deployments.ocr or settings.ocr_engine() in API_ENGINES:
        ocr = ocr_task.with_options(tags=_api_tags(settings.ocr_engine()))
        stages = replace(stages, ocr=lambda source, data, extracted, settings: ocr(
            source, data, quote(extracted), settings))
    if settings.deployments.transcribe or settings.asr_engine() in API_ENGINES:
        transcribe = transcribe_task.with_options(tags=_api_tags(settings.asr_engine()))
        stages = replace(stages, transcribe=lambda source, data, extracted, settings: transcribe(
            source, data, quote(extracted), settings))
    if settings.deployments.entities or settings.ner_backend() == "llm":
        stages = replace(stages, mentions=lambda clean, chunks, category, settings, meta: mentions_task(
            source, quote(clean), quote(chunks), category, settings, meta))
    result = pipeline.run_document(source, data, settings, stages=stages, timings=timings,
                                   on_status=lambda status: advance(document_id, status),
                                   on_extracted=register_children, catch=Exception, on_failure=failed)
    check_stopping()
    advance(document_id, DocStatus.storing)
    with pipeline.timed(timings, "store"):
        store_document(source, document_id, result, db, settings.fingerprint(), budget)
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
        parent_id=parent_id,
    )


def unseen_children(outcome: DocumentOutcome, seen: set[str]) -> list[tuple[SourceFile, bytes]]:
    """The attachments of ``outcome`` not yet in ``seen`` (keys ``document_id/sha256``, added here): the same
    attachment found twice under one parent is processed once."""
    out = []
    for child, data in outcome.children:
        key = f"{outcome.document_id}/{child.sha256}"
        if key not in seen:
            seen.add(key)
            out.append((child, data))
    return out


@task(name="process-documents", task_run_name="documents {first} (+{more})", cache_policy=NO_CACHE,
      persist_result=False)
def process_documents(refs: list[SourceRef], first: str, more: int, matter_id: str, matter: str, db: str,
                      settings: Settings, retry_failed: bool = False) -> list[DocumentOutcome]:
    """A batch of documents on a cluster worker (lexprep_prefect.cluster): each a ``process-document`` task
    run of its own, as in the flow's threads, then its attachments, depth first, in this same task (their
    bytes never leave this worker).

    Returns:
        Every outcome (attachments' included), without attachment bytes (``children`` empty), in the order
        processed. ``first`` and ``more`` only name the task run.
    """
    outcomes: list[DocumentOutcome] = []
    common = dict(matter_id=matter_id, matter=matter, db=db, settings=settings, retry_failed=retry_failed)
    for ref in refs:
        stack = [(ref.file_name, ref, None, None)]
        seen: set[str] = set()
        while stack:
            file_name, one, loaded, parent_id = stack.pop()
            state = process_document(file_name, one, loaded, parent_id, return_state=True, **common)
            outcome = state.result(raise_on_failure=False)
            if isinstance(outcome, BaseException):
                raise outcome
            children = unseen_children(outcome, seen)
            outcome.children = []
            outcomes.append(outcome)
            for child, data in reversed(children):
                stack.append((child.file_name, None, (child, data), outcome.document_id))
    return outcomes
