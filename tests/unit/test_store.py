"""lexprep.store: migrations, the repository, status counts and the JSONL export.

Tests taking ``store_url`` (or ``store``) run twice: on a SQLite file in tmp_path and on a fresh PostgreSQL
database (the ``[postgres]`` case is marked ``integration`` and skipped when no server binaries exist;
see tests/conftest.py). Tests taking ``url`` are about SQLite alone.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from datetime import timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from lexprep.errors import ConfigurationError
from lexprep.models import (
    CategoryResult,
    Chunk,
    CleanText,
    DocStatus,
    DocumentResult,
    Entity,
    ExtractedDocument,
    Mention,
    MergeRecord,
    Page,
    PageSpan,
    Relationship,
    Segment,
    SegmentSpan,
    SourceFile,
    sha256_bytes,
    stable_id,
)
from lexprep.store import EXPORT_FILES, Store, chunk_id_for, make_engine, mention_id_for, migrate
from lexprep.store import schema as t

pytestmark = pytest.mark.unit

MATTER = "Acme v. Widget"
TABLES = {
    "matters", "documents", "pages", "segments", "chunks", "mentions", "entities", "entity_merges", "relationships",
    "runs",
}
#: status()["costs"] of a matter without cost ledgers
NO_COSTS = {"ocr_pages": {}, "audio_seconds": 0.0, "api_tokens_in": 0, "api_tokens_out": 0, "estimated_cost_usd": 0.0}


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A SQLite file (for the SQLite-only tests)."""
    return f"sqlite:///{tmp_path / 'lexprep.db'}"


@pytest.fixture
def store(store_url: str):
    s = Store.open(store_url)
    yield s
    s.close()


def source(name: str = "complaint.pdf", content: bytes = b"complaint", parent: str | None = None) -> SourceFile:
    return SourceFile(
        uri=f"/matter/{name}", file_name=name, sha256=sha256_bytes(content), size=len(content), kind="pdf",
        mime="application/pdf", parent_sha256=parent,
    )


def build_result(src: SourceFile, n_pages: int = 3, chunks_per_page: int = 2, mentions_per_chunk: int = 2,
                 status: str = DocStatus.done, repeat: int = 2) -> DocumentResult:
    """A hand-built result: pages of text, chunks tiling the cleaned text, mentions in each chunk."""
    page_texts = [f"Page {i} John Smith sued Acme Corp in Boston. " * repeat for i in range(1, n_pages + 1)]
    pages = [Page(number=i + 1, method="text_layer", text=txt) for i, txt in enumerate(page_texts)]
    text, spans = "", []
    for i, txt in enumerate(page_texts):
        if text:
            text += "\n\n"
        spans.append(PageSpan(number=i + 1, char_start=len(text), char_end=len(text) + len(txt)))
        text += txt
    chunks, mentions = [], []
    for span in spans:
        half = (span.char_start + span.char_end) // 2
        for a, b in ((span.char_start, half), (half, span.char_end)) if chunks_per_page == 2 else [
            (span.char_start + k * (span.char_end - span.char_start) // chunks_per_page,
             span.char_start + (k + 1) * (span.char_end - span.char_start) // chunks_per_page)
            for k in range(chunks_per_page)
        ]:
            idx = len(chunks)
            ctext = text[a:b]
            chunks.append(Chunk(chunk_index=idx, text=ctext, char_start=a, char_end=b, page_start=span.number,
                                page_end=span.number, token_count=len(ctext.split())))
            for k in range(mentions_per_chunk):
                start = k % max(1, len(ctext) - 4)
                label = ("PERSON", "ORG", "GPE", "DATE")[k % 4]
                mentions.append(Mention(chunk_index=idx, label=label, text=ctext[start:start + 4], start=start,
                                        end=start + 4, doc_start=a + start, doc_end=a + start + 4,
                                        score=0.9, extractor="spacy", source_label=label))
    return DocumentResult(
        source=src,
        status=status,
        extracted=ExtractedDocument(kind="pdf", pages=pages, meta={"title": "Complaint", "page_count": n_pages},
                                    title="Complaint"),
        clean=CleanText(text=text, page_spans=spans),
        category=CategoryResult(category="pleading", reason="caption and 'COMPLAINT' heading"),
        chunks=chunks,
        mentions=mentions,
    )


SEGMENTS = [
    Segment(start_s=0.0, end_s=4.5, text="Please state your name.", speaker="SPEAKER_0", confidence=0.93),
    Segment(start_s=4.5, end_s=7.25, text="John Smith.", speaker="SPEAKER_1", confidence=None, channel=1),
    Segment(start_s=7.25, end_s=12.5, text="Where do you work? Acme Corp.", speaker=None, confidence=0.8),
]


def build_recording(src: SourceFile, segments: list[Segment] | None = None,
                    costs: dict | None = None) -> DocumentResult:
    """A hand-built transcribed recording: segments, their spans in the cleaned text, time-ranged chunks
    (one per two segments) with speakers, mentions, and a cost ledger."""
    segments = list(SEGMENTS if segments is None else segments)
    text, spans = "", []
    for i, seg in enumerate(segments):
        if text:
            text += "\n"
        spans.append(SegmentSpan(index=i, char_start=len(text), char_end=len(text) + len(seg.text),
                                 start_s=seg.start_s, end_s=seg.end_s, speaker=seg.speaker))
        text += seg.text
    chunks, mentions = [], []
    for idx, k in enumerate(range(0, len(segments), 2)):
        group = spans[k:k + 2]
        a, b = group[0].char_start, group[-1].char_end
        speakers = list(dict.fromkeys(sp.speaker for sp in group if sp.speaker))
        chunks.append(Chunk(chunk_index=idx, text=text[a:b], char_start=a, char_end=b, page_start=None,
                            page_end=None, token_count=len(text[a:b].split()), start_s=group[0].start_s,
                            end_s=group[-1].end_s, speakers=speakers))
        mentions.append(Mention(chunk_index=idx, label="PERSON", text=text[a:a + 4], start=0, end=4, doc_start=a,
                                doc_end=a + 4))
    return DocumentResult(
        source=src,
        status=DocStatus.done,
        extracted=ExtractedDocument(kind="audio", pages=[], segments=segments, meta={"duration_s": 12.5}),
        clean=CleanText(text=text, page_spans=[], segment_spans=spans),
        category=CategoryResult(category="transcript", reason="a recording"),
        chunks=chunks,
        mentions=mentions,
        costs={"audio_seconds": 12.5, "api_tokens_in": 0, "api_tokens_out": 0, "estimated_cost_usd": 0.075}
        if costs is None else costs,
    )


def build_scanned(src: SourceFile) -> DocumentResult:
    """build_result's document as if OCRed: pages with a render dpi, an escalation record and a ledger."""
    result = build_result(src, n_pages=2, chunks_per_page=1, mentions_per_chunk=1, status=DocStatus.partial)
    first, second = result.extracted.pages
    first.method, first.confidence, first.dpi = "tesseract", 0.91, 300
    first.attempts = [{"engine": "rapidocr", "confidence": 0.42, "error": None},
                      {"engine": "tesseract", "confidence": 0.91, "error": None}]
    second.method, second.confidence, second.dpi, second.error = "needs_ocr", None, 200, "all engines failed"
    second.attempts = [{"engine": "rapidocr", "confidence": float("nan"), "error": "timeout"}]
    result.costs = {"ocr_pages": {"rapidocr": 2, "tesseract": 1}, "audio_seconds": 0.0, "api_tokens_in": 0,
                    "api_tokens_out": 0, "estimated_cost_usd": 0.0}
    return result


def count(store: Store, table, **where) -> int:
    with store.engine.connect() as conn:
        q = select(func.count()).select_from(table)
        for k, v in where.items():
            q = q.where(table.c[k] == v)
        return conn.execute(q).scalar_one()


def add_document(store: Store, src: SourceFile | None = None, **kw) -> tuple[str, str, DocumentResult]:
    matter_id = store.ensure_matter(MATTER)
    src = src or source()
    doc_id = store.register_document(matter_id, MATTER, src, None)
    result = build_result(src, **kw)
    store.save_document(doc_id, result, "1", "fp")
    return matter_id, doc_id, result


# ---------------------------------------------------------------------------- migrations


def test_migrate_creates_tables(store_url: str):
    url = store_url
    migrate(url)
    engine = make_engine(url)
    try:
        names = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
            if engine.dialect.name == "sqlite":
                pragmas = {
                    "foreign_keys": conn.exec_driver_sql("PRAGMA foreign_keys").scalar(),
                    "journal_mode": conn.exec_driver_sql("PRAGMA journal_mode").scalar(),
                    "busy_timeout": conn.exec_driver_sql("PRAGMA busy_timeout").scalar(),
                }
                assert pragmas == {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 30000}
    finally:
        engine.dispose()
    assert TABLES <= names
    from alembic.script import ScriptDirectory

    from lexprep.store.db import alembic_config

    assert "alembic_version" in names and version == ScriptDirectory.from_config(alembic_config()).get_current_head()
    migrate(url)  # a second run is a no-op


def test_migration_matches_orm_metadata(store_url: str):
    url = store_url
    migrate(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            diff = compare_metadata(ctx, t.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_migrations_are_packaged():
    from lexprep.store.db import migrations_path

    root = migrations_path()
    assert (root / "env.py").is_file()
    assert (root / "script.py.mako").is_file()
    assert (root / "versions" / "0001_initial.py").is_file()


# ---------------------------------------------------------------------------- documents


def test_register_twice_is_idempotent(store: Store):
    matter_id = store.ensure_matter(MATTER)
    assert store.ensure_matter(MATTER) == matter_id == stable_id("matter", MATTER)
    assert store.find_matter(MATTER) == matter_id and store.find_matter("nobody") is None
    src = source()
    doc_id = store.register_document(matter_id, MATTER, src, None)
    assert doc_id == stable_id(MATTER, src.sha256)
    store.set_status(doc_id, DocStatus.done)
    # the same content again (another path): same id, status kept, no second row
    again = SourceFile(uri="/elsewhere/copy.pdf", file_name="copy.pdf", sha256=src.sha256, size=src.size, kind="pdf")
    assert store.register_document(matter_id, MATTER, again, None) == doc_id
    assert count(store, t.documents) == 1
    info = store.get_document(matter_id, src.sha256)
    assert info is not None and info.id == doc_id and info.status == "done" and info.parent_id is None
    assert store.get_document(matter_id, "0" * 64) is None
    # a parent is filled in when it was missing, but never replaced
    email = store.register_document(matter_id, MATTER, source("mail.eml", b"mail"), None)
    other = store.register_document(matter_id, MATTER, source("other.eml", b"other"), None)
    store.register_document(matter_id, MATTER, src, email)
    store.register_document(matter_id, MATTER, src, other)
    assert store.get_document(matter_id, src.sha256).parent_id == email


def test_register_checks_matter(store: Store):
    with pytest.raises(ValueError):
        store.register_document(stable_id("matter", "other"), MATTER, source(), None)
    with pytest.raises(KeyError):
        store.register_document(stable_id("matter", "nobody"), "nobody", source(), None)


def test_set_status_and_unknown_document(store: Store):
    matter_id, doc_id, _ = add_document(store)
    store.set_status(doc_id, "failed", "truncated PDF")
    assert store.document_statuses(matter_id) == [("complaint.pdf", "failed", "truncated PDF")]
    assert store.document_statuses(matter_id, ["done"]) == []
    with pytest.raises(KeyError):
        store.set_status("f" * 32, "done")
    with pytest.raises(KeyError):
        store.save_document("f" * 32, build_result(source()), "1", "fp")


def test_save_document_twice_replaces(store: Store):
    matter_id, doc_id, result = add_document(store)
    store.save_document(doc_id, result, "1", "fp")
    assert count(store, t.pages) == 3
    assert count(store, t.chunks) == 6
    assert count(store, t.mentions) == 12
    with store.engine.connect() as conn:
        doc = conn.execute(select(t.documents).where(t.documents.c.id == doc_id)).one()
        page2 = conn.execute(select(t.pages).where(t.pages.c.number == 2)).one()
        chunk0 = conn.execute(select(t.chunks).where(t.chunks.c.chunk_index == 0)).one()
    assert doc.status == "done" and doc.category == "pleading" and doc.title == "Complaint"
    assert doc.meta == {"title": "Complaint", "page_count": 3}
    assert doc.text == result.clean.text and doc.pipeline_version == "1" and doc.settings_fingerprint == "fp"
    assert doc.updated_at.tzinfo is not None and doc.updated_at.utcoffset() == timezone.utc.utcoffset(None)
    span = result.clean.page_spans[1]
    assert (page2.char_start, page2.char_end) == (span.char_start, span.char_end)
    assert chunk0.id == chunk_id_for(doc_id, 0) == stable_id(doc_id, 0)
    m0 = result.mentions[0]
    assert count(store, t.mentions, id=mention_id_for(doc_id, m0.doc_start, m0.doc_end)) == 1
    info = store.get_document(matter_id, result.source.sha256)
    assert (info.status, info.pipeline_version, info.settings_fingerprint) == ("done", "1", "fp")


def test_save_document_uses_executemany(store: Store, monkeypatch):
    """Pages, chunks and mentions go in as a few executemany calls (SQLite) or COPYs (Postgres), not one
    statement per row."""
    from sqlalchemy import event

    from lexprep.store import repository

    copies: list[str] = []
    copy_rows = repository._copy_rows

    def recording_copy(session, table, rows):
        copies.append(table.name)
        copy_rows(session, table, rows)

    monkeypatch.setattr(repository, "_copy_rows", recording_copy)

    matter_id = store.ensure_matter(MATTER)
    src = source()
    doc_id = store.register_document(matter_id, MATTER, src, None)
    calls: list[tuple[str, bool]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        calls.append((statement.split()[0].upper(), executemany))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        result = build_result(src, n_pages=10, chunks_per_page=5, mentions_per_chunk=20)
        store.save_document(doc_id, result, "1", "fp")
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    inserts = [c for c in calls if c[0] == "INSERT"]
    # one row per document span (the builder places some mentions at the same document span twice)
    assert count(store, t.mentions) == len({(m.doc_start, m.doc_end) for m in result.mentions}) > 500
    if store.is_sqlite:
        assert len(inserts) == 3 and all(many for _, many in inserts) and copies == []
    else:  # COPY FROM STDIN, which SQLAlchemy's cursor events do not see
        assert inserts == [] and copies == ["pages", "chunks", "mentions"]
    assert len(calls) <= 11  # BEGIN, the document's row, 5 deletes (facts, mentions, chunks, pages, segments), inserts


def test_resave_cascades_and_shrinks(store: Store):
    matter_id, doc_id, _ = add_document(store, n_pages=4, chunks_per_page=2, mentions_per_chunk=3)
    assert (count(store, t.pages), count(store, t.chunks), count(store, t.mentions)) == (4, 8, 24)
    store.save_document(doc_id, build_result(source(), n_pages=2, chunks_per_page=1, mentions_per_chunk=1), "2", "fp2")
    assert (count(store, t.pages), count(store, t.chunks), count(store, t.mentions)) == (2, 2, 2)
    # a failed re-run clears derived rows
    failed = DocumentResult(source=source(), status=DocStatus.failed, error="cannot read")
    store.save_document(doc_id, failed, "2", "fp2")
    assert (count(store, t.pages), count(store, t.chunks), count(store, t.mentions)) == (0, 0, 0)
    assert store.get_document(matter_id, source().sha256).status == "failed"


def test_delete_document_cascades_in_database(store: Store):
    _, doc_id, _ = add_document(store)
    with store.engine.begin() as conn:  # ON DELETE CASCADE in the database (foreign_keys pragma on)
        conn.execute(t.documents.delete().where(t.documents.c.id == doc_id))
    assert (count(store, t.pages), count(store, t.chunks), count(store, t.mentions)) == (0, 0, 0)


def test_duplicate_mentions_stored_once_and_bad_chunk_index(store: Store):
    matter_id = store.ensure_matter(MATTER)
    src = source()
    doc_id = store.register_document(matter_id, MATTER, src, None)
    result = build_result(src, n_pages=1, chunks_per_page=1, mentions_per_chunk=1)
    result.mentions.append(Mention(**{**_mention_dict(result.mentions[0]), "extractor": "rules"}))
    store.save_document(doc_id, result, "1", "fp")
    assert count(store, t.mentions) == 1
    result.mentions.append(Mention(chunk_index=99, label="ORG", text="x", start=0, end=1, doc_start=0, doc_end=1))
    with pytest.raises(ValueError):
        store.save_document(doc_id, result, "1", "fp")
    assert count(store, t.mentions) == 1  # the failed save changed nothing


def _mention_dict(m: Mention) -> dict:
    return {s: getattr(m, s) for s in Mention.__slots__}


# ---------------------------------------------------------------------------- recordings, OCR and costs


def test_save_recording_segments_chunks_and_costs(store: Store):
    matter_id = store.ensure_matter(MATTER)
    src = source("deposition.wav", b"RIFF audio")
    doc_id = store.register_document(matter_id, MATTER, src, None)
    result = build_recording(src)
    store.save_document(doc_id, result, "1", "fp")
    with store.engine.connect() as conn:
        segs = conn.execute(select(t.segments).order_by(t.segments.c.idx)).all()
        chunks = conn.execute(select(t.chunks).order_by(t.chunks.c.chunk_index)).all()
        doc = conn.execute(select(t.documents).where(t.documents.c.id == doc_id)).one()
    assert [(s.document_id, s.idx) for s in segs] == [(doc_id, 0), (doc_id, 1), (doc_id, 2)]
    for row, seg, span in zip(segs, SEGMENTS, result.clean.segment_spans):
        assert (row.start_s, row.end_s, row.text, row.speaker, row.confidence, row.channel) == (
            seg.start_s, seg.end_s, seg.text, seg.speaker, seg.confidence, seg.channel)
        assert (row.char_start, row.char_end) == (span.char_start, span.char_end)
        assert doc.text[row.char_start:row.char_end] == seg.text
    assert [(c.start_s, c.end_s, c.speakers) for c in chunks] == [
        (0.0, 7.25, ["SPEAKER_0", "SPEAKER_1"]), (7.25, 12.5, []),
    ]
    assert doc.costs == result.costs and doc.kind == "audio" and doc.category == "transcript"

    # a re-save replaces: fewer segments, a span missing (char offsets null), a new ledger
    shorter = build_recording(src, segments=[Segment(start_s=1.0, end_s=2.0, text="Yes."), SEGMENTS[1]],
                              costs={"audio_seconds": 2.0, "estimated_cost_usd": float("nan"), "engine": "x"})
    shorter.clean.segment_spans = shorter.clean.segment_spans[1:]
    store.save_document(doc_id, shorter, "1", "fp")
    store.save_document(doc_id, shorter, "1", "fp")
    with store.engine.connect() as conn:
        segs = conn.execute(select(t.segments).order_by(t.segments.c.idx)).all()
        costs = conn.execute(select(t.documents.c.costs)).scalar_one()
    assert [(s.idx, s.text, s.char_start) for s in segs] == [(0, "Yes.", None), (1, "John Smith.", 5)]
    assert count(store, t.chunks) == 1 and count(store, t.mentions) == 1
    assert costs == {"audio_seconds": 2.0, "estimated_cost_usd": None, "engine": "x"}
    # a failed re-run clears the segments and the ledger
    store.save_document(doc_id, DocumentResult(source=src, status=DocStatus.failed, error="bad audio"), "1", "fp")
    assert count(store, t.segments) == 0 and count(store, t.chunks) == 0
    with store.engine.connect() as conn:
        assert conn.execute(select(t.documents.c.costs)).scalar_one() is None
    # segments go with their document (ON DELETE CASCADE)
    store.save_document(doc_id, result, "1", "fp")
    with store.engine.begin() as conn:
        conn.execute(t.documents.delete().where(t.documents.c.id == doc_id))
    assert count(store, t.segments) == 0


def test_save_ocr_pages_keeps_dpi_and_attempts(store: Store):
    matter_id = store.ensure_matter(MATTER)
    src = source("scan.pdf", b"scanned")
    doc_id = store.register_document(matter_id, MATTER, src, None)
    store.save_document(doc_id, build_scanned(src), "1", "fp")
    with store.engine.connect() as conn:
        pages = conn.execute(select(t.pages).order_by(t.pages.c.number)).all()
        doc = conn.execute(select(t.documents).where(t.documents.c.id == doc_id)).one()
    assert [(p.method, p.dpi) for p in pages] == [("tesseract", 300), ("needs_ocr", 200)]
    assert pages[0].attempts == [{"engine": "rapidocr", "confidence": 0.42, "error": None},
                                 {"engine": "tesseract", "confidence": 0.91, "error": None}]
    assert pages[1].attempts == [{"engine": "rapidocr", "confidence": None, "error": "timeout"}]  # NaN -> null
    assert doc.status == "partial" and doc.costs["ocr_pages"] == {"rapidocr": 2, "tesseract": 1}
    # re-saved as a text-layer document: the OCR record goes
    store.save_document(doc_id, build_result(src, n_pages=2), "1", "fp")
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.pages.c.dpi, t.pages.c.attempts)).all()
        assert conn.execute(select(t.documents.c.costs)).scalar_one() is None
    assert [tuple(r) for r in rows] == [(None, None), (None, None)]


def test_status_totals_costs_and_audio(store: Store):
    matter_id = store.ensure_matter(MATTER)
    for name, build in (("a.wav", build_recording), ("b.pdf", build_scanned), ("c.pdf", build_scanned)):
        src = source(name, name.encode())
        store.save_document(store.register_document(matter_id, MATTER, src, None), build(src), "1", "fp")
    src = source("d.pdf", b"d")
    api = build_result(src)
    api.costs = {"ocr_pages": {"mistral": 3}, "api_tokens_in": 1200, "api_tokens_out": 800,
                 "estimated_cost_usd": 0.003, "note": "text is ignored", "audio_seconds": None}
    store.save_document(store.register_document(matter_id, MATTER, src, None), api, "1", "fp")
    store.register_document(matter_id, MATTER, source("e.pdf", b"e"), None)  # pending: no ledger
    other = store.ensure_matter("Other v. Matter")  # another matter's costs are not counted
    osrc = source("o.wav", b"o")
    store.save_document(store.register_document(other, "Other v. Matter", osrc, None), build_recording(osrc), "1",
                        "fp")
    st = store.status(matter_id)
    assert st["segments"] == 3 and st["audio_seconds"] == 12.5
    assert st["costs"] == {
        "ocr_pages": {"mistral": 3, "rapidocr": 4, "tesseract": 2},
        "audio_seconds": 12.5,
        "api_tokens_in": 1200,
        "api_tokens_out": 800,
        "estimated_cost_usd": pytest.approx(0.078),
    }
    assert store.status(other)["costs"]["audio_seconds"] == 12.5
    json.dumps(st)  # JSON-ready


def test_export_recordings_and_ocr_pages(store: Store, tmp_path: Path):
    matter_id = store.ensure_matter(MATTER)
    rec_src, scan_src = source("a.wav", b"audio"), source("b.pdf", b"scan")
    rec_id = store.register_document(matter_id, MATTER, rec_src, None)
    scan_id = store.register_document(matter_id, MATTER, scan_src, None)
    recording, scanned = build_recording(rec_src), build_scanned(scan_src)
    store.save_document(rec_id, recording, "1", "fp")
    store.save_document(scan_id, scanned, "1", "fp")
    counts = store.export(matter_id, tmp_path)
    assert counts["documents.jsonl"] == 2 and counts["chunks.jsonl"] == 2 + 2

    def read(name: str) -> list[dict]:
        return [json.loads(line) for line in (tmp_path / name).read_text(encoding="utf-8").splitlines()]

    docs = {d["id"]: d for d in read("documents.jsonl")}
    rec, scan = docs[rec_id], docs[scan_id]
    assert rec["pages"] == [] and rec["costs"] == recording.costs
    assert [{k: s[k] for k in ("index", "start_s", "end_s", "text", "speaker", "confidence", "channel")}
            for s in rec["segments"]] == [
        {"index": i, "start_s": s.start_s, "end_s": s.end_s, "text": s.text, "speaker": s.speaker,
         "confidence": s.confidence, "channel": s.channel} for i, s in enumerate(SEGMENTS)
    ]
    assert [(s["char_start"], s["char_end"]) for s in rec["segments"]] == [
        (sp.char_start, sp.char_end) for sp in recording.clean.segment_spans
    ]
    assert scan["segments"] == [] and scan["costs"]["ocr_pages"] == {"rapidocr": 2, "tesseract": 1}
    assert [(p["number"], p["dpi"]) for p in scan["pages"]] == [(1, 300), (2, 200)]
    assert [a["engine"] for a in scan["pages"][0]["attempts"]] == ["rapidocr", "tesseract"]
    chunks = {(c["document_id"], c["chunk_index"]): c for c in read("chunks.jsonl")}
    assert (chunks[rec_id, 0]["start_s"], chunks[rec_id, 0]["end_s"], chunks[rec_id, 0]["speakers"]) == (
        0.0, 7.25, ["SPEAKER_0", "SPEAKER_1"])
    assert (chunks[rec_id, 1]["start_s"], chunks[rec_id, 1]["end_s"]) == (7.25, 12.5)
    assert chunks[scan_id, 0]["start_s"] is None and chunks[scan_id, 0]["speakers"] is None
    # a quarantined recording leaves the export with its segments
    store.quarantine("documents", [rec_id])
    store.export(matter_id, tmp_path)
    assert [d["id"] for d in read("documents.jsonl")] == [scan_id]


def test_migration_0003_keeps_existing_rows(store_url: str):
    """A database at 0002 with data upgrades to 0003 (new columns null, segments empty) and back down,
    keeping its rows (on SQLite, dropping a column must not copy and drop ``documents``: the drop would
    cascade to the pages)."""
    from alembic import command

    from lexprep.store.db import alembic_config

    migrate(store_url, "0002")
    engine = make_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(t.matters.insert().values(id="m" * 32, name="M", created_at=t.utcnow()))
            conn.exec_driver_sql(
                "INSERT INTO documents (id, matter_id, sha256, source_uri, file_name, size, kind, status, created_at,"
                " updated_at) VALUES ('" + "d" * 32 + "', '" + "m" * 32 + "', 'x', 'u', 'f', 1, 'pdf', 'done',"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
            conn.exec_driver_sql(
                "INSERT INTO pages (document_id, number, method, text) VALUES ('" + "d" * 32 + "', 1, 'text_layer',"
                " 'hello')"
            )
        migrate(store_url)
        with engine.connect() as conn:
            page = conn.execute(select(t.pages)).one()
            doc = conn.execute(select(t.documents.c.costs, t.documents.c.text)).one()
            assert (page.text, page.dpi, page.attempts) == ("hello", None, None) and doc.costs is None
            assert conn.execute(select(func.count()).select_from(t.segments)).scalar_one() == 0
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0002")
        names = set(inspect(engine).get_table_names())
        assert "segments" not in names
        assert "dpi" not in {c["name"] for c in inspect(engine).get_columns("pages")}
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT text FROM pages").scalar_one() == "hello"
        with engine.begin() as conn:  # and further down: the rows still stay (no copy-and-rename cascade)
            command.downgrade(alembic_config(conn), "0001")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT text FROM pages").scalar_one() == "hello"
    finally:
        engine.dispose()
    migrate(store_url)


# ---------------------------------------------------------------------------- status


def test_status_counts(store: Store):
    matter_id, doc_id, result = add_document(store)
    other = store.register_document(matter_id, MATTER, source("bad.doc", b"bad"), None)
    store.set_status(other, "failed", "corrupt")
    run_id = store.start_run(matter_id)
    store.finish_run(run_id, {"documents": 2, "seconds": 1.5})
    st = store.status(matter_id)
    expected_keys = {
        "matter", "documents", "documents_by_status", "pages", "pages_by_method", "chunks", "mentions",
        "mentions_by_label", "entities", "entities_by_label", "relationships", "relationships_by_type", "categories",
    }
    assert expected_keys <= set(st)
    assert st["matter"] == MATTER
    assert st["documents"] == 2 and st["documents_by_status"] == {"done": 1, "failed": 1}
    assert st["pages"] == 3 and st["pages_by_method"] == {"text_layer": 3}
    assert st["chunks"] == 6
    assert st["mentions"] == 12 and st["mentions_by_label"] == {"PERSON": 6, "ORG": 6}
    assert st["entities"] == 0 and st["entities_by_label"] == {}
    assert st["relationships"] == 0 and st["relationships_by_type"] == {}
    assert st["categories"] == {"pleading": 1}
    assert st["segments"] == 0 and st["audio_seconds"] == 0.0 and st["costs"] == NO_COSTS
    assert st["last_run"]["id"] == run_id and st["last_run"]["finished_at"]
    with store.engine.connect() as conn:
        summary = conn.execute(sa.text("SELECT summary FROM runs WHERE id = :i"), {"i": run_id}).scalar_one()
    assert (json.loads(summary) if isinstance(summary, str) else summary) == {"documents": 2, "seconds": 1.5}
    with pytest.raises(KeyError):
        store.status(stable_id("matter", "nobody"))


# ---------------------------------------------------------------------------- entities and graph


def resolve_all(store: Store, matter_id: str) -> tuple[list[Entity], dict[str, str]]:
    """A toy resolver: one entity per (label, text)."""
    mentions = store.list_mentions(matter_id)
    by_key: dict[tuple[str, str], list[str]] = {}
    for m in mentions:
        by_key.setdefault((m.label, m.text), []).append(m.id)
    entities, assignments = [], {}
    for (label, text), mids in by_key.items():
        eid = stable_id(matter_id, label, text)
        entities.append(Entity(id=eid, label=label, name=text, aliases=[text], mention_count=len(mids)))
        assignments.update({mid: eid for mid in mids})
    return entities, assignments


def test_replace_entities(store: Store):
    matter_id, doc_id, _ = add_document(store)
    mentions = store.list_mentions(matter_id)
    assert len(mentions) == 12 and all(m.document_id == doc_id and m.link_id is None for m in mentions)
    entities, assignments = resolve_all(store, matter_id)
    merges = [MergeRecord(entity_id=entities[0].id, label=entities[0].label, alias="J. Smith",
                          canonical=entities[0].name, method="fuzzy", score=93.0)]
    store.replace_entities(matter_id, entities, assignments, merges)
    assert count(store, t.entities) == len(entities)
    assert count(store, t.entity_merges) == 1
    with store.engine.connect() as conn:
        linked = dict(conn.execute(select(t.mentions.c.id, t.mentions.c.entity_id)).tuples().all())
    assert linked == assignments
    st = store.status(matter_id)
    assert st["entities"] == len(entities) and sum(st["entities_by_label"].values()) == len(entities)
    # a second resolution replaces the first: one entity for everything, half the mentions linked
    one = Entity(id=stable_id(matter_id, "all"), label="ORG", name="All", aliases=["All"], mention_count=6)
    half = {mid: one.id for mid in list(assignments)[:6]}
    store.replace_entities(matter_id, [one], half, [])
    assert count(store, t.entities) == 1 and count(store, t.entity_merges) == 0
    with store.engine.connect() as conn:
        linked = dict(conn.execute(select(t.mentions.c.id, t.mentions.c.entity_id)).tuples().all())
    assert {k: v for k, v in linked.items() if v} == half
    assert store.status(matter_id)["entities_by_label"] == {"ORG": 1}
    with pytest.raises(ValueError):
        store.replace_entities(matter_id, [], half, [])


def test_graph_inputs_and_replace_relationships(store: Store):
    matter_id, doc_id, _ = add_document(store)
    child = store.register_document(matter_id, MATTER, source("att.pdf", b"attachment"), doc_id)
    entities, assignments = resolve_all(store, matter_id)
    store.replace_entities(matter_id, entities, assignments, [])
    docs, chunks, links, labels, scoped = store.graph_inputs(matter_id)
    assert sorted(docs) == sorted([(doc_id, None), (child, doc_id)])
    assert [c[0] for c in chunks] == [chunk_id_for(doc_id, i) for i in range(6)]
    assert all(c[1] == doc_id and c[2] < c[3] for c in chunks)
    assert len(links) == 12 and {m[3] for m in links} <= set(labels) and all(m[0] == doc_id for m in links)
    assert links == sorted(links, key=lambda m: (m[1], m[2]))
    assert labels == {e.id: e.label for e in entities} and scoped == set()
    rels = [Relationship("document", doc_id, "chunk", c[0], "CONTAINS") for c in chunks]
    rels += [Relationship("document", doc_id, "entity", m[3], "CITES") for m in links]
    rels.append(Relationship("document", doc_id, "document", child, "HAS_ATTACHMENT"))
    store.replace_relationships(matter_id, rels)
    n = count(store, t.relationships)
    store.replace_relationships(matter_id, rels)
    assert count(store, t.relationships) == n
    distinct = {(r.source_id, r.target_id, r.type) for r in rels}
    assert n == len(distinct)
    st = store.status(matter_id)
    assert st["relationships"] == n and st["relationships_by_type"]["CONTAINS"] == 6
    store.replace_relationships(matter_id, rels[:1])
    assert count(store, t.relationships) == 1


def test_replace_entities_keeps_changes_and_drops(store: Store):
    """The set-based replace: unchanged links stay, changed ones move, dropped ones go, other matters untouched."""
    matter_id, doc_id, _ = add_document(store, n_pages=4, chunks_per_page=2, mentions_per_chunk=4)
    other_matter = store.ensure_matter("Other v. Matter")
    other_doc = store.register_document(other_matter, "Other v. Matter", source("o.pdf", b"other"), None)
    store.save_document(other_doc, build_result(source("o.pdf", b"other")), "1", "fp")
    other_entities, other_assignments = resolve_all(store, other_matter)
    store.replace_entities(other_matter, other_entities, other_assignments, [])

    entities, assignments = resolve_all(store, matter_id)
    merges = [MergeRecord(entity_id=e.id, label=e.label, alias=e.name.lower(), canonical=e.name, method="exact",
                          score=100.0) for e in entities]
    store.replace_entities(matter_id, entities, assignments, merges)
    store.replace_entities(matter_id, entities, assignments, merges)  # unchanged: same state
    assert count(store, t.entity_merges, matter_id=matter_id) == len({(e.id, e.name.lower()) for e in entities})

    keep, renamed = entities[0], entities[1]
    renamed = Entity(id=renamed.id, label=renamed.label, name="Renamed", aliases=["Renamed", "x\x00y"],
                     mention_count=1)
    fresh = Entity(id=stable_id(matter_id, "fresh"), label="ORG", name="Fresh", aliases=[], mention_count=0)
    new_assignments = {mid: eid for mid, eid in assignments.items() if eid == keep.id}
    moved = [mid for mid, eid in assignments.items() if eid == renamed.id]
    new_assignments.update({mid: fresh.id for mid in moved[:1]})
    new_assignments.update({mid: renamed.id for mid in moved[1:]})
    new_assignments["f" * 32] = keep.id  # unknown mention ids are ignored
    new_assignments.update({mid: keep.id for mid in list(other_assignments)[:3]})  # other matter's: ignored
    store.replace_entities(matter_id, [keep, renamed, fresh], new_assignments, [])

    with store.engine.connect() as conn:
        linked = dict(conn.execute(
            select(t.mentions.c.id, t.mentions.c.entity_id).where(t.mentions.c.matter_id == matter_id)
        ).tuples().all())
        ents = {r.id: r for r in conn.execute(select(t.entities).where(t.entities.c.matter_id == matter_id))}
        other_linked = dict(conn.execute(
            select(t.mentions.c.id, t.mentions.c.entity_id).where(t.mentions.c.matter_id == other_matter)
        ).tuples().all())
    expected = {mid: eid for mid, eid in new_assignments.items() if mid in linked}
    assert {k: v for k, v in linked.items() if v} == expected
    assert set(ents) == {keep.id, renamed.id, fresh.id}
    assert ents[renamed.id].name == "Renamed" and ents[renamed.id].aliases == ["Renamed", "x\ufffdy"]
    assert count(store, t.entity_merges, matter_id=matter_id) == 0
    assert other_linked == other_assignments  # the other matter is untouched
    assert count(store, t.entities, matter_id=other_matter) == len(other_entities)
    # an entity id that belongs to another matter is refused, and nothing changes
    with pytest.raises(ValueError, match="another matter"):
        store.replace_entities(matter_id, [other_entities[0]], {}, [])
    assert count(store, t.entities, matter_id=matter_id) == 3


def test_concurrent_matter_rewrites(store: Store):
    """Workers resolving and graphing the same matter at once all succeed (serialised per matter)."""
    matter_id, doc_id, _ = add_document(store)
    entities, assignments = resolve_all(store, matter_id)
    rels = [Relationship("document", doc_id, "chunk", chunk_id_for(doc_id, i), "CONTAINS") for i in range(6)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(3):
                if i % 2:
                    store.replace_entities(matter_id, entities, assignments, [])
                else:
                    store.replace_relationships(matter_id, rels)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert count(store, t.entities) == len(entities) and count(store, t.relationships) == 6


def test_nul_characters_are_stored(store: Store):
    """Postgres rejects NUL in text: every free-text field is stored with U+FFFD instead (offsets kept)."""
    name = "Nul\x00Matter"
    matter_id = store.ensure_matter(name)
    assert store.find_matter(name) == matter_id
    src = SourceFile(uri="/m/a\x00b.pdf", file_name="a\x00b.pdf", sha256=sha256_bytes(b"nul"), size=3, kind="pdf",
                     mime="application/pdf\x00")
    doc_id = store.register_document(matter_id, name, src, None)
    result = build_result(src, n_pages=1, chunks_per_page=1, mentions_per_chunk=1)
    result.extracted.pages[0].error = "bad\x00page"
    result.extracted.meta = {"k\x00ey": ["v\x00al", float("nan")]}
    result.extracted.title = "T\x00itle"
    result.category = CategoryResult(category="pleading", reason="r\x00eason")
    result.error = "e\x00rror"
    m = result.mentions[0]
    result.mentions[0] = Mention(**{**_mention_dict(m), "extractor": "sp\x00acy", "source_label": "P\x00",
                                    "normalized": "n\x00orm"})
    store.save_document(doc_id, result, "1", "fp")
    store.set_status(doc_id, "failed", "cannot parse \x00 here")
    run_id = store.start_run(matter_id)
    store.finish_run(run_id, {"note": "a\x00b"})
    with store.engine.connect() as conn:
        doc = conn.execute(select(t.documents).where(t.documents.c.id == doc_id)).one()
        mention = conn.execute(select(t.mentions)).one()
    assert doc.file_name == "a\ufffdb.pdf" and doc.error == "cannot parse \ufffd here"
    assert doc.meta == {"k\ufffdey": ["v\ufffdal", None]} and doc.title == "T\ufffditle"
    assert mention.extractor == "sp\ufffdacy" and mention.normalized == "n\ufffdorm"


# ---------------------------------------------------------------------------- export


def test_export_writes_the_files(store: Store, tmp_path: Path):
    matter_id, doc_id, result = add_document(store)
    entities, assignments = resolve_all(store, matter_id)
    store.replace_entities(matter_id, entities, assignments, [])
    store.replace_relationships(
        matter_id,
        [Relationship("chunk", chunk_id_for(doc_id, 0), "entity", entities[0].id, "MENTIONS", 2.0,
                      chunk_id_for(doc_id, 0))],
    )
    # a second document with non-ASCII text and no derived rows
    failed = store.register_document(matter_id, MATTER, source("café.txt", b"x"), None)
    store.set_status(failed, "failed", "encoding — unknown")
    out = tmp_path / "out"
    counts = store.export(matter_id, out)
    assert counts == {"documents.jsonl": 2, "chunks.jsonl": 6, "mentions.jsonl": 12, "entities.jsonl": len(entities),
                      "relationships.jsonl": 1, "facts.jsonl": 0}
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPORT_FILES)

    def read(name: str) -> list[dict]:
        raw = (out / name).read_text(encoding="utf-8")
        return [json.loads(line) for line in raw.splitlines()]

    docs = {d["id"]: d for d in read("documents.jsonl")}
    assert "café.txt" in (out / "documents.jsonl").read_text(encoding="utf-8")  # ensure_ascii=False
    doc = docs[doc_id]
    for key in ("id", "parent_id", "source_uri", "file_name", "sha256", "size", "kind", "status", "error",
                "category", "category_reason", "title", "meta", "pages", "segments"):
        assert key in doc
    assert [p["number"] for p in doc["pages"]] == [1, 2, 3]
    assert set(doc["pages"][0]) >= {"number", "method", "confidence", "text", "error"}
    assert doc["pages"][0]["text"] == result.extracted.pages[0].text and doc["segments"] == []
    assert doc["pages"][0]["dpi"] is None and doc["pages"][0]["attempts"] is None and doc["costs"] is None
    assert docs[failed]["pages"] == [] and docs[failed]["error"] == "encoding — unknown"

    chunks = read("chunks.jsonl")
    assert [c["chunk_index"] for c in chunks] == list(range(6))
    for key in ("id", "document_id", "chunk_index", "text", "char_start", "char_end", "page_start", "page_end",
                "token_count", "start_s", "end_s", "speakers", "mentions"):
        assert key in chunks[0]
    assert (chunks[0]["start_s"], chunks[0]["end_s"], chunks[0]["speakers"]) == (None, None, None)
    assert sum(len(c["mentions"]) for c in chunks) == 12
    m = chunks[0]["mentions"][0]
    assert set(m) >= {"label", "text", "start", "end", "entity_id"}
    assert m["entity_id"] == assignments[m["id"]]
    assert chunks[0]["text"][m["start"]:m["end"]] == m["text"]

    mentions = read("mentions.jsonl")
    assert len({(x["document_id"], x["doc_start"], x["doc_end"]) for x in mentions}) == len(mentions) == 12
    assert set(mentions[0]) >= {"id", "document_id", "label", "text", "doc_start", "doc_end", "chunk_id", "entity_id",
                                "link_id", "link_method", "scope", "attrs"}
    assert {x["id"] for x in mentions} == {mm["id"] for c in chunks for mm in c["mentions"]}

    ents = read("entities.jsonl")
    assert {e["id"] for e in ents} == {e.id for e in entities}
    assert set(ents[0]) == {"id", "label", "name", "aliases", "mention_count", "document_id"}
    rels = read("relationships.jsonl")
    assert rels == [{
        "id": stable_id(matter_id, chunk_id_for(doc_id, 0), entities[0].id, "MENTIONS"),
        "source": chunk_id_for(doc_id, 0), "source_kind": "chunk", "target": entities[0].id,
        "target_kind": "entity", "type": "MENTIONS", "weight": 2.0, "evidence_chunk": chunk_id_for(doc_id, 0),
        "role": None,
    }]


# ---------------------------------------------------------------------------- errors and threads


def test_unreachable_sqlite_raises_configuration_error():
    with pytest.raises(ConfigurationError) as info:
        Store.open("sqlite:////nonexistent-dir-lexprep/x.db")
    assert str(info.value).startswith("cannot reach database sqlite:////nonexistent-dir-lexprep/x.db: ")


@pytest.mark.skipif(importlib.util.find_spec("psycopg") is None, reason="psycopg not installed (lexprep[postgres])")
def test_unreachable_postgres_hides_password():
    with pytest.raises(ConfigurationError) as info:
        Store.open("postgresql+psycopg://lex:s3cr3t-pw@127.0.0.1:1/lexprep?connect_timeout=3")
    message = str(info.value)
    assert "s3cr3t-pw" not in message and "cannot reach database" in message and "***" in message


def test_missing_driver_hides_password():
    if importlib.util.find_spec("psycopg") is not None:
        pytest.skip("psycopg is installed; covered by test_unreachable_postgres_hides_password")
    with pytest.raises(ConfigurationError) as info:
        Store.open("postgresql+psycopg://lex:s3cr3t-pw@127.0.0.1:1/lexprep")
    assert "s3cr3t-pw" not in str(info.value) and "lexprep[postgres]" in str(info.value)


def test_threads_save_different_documents(store: Store):
    matter_id = store.ensure_matter(MATTER)
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(i: int) -> None:
        try:
            src = source(f"doc{i}.pdf", f"content {i}".encode())
            barrier.wait()
            for _ in range(3):
                doc_id = store.register_document(matter_id, MATTER, src, None)
                store.set_status(doc_id, "extracting")
                store.save_document(doc_id, build_result(src, n_pages=5, mentions_per_chunk=5), "1", "fp")
                store.status(matter_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    st = store.status(matter_id)
    assert st["documents"] == 4 and st["documents_by_status"] == {"done": 4}
    assert st["chunks"] == 4 * 10 and st["mentions"] == 4 * 50


def test_locked_database_raises_transient_error(url: str, monkeypatch):
    """A write that cannot get SQLite's lock within the busy timeout is a TransientError (retried)."""
    import sqlite3

    from lexprep.errors import TransientError
    from lexprep.store import db

    migrate(url)
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 50)
    store = Store(url)
    try:
        matter_id = store.ensure_matter(MATTER)
        doc_id = store.register_document(matter_id, MATTER, source(), None)
        other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            with pytest.raises(TransientError) as info:
                store.set_status(doc_id, "done", "secret document text")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert "locked" in str(info.value) and "secret document text" not in str(info.value)
        store.set_status(doc_id, "done")
    finally:
        store.close()


def test_newer_schema_raises_configuration_error(store_url: str):
    url = store_url
    migrate(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    with pytest.raises(ConfigurationError, match="newer lexprep"):
        Store.open(url)
