"""The repository the pipeline uses: documents and their derived rows, entities, the graph, runs,
status counts and the JSONL export.

Every public method opens its own session (one transaction), so one :class:`Store` can be shared by
the threads of a process. On SQLite, write transactions are serialised by a process-wide lock per
database file and begin with ``BEGIN IMMEDIATE`` (see :mod:`lexprep.store.db`); readers never wait
(WAL). On Postgres the database does the locking: saving a document locks its row (``FOR NO KEY
UPDATE``), and rewriting a matter's entities or graph takes a transaction-scoped advisory lock on the
matter, so concurrent workers wait for each other instead of colliding on re-inserted ids; a deadlock
or serialization failure is an OperationalError, hence a TransientError (retried).

Bulk writes: on Postgres (psycopg 3) rows go in with ``COPY FROM STDIN``; on SQLite with executemany
in batches of ``INSERT_BATCH``. Mention links are set set-based (a temporary table and one
``UPDATE ... FROM``). Text is stored with NUL replaced by U+FFFD (Postgres rejects NUL in text).

Errors: an unknown id raises ``KeyError``; inconsistent input (a mention pointing at a chunk the
document does not have) raises ``ValueError``; a lost connection or a locked database raises
:class:`lexprep.errors.TransientError` (the only error worth retrying), whose message is the
driver's one-line reason, never the SQL parameters (which may hold document text).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import re
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from lexprep.errors import TransientError
from lexprep.models import DocumentResult, Entity, MergeRecord, Relationship, SourceFile, stable_id
from lexprep.store import schema as t
from lexprep.store.db import (
    WRITE_OPTION,
    check_connection,
    error_reason,
    make_engine,
    parse_url,
    safe_url,
    sqlite_lock,
    upgrade_engine,
)

log = logging.getLogger(__name__)

#: rows per executemany call (bounds the size of one parameter list)
INSERT_BATCH = 5_000
#: rows fetched per round trip when streaming an export
EXPORT_YIELD_PER = 1_000

EXPORT_FILES = ("documents.jsonl", "chunks.jsonl", "mentions.jsonl", "entities.jsonl", "relationships.jsonl",
                "facts.jsonl")

#: tables whose rows a quality gate can quarantine (``quarantined`` column), by name
QUARANTINE_TABLES = ("documents", "chunks", "mentions", "facts")


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """What the pipeline needs to decide whether a document must be (re)done."""

    id: str
    status: str
    pipeline_version: str | None
    settings_fingerprint: str | None
    parent_id: str | None
    error: str | None = None


def matter_id_for(name: str) -> str:
    """The id of the matter called ``name``: ``stable_id("matter", name)``."""
    return stable_id("matter", name)


def chunk_id_for(document_id: str, chunk_index: int) -> str:
    """A chunk's id: ``stable_id(document_id, chunk_index)``."""
    return stable_id(document_id, chunk_index)


def mention_id_for(document_id: str, doc_start: int, doc_end: int) -> str:
    """A mention's id: ``stable_id(document_id, doc_start, doc_end)`` (one mention per document span)."""
    return stable_id(document_id, doc_start, doc_end)


def relationship_id_for(matter_id: str, source_id: str, target_id: str, type_: str) -> str:
    """A relationship's id: ``stable_id(matter_id, source_id, target_id, type)``."""
    return stable_id(matter_id, source_id, target_id, type_)


def _value(v: Any) -> Any:
    """An enum's value (DocStatus.done -> "done"), anything else as is."""
    return getattr(v, "value", v)


#: a lone surrogate (a byte that was not UTF-8, kept by ``surrogateescape``): no database can store one
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(s: str | None) -> str | None:
    """``s`` safe for every back end: Postgres rejects NUL in text and no driver encodes a lone
    surrogate, so both become U+FFFD (one character for one: offsets kept)."""
    if s is None:
        return s
    if "\x00" in s:
        s = s.replace("\x00", "\ufffd")
    if not s.isascii() and _SURROGATE.search(s):
        s = _SURROGATE.sub("\ufffd", s)
    return s


def _json_safe(obj: Any) -> Any:
    """``obj`` as plain JSON data (dates and other objects as strings; NaN/inf as null)."""
    if obj is None:
        return None

    def _default(o: Any) -> Any:
        if isinstance(o, (set, frozenset, tuple)):
            return list(o)
        if isinstance(o, bytes):
            return o.decode("utf-8", "replace")
        return str(_value(o))

    def _fix(o: Any) -> Any:
        if isinstance(o, float) and not math.isfinite(o):
            return None
        if isinstance(o, str):
            return _text(o)
        if isinstance(o, dict):
            return {_text(str(k)): _fix(v) for k, v in o.items()}
        if isinstance(o, list):
            return [_fix(v) for v in o]
        return o

    return _fix(json.loads(json.dumps(obj, default=_default, allow_nan=True)))


def _float(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _batches(rows: Sequence[dict[str, Any]], size: int = INSERT_BATCH) -> Iterator[Sequence[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


#: namespace of the Postgres advisory locks taken per matter (high 32 bits of the key)
_MATTER_LOCK_SPACE = 0x6C78  # "lx"


def _matter_lock_key(matter_id: str) -> int:
    """A signed 64-bit advisory lock key for the matter (namespace in the high bits, id hash below)."""
    return (_MATTER_LOCK_SPACE << 48) | (int(stable_id("lock", matter_id)[:12], 16) & 0xFFFF_FFFF_FFFF)


def _copy_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Postgres only: load ``rows`` (dicts with the same keys) into ``table`` with one ``COPY FROM STDIN``.

    Runs on the session's connection, inside its transaction. Values go through each column's
    SQLAlchemy bind processor (JSON is serialised, TypeDecorators applied) and psycopg's text COPY
    escaping; columns not in the rows get their server defaults.
    """
    if not rows:
        return
    import psycopg
    from psycopg import sql

    conn = session.connection()
    columns = list(rows[0])
    processors = [table.c[name].type._cached_bind_processor(conn.dialect) for name in columns]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(name) for name in columns)
    )
    driver = conn.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[n] if f is None else f(row[n]) for n, f in zip(columns, processors)])
    except psycopg.Error as exc:
        # the driver's error as SQLAlchemy's (OperationalError, IntegrityError, ...), as execute() raises
        # them, so that callers (and Store._translate) see the same exceptions on every path
        raise DBAPIError.instance(statement.as_string(driver), None, exc, psycopg.Error) from exc


def _group_children(
    parents: Iterable[Any], parent_key: Any, children: Iterable[Any], child_key: Any
) -> Iterator[tuple[Any, list[Any]]]:
    """Pair each parent row with its child rows; both streams must be in the same key order."""
    groups = itertools.groupby(children, key=child_key)
    pending = next(groups, None)
    for parent in parents:
        items: list[Any] = []
        if pending is not None and pending[0] == parent_key(parent):
            items = list(pending[1])
            pending = next(groups, None)
        yield parent, items


class Store:
    """lexprep's database: SQLite by default, Postgres by URL.

    ``Store(url)`` only builds the engine; :meth:`open` also checks the connection and migrates the
    schema to the newest revision. Use it as a context manager or call :meth:`close`.
    """

    def __init__(self, url: str):
        self.url = parse_url(url)
        #: the URL without its password, for messages and logs
        self.safe_url = safe_url(self.url)
        self.engine = make_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        write_engine = self.engine.execution_options(**{WRITE_OPTION: True}) if self.is_sqlite else self.engine
        self._lock: contextlib.AbstractContextManager[Any] = (
            sqlite_lock(self.url) if self.is_sqlite else contextlib.nullcontext()
        )
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(write_engine, expire_on_commit=False)

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, url: str) -> Store:
        """A store on ``url`` with its schema migrated to the newest revision.

        Raises:
            ConfigurationError: ``cannot reach database <url without password>: <reason>`` when the
                database cannot be reached (or its driver is missing), or the migration fails.
        """
        store = cls(url)
        try:
            check_connection(store.engine, store.url)
            upgrade_engine(store.engine)
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        """Release the connection pool (the store can be reopened by making a new one)."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.safe_url!r})"

    @contextlib.contextmanager
    def _write(self) -> Iterator[Session]:
        """One write transaction (committed on success, rolled back on error)."""
        with self._translate(), self._lock, self._write_sessions.begin() as session:
            yield session

    def _lock_matter(self, session: Session, matter_id: str) -> None:
        """Serialise whole-matter rewrites (entities, graph) of one matter until the transaction ends.

        Postgres: a transaction-scoped advisory lock (two workers resolving the same matter at once
        would otherwise collide on the re-inserted ids); SQLite: nothing (writers are serialised).
        """
        if not self.is_sqlite:
            session.execute(select(func.pg_advisory_xact_lock(_matter_lock_key(matter_id))))

    @contextlib.contextmanager
    def _read(self) -> Iterator[Session]:
        with self._translate(), self._read_sessions() as session:
            yield session

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:  # lost connection, locked database, timeouts
            raise TransientError(f"database error on {self.safe_url}: {error_reason(exc, self.url)}") from None

    # ------------------------------------------------------------------ matters and documents

    def ensure_matter(self, name: str) -> str:
        """The id of the matter called ``name`` (``stable_id("matter", name)``), created if new."""
        matter_id = matter_id_for(name)
        for attempt in range(2):
            try:
                with self._write() as s:
                    if s.execute(select(t.matters.c.id).where(t.matters.c.id == matter_id)).first() is None:
                        s.execute(insert(t.matters).values(id=matter_id, name=_text(name), created_at=t.utcnow()))
                return matter_id
            except IntegrityError:  # created by another process at the same moment
                if attempt:
                    raise
        return matter_id

    def find_matter(self, name: str) -> str | None:
        """The id of the matter called ``name``, or None when it was never created."""
        with self._read() as s:
            return s.execute(select(t.matters.c.id).where(t.matters.c.name == _text(name))).scalar_one_or_none()

    def get_document(self, matter_id: str, sha256: str) -> DocumentInfo | None:
        """The stored state of the matter's document with this content, or None."""
        d = t.documents.c
        with self._read() as s:
            row = s.execute(
                select(d.id, d.status, d.pipeline_version, d.settings_fingerprint, d.parent_id, d.error).where(
                    d.matter_id == matter_id, d.sha256 == sha256
                )
            ).first()
        return None if row is None else DocumentInfo(*row)

    def register_document(
        self, matter_id: str, matter_name: str, source: SourceFile, parent_id: str | None = None
    ) -> str:
        """Record ``source`` as a document of the matter and return its id.

        The id is ``stable_id(matter_name, source.sha256)``. A new document is inserted as
        ``pending``; an existing one keeps its row and status (the first URI seen stays), except that
        a missing ``parent_id`` is filled in when one is given.

        Raises:
            ValueError: ``matter_id`` is not the id of ``matter_name``.
            KeyError: the matter does not exist (call :meth:`ensure_matter` first).
        """
        if matter_id != matter_id_for(matter_name):
            raise ValueError(f"matter id {matter_id} is not the id of matter {matter_name!r}")
        doc_id = stable_id(matter_name, source.sha256)
        if parent_id == doc_id:
            parent_id = None
        d = t.documents.c
        for attempt in range(2):
            try:
                with self._write() as s:
                    row = s.execute(select(d.parent_id).where(d.id == doc_id)).first()
                    if row is None:
                        if s.execute(select(t.matters.c.id).where(t.matters.c.id == matter_id)).first() is None:
                            raise KeyError(f"unknown matter {matter_id}")
                        now = t.utcnow()
                        s.execute(
                            insert(t.documents).values(
                                id=doc_id,
                                matter_id=matter_id,
                                sha256=source.sha256,
                                parent_id=parent_id,
                                source_uri=_text(source.uri),
                                file_name=_text(source.file_name),
                                size=source.size,
                                kind=source.kind or "unknown",
                                mime=_text(source.mime),
                                status="pending",
                                created_at=now,
                                updated_at=now,
                            )
                        )
                    elif row.parent_id is None and parent_id is not None:
                        s.execute(update(t.documents).where(d.id == doc_id).values(parent_id=parent_id))
                return doc_id
            except IntegrityError:  # inserted by another process at the same moment: take the update path
                if attempt:
                    raise
        return doc_id

    def set_status(self, document_id: str, status: str, error: str | None = None) -> None:
        """Set a document's status and error (None clears it) and touch ``updated_at``.

        Raises:
            KeyError: no such document.
        """
        with self._write() as s:
            result = s.execute(
                update(t.documents)
                .where(t.documents.c.id == document_id)
                .values(status=_value(status), error=_text(error), updated_at=t.utcnow())
            )
            if result.rowcount == 0:
                raise KeyError(f"unknown document {document_id}")

    def save_document(
        self, document_id: str, result: DocumentResult, pipeline_version: str, fingerprint: str
    ) -> None:
        """Store everything derived from one document, replacing what an earlier run stored.

        In one transaction: delete the document's pages, transcript segments, chunks and mentions; insert
        the new ones (executemany batches on SQLite, ``COPY`` on Postgres); update the document row
        (status, error, kind, mime, size, category, category_reason, title, meta, cleaned text, costs,
        pipeline_version, settings_fingerprint).

        Pages keep their OCR record (``dpi``, ``attempts``); chunks their time range and speakers
        (``start_s``, ``end_s``, ``speakers``); a segment is stored at its position in
        ``extracted.segments`` (``idx``) with its span in the cleaned text from the
        ``clean.segment_spans`` entry of the same index (None when there is none). JSON values
        (attempts, speakers, costs) are stored JSON-safe (non-JSON values as strings, NaN as null).
        Entity links of the document's mentions are gone until the matter is resolved again.
        Mentions with the same id (the same document span) are stored once (the first wins); a
        mention's ``link`` span becomes ``link_id``, the id of the mention at that span.

        Raises:
            KeyError: no such document (register it first).
            ValueError: a mention names a chunk_index the result has no chunk for.
        """
        extracted, clean = result.extracted, result.clean
        spans = {p.number: p for p in clean.page_spans} if clean is not None else {}
        page_rows = []
        for page in extracted.pages if extracted is not None else []:
            span = spans.get(page.number)
            page_rows.append(
                {
                    "document_id": document_id,
                    "number": page.number,
                    "method": _value(page.method),
                    "confidence": _float(page.confidence),
                    "text": _text(page.text) or "",
                    "error": _text(page.error),
                    "char_start": span.char_start if span else None,
                    "char_end": span.char_end if span else None,
                    "dpi": int(page.dpi) if page.dpi is not None else None,
                    "attempts": _json_safe(page.attempts),
                }
            )
        segment_spans = {sp.index: sp for sp in clean.segment_spans} if clean is not None else {}
        segment_rows = []
        for idx, seg in enumerate(extracted.segments if extracted is not None else []):
            sspan = segment_spans.get(idx)
            segment_rows.append(
                {
                    "document_id": document_id,
                    "idx": idx,
                    "start_s": _float(seg.start_s) or 0.0,
                    "end_s": _float(seg.end_s) or 0.0,
                    "text": _text(seg.text) or "",
                    "speaker": _text(seg.speaker),
                    "confidence": _float(seg.confidence),
                    "channel": int(seg.channel) if seg.channel is not None else None,
                    "char_start": sspan.char_start if sspan else None,
                    "char_end": sspan.char_end if sspan else None,
                }
            )
        chunk_ids: dict[int, str] = {}
        chunk_rows: list[dict[str, Any]] = []
        for c in result.chunks:
            cid = chunk_id_for(document_id, c.chunk_index)
            chunk_ids[c.chunk_index] = cid
            chunk_rows.append(
                {
                    "id": cid,
                    "document_id": document_id,
                    "chunk_index": c.chunk_index,
                    "text": _text(c.text),
                    "char_start": c.char_start,
                    "char_end": c.char_end,
                    "page_start": c.page_start,
                    "page_end": c.page_end,
                    "token_count": c.token_count,
                    "start_s": _float(c.start_s),
                    "end_s": _float(c.end_s),
                    "speakers": _json_safe(list(c.speakers)) if c.speakers is not None else None,
                }
            )
        mention_rows: dict[str, dict[str, Any]] = {}
        for m in result.mentions:
            cid = chunk_ids.get(m.chunk_index)
            if cid is None:
                raise ValueError(f"a mention refers to chunk_index {m.chunk_index}, which the document has no chunk for")
            label = _value(m.label)
            mid = mention_id_for(document_id, m.doc_start, m.doc_end)
            if mid in mention_rows:
                continue
            mention_rows[mid] = {
                "link_id": mention_id_for(document_id, *m.link) if m.link else None,
                "link_method": _text(m.link_method) if m.link else None,
                "scope": m.scope if m.scope != "matter" else None,
                "attrs": _json_safe(m.attrs) if m.attrs else None,
                "id": mid,
                "chunk_id": cid,
                "document_id": document_id,
                "label": label,
                "text": _text(m.text),
                "start": m.start,
                "end": m.end,
                "doc_start": m.doc_start,
                "doc_end": m.doc_end,
                "score": _float(m.score) if _float(m.score) is not None else 0.0,
                "extractor": _text(m.extractor),
                "source_label": _text(m.source_label),
                "normalized": _text(m.normalized),
                "entity_id": None,
            }
        if len(mention_rows) < len(result.mentions):
            log.debug("document %s: %d duplicate mentions stored once", document_id,
                      len(result.mentions) - len(mention_rows))
        from lexprep.store.facts import fact_rows

        facts = fact_rows(document_id, result)
        category = result.category
        doc_values = {
            "status": _value(result.status),
            "error": _text(result.error),
            "kind": (extracted.kind if extracted is not None and extracted.kind else result.source.kind) or "unknown",
            "mime": _text(result.source.mime),
            "size": result.source.size,
            "category": _value(category.category) if category is not None else None,
            "category_reason": _text(category.reason) if category is not None else None,
            "title": _text(extracted.title) if extracted is not None else None,
            "meta": _json_safe(extracted.meta) if extracted is not None else None,
            "text": _text(clean.text) if clean is not None else None,
            "costs": _json_safe(result.costs) if result.costs else None,
            "pipeline_version": pipeline_version,
            "settings_fingerprint": fingerprint,
            "updated_at": t.utcnow(),
        }

        d = t.documents.c
        with self._write() as s:
            # FOR NO KEY UPDATE (Postgres): two saves of one document wait for each other instead of
            # colliding on the re-inserted ids; SQLite writers are serialised anyway
            matter_id = s.execute(
                select(d.matter_id).where(d.id == document_id).with_for_update(key_share=True)
            ).scalar_one_or_none()
            if matter_id is None:
                raise KeyError(f"unknown document {document_id}")
            s.execute(delete(t.facts).where(t.facts.c.document_id == document_id))
            s.execute(delete(t.mentions).where(t.mentions.c.document_id == document_id))
            s.execute(delete(t.chunks).where(t.chunks.c.document_id == document_id))
            s.execute(delete(t.pages).where(t.pages.c.document_id == document_id))
            s.execute(delete(t.segments).where(t.segments.c.document_id == document_id))
            for row in chunk_rows:
                row["matter_id"] = matter_id
            for row in mention_rows.values():
                row["matter_id"] = matter_id
            for row in facts:
                row["matter_id"] = matter_id
            self._insert_many(s, t.pages, page_rows)
            self._insert_many(s, t.segments, segment_rows)
            self._insert_many(s, t.chunks, chunk_rows)
            self._insert_many(s, t.mentions, list(mention_rows.values()))
            self._insert_many(s, t.facts, facts)
            s.execute(update(t.documents).where(d.id == document_id).values(**doc_values))
        log.debug(
            "saved document %s: %d pages, %d segments, %d chunks, %d mentions, %d facts",
            document_id, len(page_rows), len(segment_rows), len(chunk_rows), len(mention_rows), len(facts),
        )

    def _insert_many(self, session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``rows`` (dicts with the same keys): ``COPY`` on Postgres, else executemany batches.

        On Postgres, COPY beats psycopg's pipelined executemany (SQLAlchemy's insertmanyvalues only
        applies to INSERT ... RETURNING on psycopg): a 3000-mention document saves in about 60% of
        the time. Rows of other drivers (e.g. psycopg2) go through executemany.
        """
        if not rows:
            return
        if not self.is_sqlite and self.engine.dialect.driver == "psycopg":
            _copy_rows(session, table, rows)
            return
        for batch in _batches(rows):
            session.execute(insert(table), list(batch))

    def has_unfinished_children(self, document_id: str) -> bool:
        """Whether an attachment of this document is registered but not yet in a terminal status
        (a run died between the parent and its attachments)."""
        d = t.documents.c
        finished = ("done", "partial", "failed", "unsupported", "skipped", "needs_ocr", "needs_transcription")
        with self._read() as s:
            return s.execute(
                select(func.count()).select_from(t.documents).where(d.parent_id == document_id, d.status.not_in(finished))
            ).scalar_one() > 0

    def mark_interrupted(self, matter_id: str, reason: str) -> int:
        """Note ``reason`` as the error of the matter's documents caught mid-way (a status that is not
        terminal: the next run redoes them). Returns how many."""
        d = t.documents.c
        terminal = ("done", "partial", "failed", "unsupported", "skipped", "needs_ocr", "needs_transcription")
        with self._write() as s:
            result = s.execute(
                update(t.documents).where(d.matter_id == matter_id, d.status.not_in(terminal))
                .values(error=_text(reason), updated_at=t.utcnow())
            )
        return int(result.rowcount or 0)

    def find_documents(self, matter_id: str, key: str) -> list[tuple[str, str, str]]:
        """Documents of the matter whose sha256, source URI, or file name is ``key``:
        ``[(id, file_name, source_uri)]``."""
        d = t.documents.c
        with self._read() as s:
            rows = s.execute(
                select(d.id, d.file_name, d.source_uri).where(
                    d.matter_id == matter_id, (d.sha256 == key.lower()) | (d.source_uri == key) | (d.file_name == key)
                ).order_by(d.source_uri)
            ).tuples().all()
        return [tuple(r) for r in rows]

    def delete_document(self, document_id: str) -> int:
        """Delete a document, its attachments (recursively) and everything derived from them (pages,
        segments, chunks, mentions cascade). Entities and relationships must be rebuilt afterwards
        (their mentions are gone). Returns the number of documents deleted."""
        d = t.documents.c
        with self._write() as s:
            ids, frontier = [document_id], [document_id]
            while frontier:
                frontier = list(s.execute(select(d.id).where(d.parent_id.in_(frontier))).scalars())
                ids.extend(frontier)
            for table in (t.facts, t.mentions, t.chunks, t.segments, t.pages):
                s.execute(delete(table).where(table.c.document_id.in_(ids)))
            s.execute(update(t.documents).where(d.parent_id.in_(ids)).values(parent_id=None))
            deleted = s.execute(delete(t.documents).where(d.id.in_(ids))).rowcount
        return int(deleted or 0)

    def document_statuses(
        self, matter_id: str, statuses: Iterable[str] | None = None
    ) -> list[tuple[str, str, str | None]]:
        """``(file_name, status, error)`` per document of the matter, by file name.

        ``statuses`` keeps only documents in those statuses (e.g. ``["failed", "unsupported"]``).
        """
        d = t.documents.c
        query = select(d.file_name, d.status, d.error).where(d.matter_id == matter_id)
        if statuses is not None:
            query = query.where(d.status.in_([_value(x) for x in statuses]))
        with self._read() as s:
            return [tuple(r) for r in s.execute(query.order_by(d.file_name, d.id))]  # type: ignore[misc]

    def document_activity(self, matter_id: str) -> list[tuple[str, str, str | None, datetime]]:
        """``(file_name, status, error, updated_at)`` per document of the matter, latest change first
        (``updated_at`` in UTC): what ``lexprep status --watch`` polls."""
        d = t.documents.c
        query = (select(d.file_name, d.status, d.error, d.updated_at).where(d.matter_id == matter_id)
                 .order_by(d.updated_at.desc(), d.file_name))
        with self._read() as s:
            return [tuple(r) for r in s.execute(query)]  # type: ignore[misc]

    def latest_run(self, matter_id: str) -> tuple[str, datetime, datetime | None] | None:
        """``(run id, started_at, finished_at or None)`` of the matter's latest run, or None."""
        r = t.runs.c
        query = select(r.id, r.started_at, r.finished_at).where(r.matter_id == matter_id)
        with self._read() as s:
            row = s.execute(query.order_by(r.started_at.desc()).limit(1)).first()
        return None if row is None else (row[0], row[1], row[2])

    # ------------------------------------------------------------------ entities and graph (lexprep.store.entities)

    @property
    def facts(self):
        """The fact aggregate: entity links, typed-graph inputs, counts, export rows."""
        from lexprep.store.facts import FactRepository

        return FactRepository(self)

    @property
    def entities(self):
        """The entity aggregate: mentions for resolution, entities, merge log, graph edges."""
        from lexprep.store.entities import EntityRepository

        return EntityRepository(self)

    @property
    def overrides(self):
        """The overrides aggregate: a person's splits and merges, and the merge audit (lexprep.store.overrides)."""
        from lexprep.store.overrides import OverrideRepository

        return OverrideRepository(self)

    def list_mentions(self, matter_id: str):
        """See :meth:`lexprep.store.entities.EntityRepository.list_mentions`."""
        return self.entities.list_mentions(matter_id)

    def replace_entities(self, matter_id: str, entities: list[Entity], assignments: dict[str, str],
                         merges: list[MergeRecord]) -> None:
        """See :meth:`lexprep.store.entities.EntityRepository.replace_entities`."""
        self.entities.replace_entities(matter_id, entities, assignments, merges)

    def graph_inputs(self, matter_id: str):
        """See :meth:`lexprep.store.entities.EntityRepository.graph_inputs`."""
        return self.entities.graph_inputs(matter_id)

    def replace_relationships(self, matter_id: str, relationships: list[Relationship]) -> None:
        """See :meth:`lexprep.store.entities.EntityRepository.replace_relationships`."""
        self.entities.replace_relationships(matter_id, relationships)

    # ------------------------------------------------------------------ runs

    def start_run(self, matter_id: str) -> str:
        """Record the start of a run of the matter; returns the run id (a uuid4 hex)."""
        run_id = uuid.uuid4().hex
        with self._write() as s:
            s.execute(insert(t.runs).values(id=run_id, matter_id=matter_id, started_at=t.utcnow()))
        return run_id

    def finish_run(self, run_id: str, summary: dict[str, Any]) -> None:
        """Record a run's end and its JSON summary (non-JSON values are stored as strings).

        Raises:
            KeyError: no such run.
        """
        with self._write() as s:
            result = s.execute(
                update(t.runs)
                .where(t.runs.c.id == run_id)
                .values(finished_at=t.utcnow(), summary=_json_safe(summary))
            )
            if result.rowcount == 0:
                raise KeyError(f"unknown run {run_id}")

    # ------------------------------------------------------------------ quality gates

    def save_quality(self, matter_id: str, run_id: str | None, report: dict[str, Any]) -> str:
        """Record one run of the quality gates (lexprep.quality) in ``quality_results``; returns its id.

        ``success`` is ``report["success"]``; the report is stored as JSON (non-JSON values as strings).

        Raises:
            KeyError: no such matter, or ``run_id`` is not a run of this store (:meth:`start_run`).
        """
        row_id = uuid.uuid4().hex
        with self._write() as s:
            if s.execute(select(t.matters.c.id).where(t.matters.c.id == matter_id)).first() is None:
                raise KeyError(f"unknown matter {matter_id}")
            if run_id is not None and s.execute(select(t.runs.c.id).where(t.runs.c.id == run_id)).first() is None:
                raise KeyError(f"unknown run {run_id}")
            s.execute(
                insert(t.quality_results).values(
                    id=row_id,
                    matter_id=matter_id,
                    run_id=run_id,
                    created_at=t.utcnow(),
                    success=bool(report.get("success")),
                    report=_json_safe(report),
                )
            )
        return row_id

    def quarantine(self, table: str, ids: Iterable[str]) -> int:
        """Flag rows of ``table`` (documents, chunks or mentions) as quarantined; returns rows flagged.

        Quarantined rows stay in the store but are left out of :meth:`export` (with a document, its
        chunks and their mentions). Unknown ids are ignored. Re-saving a document clears the flags of
        its rows (they are inserted anew).

        Raises:
            ValueError: ``table`` is not one of ``QUARANTINE_TABLES``.
        """
        if table not in QUARANTINE_TABLES:
            raise ValueError(f"cannot quarantine rows of {table!r} (only {', '.join(QUARANTINE_TABLES)})")
        target: Table = getattr(t, table)
        rows = [{"b_id": i} for i in dict.fromkeys(ids)]
        if not rows:
            return 0
        stmt = update(target).where(target.c.id == bindparam("b_id")).values(quarantined=True)
        flagged = 0
        with self._write() as s:
            for batch in _batches(rows):
                result = s.execute(stmt, list(batch))
                flagged += max(result.rowcount or 0, 0)
        return flagged

    def clear_quarantine(self, matter_id: str) -> None:
        """Clear the quarantine flag of every document, chunk and mention of the matter."""
        with self._write() as s:
            for table in QUARANTINE_TABLES:
                target: Table = getattr(t, table)
                s.execute(
                    update(target)
                    .where(target.c.matter_id == matter_id, target.c.quarantined.is_(True))
                    .values(quarantined=False)
                )

    # ------------------------------------------------------------------ status

    def status(self, matter_id: str) -> dict[str, Any]:
        """Counts for the matter, each from a GROUP BY query.

        Returns:
            ``{"matter": name, "matter_id", "documents": n, "documents_by_status": {status: n},
            "pages", "pages_by_method", "chunks", "mentions", "mentions_by_label", "entities",
            "entities_by_label", "relationships", "relationships_by_type", "facts": n, "facts_by_kind":
            {kind: n}, "facts_rejected": n (facts whose evidence failed verification, not stored), "categories":
            {category: n} (documents with a category), "segments": n, "audio_seconds": x, "costs":
            {"ocr_pages": {engine: n}, "audio_seconds", "api_tokens_in", "api_tokens_out",
            "estimated_cost_usd"}, "last_run": {id, started_at, finished_at} or None}``. The full
            summary of a run is in the ``runs`` table.

            ``costs`` is the sum of the documents' cost ledgers (``documents.costs``, read in Python
            so that it works alike on SQLite and Postgres JSON; other numeric keys of a ledger are
            summed too); ``audio_seconds`` is ``costs["audio_seconds"]``, i.e. the ledgers' audio
            seconds (what was transcribed), not the segments' time ranges.

        Raises:
            KeyError: no such matter.
        """
        d, p, c, m, e, r = (t.documents.c, t.pages.c, t.chunks.c, t.mentions.c, t.entities.c, t.relationships.c)

        def grouped(s: Session, col: Any, *where: Any, join: Any = None) -> dict[str, int]:
            q = select(col, func.count()).select_from(join if join is not None else col.table).where(*where)
            return {k: n for k, n in s.execute(q.group_by(col).order_by(col)).tuples()}

        with self._read() as s:
            name = s.execute(select(t.matters.c.name).where(t.matters.c.id == matter_id)).scalar_one_or_none()
            if name is None:
                raise KeyError(f"unknown matter {matter_id}")
            by_status = grouped(s, d.status, d.matter_id == matter_id)
            by_method = grouped(
                s, p.method, d.matter_id == matter_id, join=t.pages.join(t.documents, p.document_id == d.id)
            )
            n_chunks = s.execute(select(func.count()).select_from(t.chunks).where(c.matter_id == matter_id)).scalar_one()
            by_label = grouped(s, m.label, m.matter_id == matter_id)
            entities_by_label = grouped(s, e.label, e.matter_id == matter_id)
            by_type = grouped(s, r.type, r.matter_id == matter_id)
            categories = grouped(s, d.category, d.matter_id == matter_id, d.category.is_not(None))
            n_segments = s.execute(
                select(func.count()).select_from(t.segments.join(t.documents, t.segments.c.document_id == d.id))
                .where(d.matter_id == matter_id)
            ).scalar_one()
            costs = _sum_costs(
                s.execute(
                    select(d.costs)
                    .where(d.matter_id == matter_id, d.costs.is_not(None))
                    .execution_options(yield_per=EXPORT_YIELD_PER)
                ).scalars()
            )
            run = s.execute(
                select(t.runs).where(t.runs.c.matter_id == matter_id).order_by(t.runs.c.started_at.desc()).limit(1)
            ).first()
        fact_counts = self.facts.counts(matter_id)
        return {
            "matter": name,
            "matter_id": matter_id,
            "documents": sum(by_status.values()),
            "documents_by_status": by_status,
            "pages": sum(by_method.values()),
            "pages_by_method": by_method,
            "chunks": n_chunks,
            "mentions": sum(by_label.values()),
            "mentions_by_label": by_label,
            "entities": sum(entities_by_label.values()),
            "entities_by_label": entities_by_label,
            "relationships": sum(by_type.values()),
            "relationships_by_type": by_type,
            "facts": fact_counts["facts"],
            "facts_by_kind": fact_counts["facts_by_kind"],
            "facts_rejected": fact_counts["facts_rejected"],
            "categories": categories,
            "segments": n_segments,
            "audio_seconds": costs["audio_seconds"],
            "costs": costs,
            "last_run": None
            if run is None
            else {
                "id": run.id,
                "started_at": run.started_at.isoformat(),
                "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            },
        }

    # ------------------------------------------------------------------ export

    def export(self, matter_id: str, out_dir: Path) -> dict[str, int]:
        """Write the matter as JSONL files in ``out_dir`` (created if needed); rows written per file.

        Rows quarantined by a quality gate are left out: a quarantined document with its pages and
        chunks, a quarantined chunk with its mentions, a quarantined mention.

        Files (one JSON object per line, UTF-8, ``ensure_ascii=False``), streamed from the database
        in one read transaction so that a big matter is never all in memory; each file is written
        beside its final name and renamed into place when complete:

        - ``documents.jsonl``: id, parent_id, source_uri, file_name, sha256, size, kind, mime, status,
          error, category, category_reason, title, meta, pipeline_version, costs (the cost ledger or
          null), pages: [{number, method, confidence, text, error, char_start, char_end, dpi,
          attempts}], segments: [{index, start_s, end_s, text, speaker, confidence, channel,
          char_start, char_end}] (a recording's transcript, else [])
        - ``chunks.jsonl``: id, document_id, chunk_index, text, char_start, char_end, page_start,
          page_end, token_count, start_s, end_s, speakers (null unless a recording's),
          mentions: [{id, label, text, start, end, entity_id}]: every mention whose span lies in the
          chunk (a mention in the overlap of two chunks is listed by both, with the same id), offsets
          relative to the chunk
        - ``mentions.jsonl``: one row per mention (one per document span): id, document_id, label, text,
          doc_start, doc_end, chunk_id (the first chunk holding it), entity_id, normalized, extractor,
          source_label, score, link_id, link_method, scope, attrs
        - ``entities.jsonl``: id, label, name, aliases, mention_count, document_id (set for an entity
          resolved inside one document only)
        - ``relationships.jsonl``: id, source, source_kind, target, target_kind, type, weight,
          evidence_chunk (a chunk id or null), role (typed edges: PARTY_TO's role, RECEIVED's to/cc/bcc)
        - ``facts.jsonl``: see :meth:`lexprep.store.facts.FactRepository.export_rows`

        Returns:
            ``{"documents.jsonl": n, "chunks.jsonl": n, "mentions.jsonl": n, "entities.jsonl": n,
            "relationships.jsonl": n, "facts.jsonl": n}``.

        Raises:
            KeyError: no such matter.
        """
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        counts: dict[str, int] = {}
        with self._translate(), self.engine.connect() as conn, conn.begin():
            if conn.execute(select(t.matters.c.id).where(t.matters.c.id == matter_id)).first() is None:
                raise KeyError(f"unknown matter {matter_id}")
            for name, rows in (
                ("documents.jsonl", self._export_documents(conn, matter_id)),
                ("chunks.jsonl", self._export_chunks(conn, matter_id)),
                ("mentions.jsonl", self._export_mentions(conn, matter_id)),
                ("entities.jsonl", self._export_entities(conn, matter_id)),
                ("relationships.jsonl", self._export_relationships(conn, matter_id)),
                ("facts.jsonl", self.facts.export_rows(conn, matter_id)),
            ):
                counts[name] = _write_jsonl(out_dir / name, rows)
        log.info("exported matter %s to %s: %s", matter_id, out_dir, counts)
        return counts

    @staticmethod
    def _stream(conn: Any, query: Any) -> Any:
        return conn.execute(query.execution_options(yield_per=EXPORT_YIELD_PER))

    def _export_documents(self, conn: Any, matter_id: str) -> Iterator[dict[str, Any]]:
        d, p, sg = t.documents.c, t.pages.c, t.segments.c
        docs = self._stream(
            conn,
            select(
                d.id, d.parent_id, d.source_uri, d.file_name, d.sha256, d.size, d.kind, d.mime, d.status, d.error,
                d.category, d.category_reason, d.title, d.meta, d.pipeline_version, d.costs,
            )
            .where(d.matter_id == matter_id, d.quarantined.is_(False))
            .order_by(d.id),
        )
        pages = self._stream(
            conn,
            select(p.document_id, p.number, p.method, p.confidence, p.text, p.error, p.char_start, p.char_end,
                   p.dpi, p.attempts)
            .join(t.documents, p.document_id == d.id)
            .where(d.matter_id == matter_id, d.quarantined.is_(False))
            .order_by(p.document_id, p.number),
        )
        segments = self._stream(
            conn,
            select(sg.document_id, sg.idx, sg.start_s, sg.end_s, sg.text, sg.speaker, sg.confidence, sg.channel,
                   sg.char_start, sg.char_end)
            .join(t.documents, sg.document_id == d.id)
            .where(d.matter_id == matter_id, d.quarantined.is_(False))
            .order_by(sg.document_id, sg.idx),
        )
        with_pages = _group_children(docs, lambda r: r.id, pages, lambda r: r.document_id)
        for (doc, doc_pages), doc_segments in _group_children(
            with_pages, lambda pair: pair[0].id, segments, lambda r: r.document_id
        ):
            row = dict(doc._mapping)
            row["pages"] = [
                {
                    "number": pg.number,
                    "method": pg.method,
                    "confidence": pg.confidence,
                    "text": pg.text,
                    "error": pg.error,
                    "char_start": pg.char_start,
                    "char_end": pg.char_end,
                    "dpi": pg.dpi,
                    "attempts": pg.attempts,
                }
                for pg in doc_pages
            ]
            row["segments"] = [
                {
                    "index": sgr.idx,
                    "start_s": sgr.start_s,
                    "end_s": sgr.end_s,
                    "text": sgr.text,
                    "speaker": sgr.speaker,
                    "confidence": sgr.confidence,
                    "channel": sgr.channel,
                    "char_start": sgr.char_start,
                    "char_end": sgr.char_end,
                }
                for sgr in doc_segments
            ]
            yield row

    def _doc_mentions(self, conn: Any, matter_id: str) -> Iterator[tuple[str, list[Any]]]:
        """``(document_id, its exported mentions by doc_start)`` for every document with mentions."""
        m, d = t.mentions.c, t.documents.c
        rows = self._stream(
            conn,
            select(m.document_id, m.id, m.chunk_id, m.label, m.text, m.doc_start, m.doc_end, m.entity_id, m.normalized,
                   m.extractor, m.source_label, m.score, m.link_id, m.link_method, m.scope, m.attrs)
            .join(t.documents, m.document_id == d.id)
            .where(m.matter_id == matter_id, m.quarantined.is_(False), d.quarantined.is_(False))
            .order_by(m.document_id, m.doc_start, m.doc_end),
        )
        for doc_id, group in itertools.groupby(rows, key=lambda r: r.document_id):
            yield doc_id, list(group)

    def _export_chunks(self, conn: Any, matter_id: str) -> Iterator[dict[str, Any]]:
        c, d = t.chunks.c, t.documents.c
        chunks = self._stream(
            conn,
            select(c.id, c.document_id, c.chunk_index, c.text, c.char_start, c.char_end, c.page_start, c.page_end,
                   c.token_count, c.start_s, c.end_s, c.speakers)
            .join(t.documents, c.document_id == d.id)
            .where(c.matter_id == matter_id, c.quarantined.is_(False), d.quarantined.is_(False))
            .order_by(c.document_id, c.chunk_index),
        )
        per_doc = self._doc_mentions(conn, matter_id)
        pending = next(per_doc, None)
        for doc_id, doc_chunks in itertools.groupby(chunks, key=lambda r: r.document_id):
            while pending is not None and pending[0] < doc_id:
                pending = next(per_doc, None)
            mentions = pending[1] if pending is not None and pending[0] == doc_id else []
            for chunk in doc_chunks:
                row = dict(chunk._mapping)
                row["mentions"] = [
                    {"id": mn.id, "label": mn.label, "text": mn.text, "start": mn.doc_start - chunk.char_start,
                     "end": mn.doc_end - chunk.char_start, "entity_id": mn.entity_id}
                    for mn in mentions
                    if (chunk.char_start <= mn.doc_start and mn.doc_end <= chunk.char_end) or mn.chunk_id == chunk.id
                ]
                yield row

    def _export_mentions(self, conn: Any, matter_id: str) -> Iterator[dict[str, Any]]:
        for _doc_id, mentions in self._doc_mentions(conn, matter_id):
            for mn in mentions:
                yield {
                    "id": mn.id, "document_id": mn.document_id, "label": mn.label, "text": mn.text,
                    "doc_start": mn.doc_start, "doc_end": mn.doc_end, "chunk_id": mn.chunk_id,
                    "entity_id": mn.entity_id, "normalized": mn.normalized, "extractor": mn.extractor,
                    "source_label": mn.source_label, "score": mn.score, "link_id": mn.link_id, "link_method": mn.link_method,
                    "scope": mn.scope or "matter", "attrs": mn.attrs,
                }

    def _export_entities(self, conn: Any, matter_id: str) -> Iterator[dict[str, Any]]:
        e = t.entities.c
        rows = self._stream(
            conn,
            select(e.id, e.label, e.name, e.aliases, e.mention_count, e.document_id)
            .where(e.matter_id == matter_id)
            .order_by(e.label, e.name, e.id),
        )
        for r in rows:
            yield dict(r._mapping)

    def _export_relationships(self, conn: Any, matter_id: str) -> Iterator[dict[str, Any]]:
        r = t.relationships.c
        rows = self._stream(
            conn,
            select(r.id, r.source_id, r.source_kind, r.target_id, r.target_kind, r.type, r.weight,
                   r.evidence_chunk_id, r.role)
            .where(r.matter_id == matter_id)
            .order_by(r.type, r.source_id, r.target_id),
        )
        for rel in rows:
            yield {
                "id": rel.id,
                "source": rel.source_id,
                "source_kind": rel.source_kind,
                "target": rel.target_id,
                "target_kind": rel.target_kind,
                "type": rel.type,
                "weight": rel.weight,
                "evidence_chunk": rel.evidence_chunk_id,
                "role": rel.role,
            }


#: the keys of a cost ledger (models.DocumentResult.costs), with their empty values
COST_KEYS: dict[str, Any] = {
    "ocr_pages": {},
    "audio_seconds": 0.0,
    "api_tokens_in": 0,
    "api_tokens_out": 0,
    "estimated_cost_usd": 0.0,
}


def _number(v: Any) -> float | int | None:
    """``v`` when it is a finite number (not a bool), else None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return v if math.isfinite(v) else None


def _sum_costs(ledgers: Iterable[Any]) -> dict[str, Any]:
    """The sum of cost ledgers: numbers add up, ``{name: number}`` maps add up per name.

    Always has the keys of ``COST_KEYS``; other keys a ledger carries are summed the same way.
    Values that are neither (strings, lists, nulls, a ledger that is not a mapping) are ignored.
    Float totals are rounded (seconds to the millisecond, dollars to 1e-6) to hide float noise.
    """
    total: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in COST_KEYS.items()}
    for ledger in ledgers:
        if isinstance(ledger, str):  # a JSON string (a driver that does not decode JSON)
            try:
                ledger = json.loads(ledger)
            except ValueError:
                continue
        if not isinstance(ledger, dict):
            continue
        for key, value in ledger.items():
            if isinstance(value, dict):
                into = total.setdefault(key, {})
                if not isinstance(into, dict):
                    continue
                for name, n in value.items():
                    if (n := _number(n)) is not None:
                        into[name] = into.get(name, 0) + n
            elif (n := _number(value)) is not None:
                current = total.setdefault(key, 0)
                if isinstance(current, (int, float)):
                    total[key] = current + n
    for key, value in total.items():
        if isinstance(value, float):
            total[key] = round(value, 6 if key.endswith("_usd") else 3)
    total["ocr_pages"] = dict(sorted(total["ocr_pages"].items()))
    return total


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write ``rows`` to ``path`` (via a temporary file renamed into place); returns the row count."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False))
                f.write("\n")
                n += 1
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n
