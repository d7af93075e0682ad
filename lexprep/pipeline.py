"""The per-document and per-matter stages, Prefect-free.

lexprep_prefect.flows composes these through thin tasks (lexprep_prefect.tasks); tests and benchmarks may
call them directly.

Per document: ``extract -> clean -> categorize -> chunk -> mentions -> facts`` (each a function here), then the
store saves the result in one transaction. Per matter, after every document: ``resolve`` (mentions ->
entities) and ``graph`` (relationships). Models and worker pools are created once per process
(:func:`mention_pool`, :func:`extraction_pool`).

Untrusted input is bounded (``settings.limits``): extraction runs in killable worker processes with a
time budget and a memory cap (:mod:`lexprep.sandbox`), OCR per page likewise (lexprep.ocr.runner),
mention extraction under a time budget; a document's text is cut at ``max_text_chars`` before
cleaning, and attachments deeper than ``max_attachment_depth`` or beyond ``max_attachments`` are
listed on their parent, not processed. What a limit kept out is in ``meta["left_out"]``, and the
document is ``partial`` with that reason.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator

from lexprep import PIPELINE_VERSION
from lexprep.errors import InputError, LimitExceededError, MissingDependencyError, TransientError
from lexprep.extract import extract
from lexprep.models import (
    CategoryResult,
    Chunk,
    CleanText,
    DocStatus,
    DocumentResult,
    ExtractedDocument,
    Mention,
    PageMethod,
    SourceFile,
    sha256_bytes,
)
from lexprep.settings import ChunkSettings, LimitSettings, NerSettings, Settings
from lexprep.sources import describe
from lexprep.text import categorize, chunk_text, clean_pages, make_token_counter
from lexprep.text.transcript import annotate_chunks, transcript_text

log = logging.getLogger(__name__)

#: the error prefix of a document that failed for a passing reason (its retries ran out): the next run
#: processes it again without --retry-failed
TEMPORARY_FAILURE = "temporary failure: "

STAGES = ("read", "extract", "ocr", "transcribe", "clean", "categorize", "chunk", "mentions", "facts", "store", "resolve",
          "graph")


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Add the wall time (seconds) of the block to ``timings[stage]``."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0


# ---------------------------------------------------------------- per-document stages


_extraction_pools: dict[tuple, object] = {}
_extraction_lock = threading.Lock()


def extraction_pool(limits: LimitSettings):
    """The process-wide :class:`~lexprep.sandbox.GuardedPool` of extraction workers for these limits."""
    from lexprep.sandbox import GuardedPool

    key = (limits.workers, int(limits.worker_memory_bytes))
    with _extraction_lock:
        pool = _extraction_pools.get(key)
        if pool is None:
            pool = _extraction_pools[key] = GuardedPool(
                "extraction", limits.workers, int(limits.worker_memory_bytes), address_space=True,
                env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
        return pool


def check_size(size: int, limits: LimitSettings) -> None:
    """Raise LimitExceededError when ``size`` (bytes) is over ``limits.max_file_bytes``."""
    from lexprep.sandbox import format_bytes

    if size > limits.max_file_bytes:
        raise LimitExceededError(f"file is {format_bytes(size)}, over the limit of "
                                 f"{format_bytes(limits.max_file_bytes)} (limits.max_file_bytes)")


def extract_stage(source: SourceFile, data: bytes, settings: Settings, stats: dict | None = None) -> ExtractedDocument:
    """Raw text per page (or part) and attachments, parsed in an extraction worker process.

    The worker has ``limits.extract_timeout_s`` seconds and ``limits.worker_memory_bytes`` of memory
    (``limits.workers == 0``: this process, unbounded). ``stats`` gets the worker's ``wall_s`` and
    ``peak_rss`` (bytes). Attachments beyond the depth and count limits are dropped and listed in
    ``meta["left_out"]``.

    Raises:
        InputError subclasses for bad input; LimitExceededError for a file over a limit, or a parser
        that ran out of time or memory ("exceeded 120 s extracting").
    """
    limits = settings.limits
    check_size(len(data), limits)
    if limits.workers and source.kind != "audio":  # a recording is not parsed here (transcription reads it)
        extracted = extraction_pool(limits).call(
            extract, (data, source.file_name, source.kind, settings), timeout_s=limits.extract_timeout_s,
            what="extracting", stats=stats)
    else:
        extracted = extract(data, source.file_name, source.kind, settings)
    return limit_attachments(source, extracted, limits)


def _left_out(extracted: ExtractedDocument, line: str) -> None:
    extracted.meta.setdefault("left_out", []).append(line)


def _names(items: list, limit: int = 10) -> str:
    shown = ", ".join(a.file_name for a in items[:limit])
    return shown + (f" and {len(items) - limit:,} more" if len(items) > limit else "")


def limit_attachments(source: SourceFile, extracted: ExtractedDocument, limits: LimitSettings) -> ExtractedDocument:
    """Keep the attachments within ``limits.max_attachments`` and above ``limits.max_attachment_depth``;
    the others are listed in ``meta["left_out"]`` (changed in place and returned)."""
    atts = extracted.attachments
    if atts and source.depth >= limits.max_attachment_depth:
        _left_out(extracted, f"{len(atts):,} attachments deeper than {limits.max_attachment_depth} levels not "
                             f"processed (limits.max_attachment_depth): {_names(atts)}")
        extracted.attachments = []
    elif len(atts) > limits.max_attachments:
        _left_out(extracted, f"{len(atts) - limits.max_attachments:,} attachments beyond the first "
                             f"{limits.max_attachments:,} not processed (limits.max_attachments): "
                             f"{_names(atts[limits.max_attachments:])}")
        extracted.attachments = atts[: limits.max_attachments]
    return extracted


def needs_ocr_pages(extracted: ExtractedDocument) -> list[int]:
    """Numbers of the pages that wait for OCR (a page that could not even be loaded is not one)."""
    return [p.number for p in extracted.pages if p.method == PageMethod.needs_ocr.value and not p.error]


def ocr_stage(source: SourceFile, data: bytes, extracted: ExtractedDocument, settings: Settings) -> ExtractedDocument:
    """OCR every ``needs_ocr`` page of a PDF or image, in worker processes (lexprep.ocr.runner).

    Each OCRed page gets the engine as its method, a confidence, its render dpi and the escalation
    record; a page that fails keeps ``needs_ocr`` with its error (the document becomes ``partial``).
    ``extracted`` is changed in place and returned; ``meta["ocr_pages"]`` counts pages per engine.

    Raises:
        MissingDependencyError: the OCR engine is not installed (the document then waits as needs_ocr).
    """
    numbers = needs_ocr_pages(extracted)
    if not numbers:
        return extracted
    from lexprep.ocr.runner import ocr_pages

    kind = "image" if extracted.kind == "image" else "pdf"
    outcomes = {o.number: o for o in ocr_pages(data, kind, numbers, settings)}
    per_engine: dict[str, int] = {}
    for page in extracted.pages:
        outcome = outcomes.get(page.number)
        if outcome is None:
            continue
        page.attempts = [
            {"engine": a[0], "confidence": a[1], **({"error": a[2]} if len(a) > 2 and a[2] else {})}
            for a in outcome.attempts
        ]
        for attempt in outcome.attempts:
            if not (len(attempt) > 2 and attempt[2]):
                per_engine[attempt[0]] = per_engine.get(attempt[0], 0) + 1
        page.dpi = outcome.dpi
        if outcome.error and not outcome.text:
            page.error = f"{TEMPORARY_FAILURE}{outcome.error}" if outcome.transient else outcome.error
            continue
        page.method, page.text, page.confidence = outcome.method, outcome.text, outcome.confidence
        page.error = None
    extracted.meta["ocr_pages"] = per_engine
    return extracted


def transcribe_stage(source: SourceFile, data: bytes, extracted: ExtractedDocument, settings: Settings) -> ExtractedDocument:
    """Transcribe a recording (lexprep.asr): segments with seconds, speaker and confidence.

    ``extracted`` gets the segments and ``meta`` {engine, model, language, duration_s, channels,
    audio_seconds, real_time_factor}; it is changed in place and returned.

    Raises:
        EmptyFileError, CorruptFileError: no audio or undecodable. MissingDependencyError: no engine.
    """
    from lexprep.asr import transcribe_recording

    transcript = transcribe_recording(data, source.file_name, settings)
    extracted.segments = transcript.segments
    extracted.meta.update(
        engine=transcript.engine,
        model=transcript.model,
        language=transcript.language,
        duration_s=round(transcript.duration_s, 3),
        channels=transcript.channels,
        audio_seconds=round(transcript.audio_seconds, 3),
        real_time_factor=round(transcript.real_time_factor, 4),
    )
    extracted.meta.pop("needs_transcription", None)
    return extracted


def cost_ledger(extracted: ExtractedDocument, settings: Settings) -> dict:
    """The document's costs: pages per OCR engine, audio seconds, API tokens (transcription and the
    LLM fact extractor) and an estimate in USD from ``settings.costs`` prices (the LLM's USD is priced
    when it is called: ``meta["llm_cost_usd"]``)."""
    ocr_pages = dict(extracted.meta.get("ocr_pages") or {})
    audio_seconds = float(extracted.meta.get("audio_seconds") or 0.0) if extracted.segments else 0.0
    asr_engine = extracted.meta.get("engine") if extracted.segments else None
    usd = sum(n * settings.costs.ocr_per_page.get(engine, 0.0) for engine, n in ocr_pages.items())
    usd += float(extracted.meta.get("llm_cost_usd") or 0.0)
    if asr_engine:
        usd += audio_seconds / 60.0 * settings.costs.asr_per_minute.get(asr_engine, 0.0)
    return {
        "ocr_pages": ocr_pages,
        "audio_seconds": round(audio_seconds, 3),
        "api_tokens_in": int(extracted.meta.get("api_tokens_in") or 0),
        "api_tokens_out": int(extracted.meta.get("api_tokens_out") or 0),
        "estimated_cost_usd": round(usd, 6),
    }


def limit_text(extracted: ExtractedDocument, max_chars: int) -> ExtractedDocument:
    """Cut the document's text after ``max_chars`` characters (pages in order; a recording's segments
    likewise), listing the cut in ``meta["left_out"]``. Changed in place and returned."""
    items = extracted.segments or extracted.pages
    total = sum(len(item.text) for item in items)
    if total <= max_chars:
        return extracted
    budget = max_chars
    for item in items:
        keep = min(len(item.text), budget)
        if keep < len(item.text):
            item.text = item.text[:keep]
        budget -= keep
    _left_out(extracted, f"text cut after {max_chars:,} of {total:,} characters (limits.max_text_chars)")
    return extracted


def clean_stage(extracted: ExtractedDocument, settings: Settings) -> CleanText:
    """Cleaned text with its page map (or, for a recording, its segment map), of at most
    ``limits.max_text_chars`` characters of raw text (see :func:`limit_text`)."""
    limit_text(extracted, settings.limits.max_text_chars)
    if extracted.segments:
        return transcript_text(extracted.segments)
    return clean_pages(extracted.pages, settings.clean)


def categorize_stage(source: SourceFile, extracted: ExtractedDocument, clean: CleanText) -> CategoryResult:
    """The document's category and the rule that decided it."""
    return categorize(clean.text, extracted.kind or source.kind, extracted.meta, source.file_name)


@lru_cache(maxsize=8)
def _token_counter(chunk_settings_json: str) -> Callable[[str], int]:
    return make_token_counter(ChunkSettings.model_validate_json(chunk_settings_json))


def chunk_stage(clean: CleanText, settings: Settings) -> list[Chunk]:
    """Token-bounded chunks with character spans and page ranges."""
    counter = _token_counter(settings.chunk.model_dump_json())
    chunks = chunk_text(clean, settings.chunk, counter)
    return annotate_chunks(chunks, clean) if clean.segment_spans else chunks


_pools: dict[str, object] = {}
_pools_lock = threading.Lock()


def mention_pool(settings: NerSettings):
    """The process-wide :class:`~lexprep.ner.pool.MentionPool` for these settings (created once)."""
    from lexprep.ner.pool import MentionPool

    key = settings.model_dump_json()
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = MentionPool(settings)
        return pool


@atexit.register
def close_pools() -> None:
    """Shut the worker pools down (also run at interpreter exit)."""
    with _pools_lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


def _worker_pids(pool) -> list[int]:
    """Process ids of a MentionPool's workers (its ProcessPoolExecutor's processes)."""
    executor = getattr(pool, "_executor", None)
    return list(getattr(executor, "_processes", None) or {})


def mentions_stage(clean: CleanText, chunks: list[Chunk], category: CategoryResult | None,
                   settings: Settings, meta: dict | None = None, *, find: Callable[..., list[Mention]] | None = None
                   ) -> list[Mention]:
    """Entity mentions of the document's cleaned text (spaCy + eyecite + rules + the document pass),
    found once per span in worker processes, then placed in the chunks that hold them.

    Watched: past ``limits.mentions_timeout_s`` seconds, or a worker above ``limits.mentions_memory_bytes``,
    the NER workers are killed (the pool restarts for the next document; other documents' work in
    flight gets a TransientError, retried) and this document fails with LimitExceededError
    ("exceeded 900 s extracting mentions"). With ``ner.workers == 0`` it runs unwatched here.

    With the llm backend (lexprep.ner.llm_ner) the requests' tokens and price are added to ``meta`` (the
    document's ``ExtractedDocument.meta``: ``api_tokens_in``/``api_tokens_out``, ``llm_cost_usd``, hence the cost
    ledger), with ``llm_not_in_text`` (names the model gave that are not in the text) and, for answers that
    could not be used, a ``left_out`` line (the document is then partial).

    ``find`` (default :func:`find_mentions`, same signature) finds them elsewhere: the extract-entities
    stage deployment.
    """
    if not chunks or not clean.text.strip():
        return []
    from lexprep.ner import place_in_chunks

    found = (find or find_mentions)(clean.text, category.category if category else None, mention_boundaries(clean),
                                    settings, meta)
    return place_in_chunks(found, chunks)


def mention_boundaries(clean: CleanText) -> list[int]:
    """Where the document's pages (or transcript segments) start: the preferred window cuts."""
    spans = clean.segment_spans or clean.page_spans
    return [sp.char_start for sp in spans if sp.char_start > 0]


def find_mentions(text: str, category: str | None, boundaries: list[int], settings: Settings,
                  meta: dict | None = None) -> list[Mention]:
    """The mentions of one document's cleaned text (not yet placed in chunks), in this process's
    MentionPool, watched as :func:`mentions_stage` says; also what the extract-entities stage flow runs."""
    pool = mention_pool(settings.ner_settings())

    def run() -> list[Mention]:
        return pool.extract(text, category, boundaries)

    if not getattr(pool, "workers", 0):
        from lexprep.llm import metering

        with metering() as usage:
            found = run()
        if meta is not None and usage.calls:
            add_llm_usage(meta, usage)
        return found
    from lexprep.sandbox import watch

    limits = settings.limits
    return watch(run, lambda: _worker_pids(pool), timeout_s=limits.mentions_timeout_s,
                 memory_bytes=int(limits.mentions_memory_bytes), what="extracting mentions")


def add_llm_usage(meta: dict, usage) -> None:
    """Add an LLM stage's usage (lexprep.llm.Usage) to a document's meta (see :func:`mentions_stage`)."""
    meta["api_tokens_in"] = int(meta.get("api_tokens_in") or 0) + usage.tokens_in
    meta["api_tokens_out"] = int(meta.get("api_tokens_out") or 0) + usage.tokens_out
    meta["llm_cost_usd"] = round(float(meta.get("llm_cost_usd") or 0.0) + usage.usd, 6)
    meta["llm_calls"] = int(meta.get("llm_calls") or 0) + usage.calls
    if usage.not_in_text:
        meta["llm_not_in_text"] = int(meta.get("llm_not_in_text") or 0) + usage.not_in_text
    for line in usage.problems:
        meta.setdefault("left_out", []).append(line)


def facts_stage(clean: CleanText, chunks: list[Chunk], category: CategoryResult | None, extracted: ExtractedDocument,
                mentions: list[Mention], settings: Settings, before_call: Callable[[], None] | None = None):
    """The document's facts (lexprep.facts): verified facts, with the mentions the extractor adds
    (e-mail participants, party names no mention covered) placed in the chunks and appended to
    ``mentions`` (changed in place). ``extracted.meta["facts"]`` gets the counts, the rejects' reasons
    and per-document errors; an LLM extractor's tokens and USD go to ``extracted.meta`` for the cost
    ledger. Returns the :class:`lexprep.facts.FactResult`.

    Raises:
        ConfigurationError, TransientError: from the LLM extractor (no key, a rejected key; retries
        exhausted); what a model answered never raises.
    """
    from lexprep.facts import FactResult, extract_facts
    from lexprep.ner import place_in_chunks

    if not chunks or not clean.text.strip():
        return FactResult()
    result = extract_facts(clean.text, category.category if category else None, extracted.meta, mentions, settings,
                           before_call=before_call)
    if result.mentions:
        taken = {(m.doc_start, m.doc_end) for m in mentions}
        new = [m for m in result.mentions if (m.doc_start, m.doc_end) not in taken]
        mentions.extend(place_in_chunks(new, chunks))
        mentions.sort(key=lambda m: (m.doc_start, m.doc_end))
    extracted.meta["facts"] = result.summary()
    usage = result.usage or {}
    if usage.get("calls"):
        from lexprep.llm import Usage

        add_llm_usage(extracted.meta, Usage(int(usage["calls"]), int(usage.get("api_tokens_in", 0)),
                                            int(usage.get("api_tokens_out", 0)), float(usage.get("estimated_cost_usd", 0.0))))
    return result


def stop_workers() -> None:
    """End every worker process of this process now (Ctrl-C, SIGTERM): extraction and OCR workers
    (:func:`lexprep.sandbox.stop`: the threads still at work then raise RunInterrupted) and the NER
    workers (killed, not waited for)."""
    from lexprep.sandbox import kill_processes, stop

    stop()
    with _pools_lock:
        pools = list(_pools.values())
    for pool in pools:
        kill_processes(_worker_pids(pool))


def final_status(source: SourceFile, extracted: ExtractedDocument) -> str:
    """``needs_transcription`` for a recording not transcribed yet; ``partial`` when a page failed or a
    limit left something out; ``needs_ocr`` when pages still wait for OCR; else ``done``."""
    if (extracted.kind == "audio" or source.kind == "audio") and extracted.meta.get("needs_transcription"):
        return DocStatus.needs_transcription.value
    if any(p.error for p in extracted.pages):
        return DocStatus.partial.value
    if any(p.method == PageMethod.needs_ocr.value for p in extracted.pages):
        return DocStatus.needs_ocr.value
    if extracted.meta.get("left_out"):
        return DocStatus.partial.value
    return DocStatus.done.value


def partial_reason(extracted: ExtractedDocument) -> str | None:
    """One line on why a document is partial: pages that failed (prefixed ``temporary failure:`` when
    one failed for a passing reason, so that the next run tries again) and what a limit left out."""
    failed = [p for p in extracted.pages if p.error]
    reasons = []
    if failed:
        temporary = [p for p in failed if p.error.startswith(TEMPORARY_FAILURE)]
        first = temporary[0] if temporary else failed[0]
        detail = first.error[len(TEMPORARY_FAILURE):] if temporary else first.error
        line = f"{len(failed):,} of {len(extracted.pages):,} pages failed (page {first.number}: {detail})"
        reasons.append(f"{TEMPORARY_FAILURE}{line}" if temporary else line)
    reasons.extend(extracted.meta.get("left_out") or [])
    return "; ".join(reasons)[:500] if reasons else None


def attachment_sources(parent: SourceFile, extracted: ExtractedDocument) -> list[tuple[SourceFile, bytes]]:
    """The attachments of ``parent`` as child sources (URI ``parent_uri#attachment-name``)."""
    children = []
    for att in extracted.attachments:
        uri = f"{parent.uri}#{att.file_name}"
        children.append((describe(uri, att.file_name, att.data, parent_sha256=parent.sha256, depth=parent.depth + 1),
                         att.data))
    return children


def failure(source: SourceFile, exc: BaseException, timings: dict[str, float] | None = None) -> DocumentResult:
    """The DocumentResult of a document that could not be processed (status failed/unsupported)."""
    if isinstance(exc, InputError):
        status, message = exc.status, str(exc)
    elif isinstance(exc, TransientError):
        status, message = DocStatus.failed.value, f"{TEMPORARY_FAILURE}{exc}"
    else:
        status, message = DocStatus.failed.value, f"{type(exc).__name__}: {exc}"
    return DocumentResult(source=source, status=status, error=message.splitlines()[0][:500] if message else status,
                          timings=timings or {})


def unread_result(ref, status: str, reason: str) -> DocumentResult:
    """The DocumentResult of a path found but not read (``ref`` a :class:`~lexprep.sources.SourceRef`):
    a special file or a link out of the source (``skipped``), a file that cannot be read (``failed``).

    With no content there is no sha256: the document is identified by its path
    (:func:`lexprep.sources.path_key`) and ``meta["identity"]`` is ``"path"``.
    """
    from lexprep.sources import path_key, safe_name

    source = SourceFile(uri=safe_name(ref.uri), file_name=ref.file_name, sha256=path_key(ref.uri), size=ref.size,
                        kind="unknown")
    extracted = ExtractedDocument(kind="unknown", pages=[], meta={"identity": "path"})
    return DocumentResult(source=source, status=status, error=reason.splitlines()[0][:500] if reason else status,
                          extracted=extracted)


def needs_engine(stage: Callable[[], ExtractedDocument], extracted: ExtractedDocument) -> tuple[ExtractedDocument, str | None]:
    """Run an OCR or transcription ``stage``; when its engine is not installed here, keep the document
    waiting (its pages stay ``needs_ocr``, a recording ``needs_transcription``) and return the reason.

    Returns:
        (the document, None) or (the unchanged document, the MissingDependencyError's message).
    """
    try:
        return stage(), None
    except MissingDependencyError as exc:
        return extracted, str(exc)


def document_result(source: SourceFile, extracted: ExtractedDocument, clean: CleanText, category: CategoryResult,
                    chunks: list[Chunk], mentions: list[Mention], settings: Settings, timings: dict[str, float],
                    error: str | None = None, facts: list | None = None) -> DocumentResult:
    """The DocumentResult of a processed document: its final status and its cost ledger; its error says
    what failed or was left out (:func:`partial_reason`), then ``error`` (a missing engine) if any."""
    status = final_status(source, extracted)
    error = "; ".join(r for r in (partial_reason(extracted), error) if r) or None
    return DocumentResult(
        source=source,
        status=status,
        error=error,
        extracted=extracted,
        clean=clean,
        category=category,
        chunks=chunks,
        mentions=mentions,
        timings=timings,
        costs=cost_ledger(extracted, settings),
        facts=list(facts or []),
    )


@dataclass(frozen=True)
class Stages:
    """The per-document stage functions :func:`run_document` calls, with the core's signatures; the
    Prefect layer passes :meth:`retried` ones, with task runs for the stages that leave the process."""

    extract: Callable[..., ExtractedDocument] = extract_stage  # (source, data, settings)
    ocr: Callable[..., ExtractedDocument] = ocr_stage  # (source, data, extracted, settings)
    transcribe: Callable[..., ExtractedDocument] = transcribe_stage  # (source, data, extracted, settings)
    clean: Callable[..., CleanText] = clean_stage  # (extracted, settings)
    categorize: Callable[..., CategoryResult] = categorize_stage  # (source, extracted, clean)
    chunk: Callable[..., list[Chunk]] = chunk_stage  # (clean, settings)
    mentions: Callable[..., list[Mention]] = mentions_stage  # (clean, chunks, category, settings, meta)
    facts: Callable[..., list] = lambda *args: facts_stage(*args).facts  # noqa: E731 (clean, chunks, category, extracted, mentions, settings)

    def retried(self, name: str, **options) -> Stages:
        """These stages, each retried on a passing failure (lexprep.retrying; ``options`` go to
        :func:`lexprep.retrying.call`), its warnings naming the stage and the document ``name``."""
        from dataclasses import fields, replace

        from lexprep import retrying

        return replace(self, **{f.name: retrying.wrap(getattr(self, f.name), f"{f.name} of {name}", **options)
                                for f in fields(self)})


def run_document(source: SourceFile, data: bytes | None, settings: Settings, *, stages: Stages | None = None,
                 timings: dict[str, float] | None = None,
                 on_status: Callable[[DocStatus], None] | None = None,
                 on_extracted: Callable[[ExtractedDocument], None] | None = None,
                 catch: type[BaseException] | tuple[type[BaseException], ...] = InputError,
                 on_failure: Callable[[BaseException], None] | None = None) -> DocumentResult:
    """Every per-document stage, in order: extract, OCR of the pages that need it, transcription of a
    recording, clean, categorize, chunk, mentions, facts. Without a store.

    Args:
        data: the file's bytes; None for a file over ``limits.max_file_bytes`` (refused: LimitExceededError).
        stages: the stage functions (default: this process's, :class:`Stages`).
        timings: where the stages' seconds go (a new dict by default).
        on_status: told each status as the document reaches it (extracting, ocr, transcribing, cleaning,
            chunking, extracting_mentions).
        on_extracted: told the extracted document before OCR (to register its attachments).
        catch: the errors recorded as the document's failure (default: bad input, InputError); others raise.
        on_failure: told a caught error before it is recorded (it may raise instead).

    Bad input does not raise: it comes back as a DocumentResult with status ``failed`` or
    ``unsupported`` and a one-line ``error``. A missing OCR or transcription engine leaves the
    document waiting, with the reason as its error.
    """
    st = stages or Stages()
    timings = {} if timings is None else timings
    status = on_status or (lambda _status: None)
    missing = None
    try:
        status(DocStatus.extracting)
        if data is None:  # over limits.max_file_bytes: hashed as a stream, never read whole
            check_size(source.size, settings.limits)
        with timed(timings, "extract"):
            extracted = st.extract(source, data, settings)
        if on_extracted is not None:
            on_extracted(extracted)
        if needs_ocr_pages(extracted):
            status(DocStatus.ocr)
            with timed(timings, "ocr"):
                extracted, missing = needs_engine(lambda: st.ocr(source, data, extracted, settings), extracted)
        if extracted.kind == "audio":
            status(DocStatus.transcribing)
            with timed(timings, "transcribe"):
                extracted, missing = needs_engine(lambda: st.transcribe(source, data, extracted, settings), extracted)
        status(DocStatus.cleaning)
        with timed(timings, "clean"):
            clean = st.clean(extracted, settings)
        with timed(timings, "categorize"):
            category = st.categorize(source, extracted, clean)
        status(DocStatus.chunking)
        with timed(timings, "chunk"):
            chunks = st.chunk(clean, settings)
        status(DocStatus.extracting_mentions)
        with timed(timings, "mentions"):
            mentions = st.mentions(clean, chunks, category, settings, extracted.meta)
        with timed(timings, "facts"):
            facts = st.facts(clean, chunks, category, extracted, mentions, settings)
    except catch as exc:
        if on_failure is not None:
            on_failure(exc)
        return failure(source, exc, timings)
    return document_result(source, extracted, clean, category, chunks, mentions, settings, timings, missing, facts)


# ---------------------------------------------------------------- per-matter stages


def needs_processing(info, settings: Settings, retry_failed: bool = False) -> bool:
    """Whether a registered document must be (re)processed.

    ``info`` is the store's DocumentInfo or None. A document is skipped when it reached a terminal
    status with the same pipeline version and settings fingerprint; failed, partial, unsupported and
    skipped documents are retried only with ``retry_failed``, except those that failed (or whose pages
    failed) for a passing reason (a database or API outage that outlived the retries). Documents
    waiting for OCR or transcription (an engine was missing) are tried again on every run.
    """
    if info is None:
        return True
    if info.pipeline_version != PIPELINE_VERSION or info.settings_fingerprint != settings.fingerprint():
        return True
    if info.status in (DocStatus.failed.value, DocStatus.unsupported.value, DocStatus.partial.value,
                       DocStatus.skipped.value):
        return retry_failed or (getattr(info, "error", None) or "").startswith(TEMPORARY_FAILURE)
    return info.status != DocStatus.done.value


def forget(store, matter_id: str, matter: str, key: str, settings: Settings) -> dict[str, int]:
    """Delete the documents matching ``key`` (a sha256, a source URI or path, or a file name), with
    their attachments and everything derived from them, then re-resolve the matter's entities and
    rebuild its graph (entities that lose every mention disappear; the others lose those mentions).

    Returns ``{"documents": n deleted, "entities": n, "relationships": n}``.
    """
    deleted = 0
    for document_id, _, _ in store.find_documents(matter_id, key):
        deleted += store.delete_document(document_id)
    if not deleted:
        return {"documents": 0}
    resolved = resolve_matter(store, matter_id, matter, settings)
    graph = graph_matter(store, matter_id, settings)
    return {"documents": deleted, "entities": resolved["entities"], "relationships": graph["relationships"]}


def apply_override(store, matter_id: str, matter: str, kind: str, entity_id: str, edit, settings: Settings, *,
                   author: str | None = None, **row):
    """A person's split or merge of the stored resolution (lexprep.resolve.overrides): ``edit(editor,
    override_id)`` is tried first; when it fits, the override is stored (``store.overrides.add(matter_id,
    kind, entity_id, label=..., author=..., **row)``), the edited entities and merge log written and the graph
    rebuilt, at once (no re-resolution, so no LLM calls).

    Returns:
        ``(outcome, override, counts)``: the edit's OverrideOutcome; the stored override, None when the edit
        did not fit (nothing stored); ``{"entities": n, "relationships": n}`` after it.
    """
    from lexprep.resolve import MentionRef
    from lexprep.resolve.overrides import Editor

    current = store.overrides.stored_resolution(matter_id)
    refs = [MentionRef(*r) for r in store.entities.list_mentions(matter_id)]

    def editor() -> Editor:
        return Editor(current.entities, current.assignments, current.merges, refs, matter)

    trial = editor()
    before = trial.entities.get(entity_id)
    outcome = edit(trial, None)
    if not outcome.applied:
        return outcome, None, {}
    saved = store.overrides.add(matter_id, kind, entity_id, label=before.label if before is not None else None,
                                author=author, **row)
    if kind == "merge":  # the stored merge record names the override
        trial = editor()
        outcome = edit(trial, saved.id)
    result = trial.result()
    store.entities.replace_entities(matter_id, result.entities, result.assignments, result.merges)
    graph = graph_matter(store, matter_id, settings)
    return outcome, saved, {"entities": len(result.entities), "relationships": graph["relationships"]}


def resolve_matter(store, matter_id: str, matter: str, settings: Settings, throttle=None) -> dict:
    """Resolve every mention of the matter into canonical entities and store them with the merge log.

    The matter's overrides (a person's splits and merges, lexprep.store.overrides) are replayed on top;
    with ``resolve.llm`` (the cloud profile's default) pairs the rules leave apart are judged by the LLM
    first (lexprep.resolve.llm), ``throttle`` being called before each of its requests.

    Returns counts: ``{"mentions": n, "entities": n, "merges": n}``, plus ``overrides_applied`` /
    ``overrides_skipped`` when the matter has overrides and ``llm`` (lexprep.resolve.llm.JudgeStats) when
    the LLM judged.
    """
    from lexprep.resolve import MentionRef, resolve

    refs = [MentionRef(*row) for row in store.entities.list_mentions(matter_id)]
    overrides = store.overrides.overrides(matter_id)
    judge = resolution_judge(settings, throttle)
    resolution = resolve(refs, settings.resolve, matter, overrides=overrides, judge=judge)
    store.entities.replace_entities(matter_id, resolution.entities, resolution.assignments, resolution.merges)
    for outcome in resolution.overrides:
        if not outcome.applied:
            log.warning("matter %s: override %s not applied: %s", matter, outcome.override_id, outcome.detail)
    out = {"mentions": len(refs), "entities": len(resolution.entities), "merges": len(resolution.merges)}
    if overrides:
        out["overrides_applied"] = sum(o.applied for o in resolution.overrides)
        out["overrides_skipped"] = len(overrides) - out["overrides_applied"]
    if resolution.llm is not None:
        out["llm"] = resolution.llm
    return out


def resolution_judge(settings: Settings, throttle=None):
    """The LLM judge of LLM-assisted resolution when ``resolve.llm`` is on (or None)."""
    if not settings.resolve_llm():
        return None
    from lexprep.resolve.llm import LlmJudge

    return LlmJudge(settings.resolve, settings.llm, settings.costs, throttle=throttle)


def graph_matter(store, matter_id: str, settings: Settings) -> dict[str, int]:
    """Rebuild the matter's relationships from the store: link facts to the entities their mentions
    resolved to, then the graph (lexprep.graph) plus the typed edges of the facts
    (lexprep.facts.edges). Returns ``{"relationships": n, "typed_edges": n, "facts_linked": n}``."""
    from lexprep.facts.edges import typed_edges
    from lexprep.graph import ChunkRef, DocRef, MentionLink, build_relationships

    g = store.entities.graph_inputs(matter_id)
    rels = build_relationships(
        [DocRef(id=d, parent_id=p) for d, p in g.documents],
        [ChunkRef(id=c, document_id=d, char_start=s, char_end=e) for c, d, s, e in g.chunks],
        [MentionLink(document_id=d, start=s, end=e, entity_id=ent) for d, s, e, ent in g.mentions],
        g.entity_labels,
        settings.graph,
        scoped_entities=g.scoped_entities,
    )
    linked = store.facts.link_entities(matter_id)
    facts, first_chunks = store.facts.graph_inputs(matter_id)
    typed = typed_edges(facts, first_chunks)
    rels.extend(typed)
    store.entities.replace_relationships(matter_id, rels)
    return {"relationships": len(rels), "typed_edges": len(typed), "facts_linked": linked}


__all__ = [
    "STAGES",
    "attachment_sources",
    "categorize_stage",
    "chunk_stage",
    "clean_stage",
    "extract_stage",
    "extraction_pool",
    "facts_stage",
    "limit_attachments",
    "limit_text",
    "partial_reason",
    "failure",
    "final_status",
    "forget",
    "graph_matter",
    "mention_pool",
    "mentions_stage",
    "find_mentions",
    "mention_boundaries",
    "add_llm_usage",
    "needs_processing",
    "resolve_matter",
    "apply_override",
    "Stages",
    "resolution_judge",
    "document_result",
    "needs_engine",
    "run_document",
    "sha256_bytes",
    "stop_workers",
    "timed",
    "unread_result",
]
