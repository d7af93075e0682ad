"""The per-document and per-matter stages, Prefect-free.

flows/ composes these through thin tasks (tasks/); tests and benchmarks may call them directly.

Per document: ``extract -> clean -> categorize -> chunk -> mentions`` (each a function here), then the
store saves the result in one transaction. Per matter, after every document: ``resolve`` (mentions ->
entities) and ``graph`` (relationships). Models and worker pools are created once per process
(:func:`mention_pool`).
"""

from __future__ import annotations

import atexit
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from typing import Callable, Iterator

from lexprep import PIPELINE_VERSION
from lexprep.errors import InputError
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
from lexprep.settings import ChunkSettings, NerSettings, Settings
from lexprep.sources import describe
from lexprep.text import categorize, chunk_text, clean_pages, make_token_counter

STAGES = ("read", "extract", "clean", "categorize", "chunk", "mentions", "store", "resolve", "graph")


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Add the wall time (seconds) of the block to ``timings[stage]``."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0


# ---------------------------------------------------------------- per-document stages


def extract_stage(source: SourceFile, data: bytes, settings: Settings) -> ExtractedDocument:
    """Raw text per page (or part) and attachments. Raises InputError subclasses for bad input."""
    return extract(data, source.file_name, source.kind, settings)


def clean_stage(extracted: ExtractedDocument, settings: Settings) -> CleanText:
    """Cleaned text with its page map."""
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
    return chunk_text(clean, settings.chunk, counter)


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


def mentions_stage(chunks: list[Chunk], settings: Settings) -> list[Mention]:
    """Entity mentions of every chunk (spaCy + eyecite + rules), in worker processes."""
    if not chunks:
        return []
    return mention_pool(settings.ner).extract(chunks)


def final_status(source: SourceFile, extracted: ExtractedDocument) -> str:
    """``needs_transcription`` for recordings, ``needs_ocr`` when any page waits for OCR, else ``done``."""
    if extracted.kind == "audio" or source.kind == "audio":
        return DocStatus.needs_transcription.value
    if any(p.method == PageMethod.needs_ocr.value for p in extracted.pages):
        return DocStatus.needs_ocr.value
    return DocStatus.done.value


def attachment_sources(parent: SourceFile, extracted: ExtractedDocument) -> list[tuple[SourceFile, bytes]]:
    """The attachments of ``parent`` as child sources (URI ``parent_uri#attachment-name``)."""
    children = []
    for att in extracted.attachments:
        uri = f"{parent.uri}#{att.file_name}"
        children.append((describe(uri, att.file_name, att.data, parent_sha256=parent.sha256), att.data))
    return children


def failure(source: SourceFile, exc: BaseException, timings: dict[str, float] | None = None) -> DocumentResult:
    """The DocumentResult of a document that could not be processed (status failed/unsupported)."""
    if isinstance(exc, InputError):
        status, message = exc.status, str(exc)
    else:
        status, message = DocStatus.failed.value, f"{type(exc).__name__}: {exc}"
    return DocumentResult(source=source, status=status, error=message.splitlines()[0][:500] if message else status,
                          timings=timings or {})


def run_document(source: SourceFile, data: bytes, settings: Settings) -> DocumentResult:
    """Every per-document stage in this process, without Prefect and without a store.

    Bad input does not raise: it comes back as a DocumentResult with status ``failed`` or
    ``unsupported`` and a one-line ``error``.
    """
    timings: dict[str, float] = {}
    try:
        with timed(timings, "extract"):
            extracted = extract_stage(source, data, settings)
        with timed(timings, "clean"):
            clean = clean_stage(extracted, settings)
        with timed(timings, "categorize"):
            category = categorize_stage(source, extracted, clean)
        with timed(timings, "chunk"):
            chunks = chunk_stage(clean, settings)
        with timed(timings, "mentions"):
            mentions = mentions_stage(chunks, settings)
    except InputError as exc:
        return failure(source, exc, timings)
    return DocumentResult(
        source=source,
        status=final_status(source, extracted),
        extracted=extracted,
        clean=clean,
        category=category,
        chunks=chunks,
        mentions=mentions,
        timings=timings,
    )


# ---------------------------------------------------------------- per-matter stages


def needs_processing(info, settings: Settings, retry_failed: bool = False) -> bool:
    """Whether a registered document must be (re)processed.

    ``info`` is the store's DocumentInfo or None. A document is skipped when it reached a terminal
    status with the same pipeline version and settings fingerprint; failed and unsupported documents
    are retried only with ``retry_failed``.
    """
    if info is None:
        return True
    if info.pipeline_version != PIPELINE_VERSION or info.settings_fingerprint != settings.fingerprint():
        return True
    if info.status in (DocStatus.failed.value, DocStatus.unsupported.value):
        return retry_failed
    return info.status not in {s.value for s in (DocStatus.done, DocStatus.needs_ocr, DocStatus.needs_transcription)}


def resolve_matter(store, matter_id: str, matter: str, settings: Settings) -> dict[str, int]:
    """Resolve every mention of the matter into canonical entities and store them with the merge log.

    Returns counts: ``{"mentions": n, "entities": n, "merges": n}``.
    """
    from lexprep.resolve import MentionRef, resolve

    refs = [MentionRef(id=i, label=lab, text=txt, normalized=norm) for i, lab, txt, norm in store.list_mentions(matter_id)]
    resolution = resolve(refs, settings.resolve, matter)
    store.replace_entities(matter_id, resolution.entities, resolution.assignments, resolution.merges)
    return {"mentions": len(refs), "entities": len(resolution.entities), "merges": len(resolution.merges)}


def graph_matter(store, matter_id: str, settings: Settings) -> dict[str, int]:
    """Rebuild the matter's relationships from the store. Returns ``{"relationships": n}``."""
    from lexprep.graph import ChunkRef, DocRef, MentionLink, build_relationships

    docs, chunks, links, labels = store.graph_inputs(matter_id)
    rels = build_relationships(
        [DocRef(id=d, parent_id=p) for d, p in docs],
        [ChunkRef(id=c, document_id=d) for c, d in chunks],
        [MentionLink(chunk_id=c, entity_id=e) for c, e in links],
        labels,
        settings.graph,
    )
    store.replace_relationships(matter_id, rels)
    return {"relationships": len(rels)}


__all__ = [
    "STAGES",
    "attachment_sources",
    "categorize_stage",
    "chunk_stage",
    "clean_stage",
    "extract_stage",
    "failure",
    "final_status",
    "graph_matter",
    "mention_pool",
    "mentions_stage",
    "needs_processing",
    "resolve_matter",
    "run_document",
    "sha256_bytes",
    "timed",
]
