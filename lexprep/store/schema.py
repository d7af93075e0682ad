"""The store's tables (SQLAlchemy 2 declarative, ``Mapped[]`` style).

Portable across SQLite and Postgres: string ids are 32-hex ``models.stable_id`` values, JSON columns
use :class:`sqlalchemy.JSON`, timestamps are timezone-aware UTC (:class:`UTCDateTime`), and every
constraint has a deterministic name (``NAMING_CONVENTION``) so that later Alembic migrations can
alter it on both back ends (SQLite needs names for batch mode).

Derived rows (pages, segments, chunks, mentions) are deleted with their document by ``ON DELETE CASCADE``
(SQLite enforces it because :mod:`lexprep.store.db` turns ``PRAGMA foreign_keys`` on) and by the ORM
cascade on the relationships below.

Any change here needs a new migration in ``migrations/versions`` (a unit test compares the migrated
schema with this metadata).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(32)  # models.stable_id (uuid5 hex) or uuid4 hex


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    Postgres keeps it as ``timestamptz``; SQLite has no time zones, so the value is stored as UTC and
    tagged UTC again on the way out. A naive datetime given to it is taken to be UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Matter(Base):
    """A legal matter: the unit everything else belongs to. ``id = stable_id("matter", name)``."""

    __tablename__ = "matters"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    documents: Mapped[list[Document]] = relationship(
        back_populates="matter", cascade="all, delete-orphan", passive_deletes=True
    )


class Document(Base):
    """One file of a matter, identified by its content: ``id = stable_id(matter_name, sha256)``."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("matter_id", "sha256"),
        Index("ix_documents_matter_id_status", "matter_id", "status"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    matter_id: Mapped[str] = mapped_column(ID, ForeignKey("matters.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    #: the first containing document seen (an e-mail for an attachment)
    parent_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("documents.id", ondelete="SET NULL"), index=True
    )
    source_uri: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    mime: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(32))
    category_reason: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the cleaned text (chunk and mention offsets index into it)
    text: Mapped[str | None] = mapped_column(Text)
    pipeline_version: Mapped[str | None] = mapped_column(String(32))
    settings_fingerprint: Mapped[str | None] = mapped_column(String(64))
    #: the cost ledger (models.DocumentResult.costs): ocr_pages {engine: n}, audio_seconds, api_tokens_in,
    #: api_tokens_out, estimated_cost_usd
    costs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: flagged by a quality gate (lexprep.quality): left out of the export
    quarantined: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    matter: Mapped[Matter] = relationship(back_populates="documents")
    pages: Mapped[list[PageRow]] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True
    )
    segments: Mapped[list[SegmentRow]] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True
    )
    chunks: Mapped[list[ChunkRow]] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True
    )
    mentions: Mapped[list[MentionRow]] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True
    )


class PageRow(Base):
    """A page (or part) of a document; ``char_start:char_end`` is its span in the cleaned text."""

    __tablename__ = "pages"

    document_id: Mapped[str] = mapped_column(ID, ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    char_start: Mapped[int | None] = mapped_column(Integer)
    char_end: Mapped[int | None] = mapped_column(Integer)
    #: the render resolution of an OCRed page
    dpi: Mapped[int | None] = mapped_column(Integer)
    #: the OCR escalation record: ``[{"engine", "confidence", "error"}]`` in the order tried
    attempts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    document: Mapped[Document] = relationship(back_populates="pages")


class SegmentRow(Base):
    """A stretch of a recording's transcript (models.Segment); ``idx`` is its position in the document's
    segment list, ``char_start:char_end`` its span in the cleaned text (None when it has none)."""

    __tablename__ = "segments"

    document_id: Mapped[str] = mapped_column(ID, ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    speaker: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    channel: Mapped[int | None] = mapped_column(Integer)
    char_start: Mapped[int | None] = mapped_column(Integer)
    char_end: Mapped[int | None] = mapped_column(Integer)

    document: Mapped[Document] = relationship(back_populates="segments")


class ChunkRow(Base):
    """A retrieval unit: ``id = stable_id(document_id, chunk_index)``."""

    __tablename__ = "chunks"
    __table_args__ = (UniqueConstraint("document_id", "chunk_index"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    document_id: Mapped[str] = mapped_column(ID, ForeignKey("documents.id", ondelete="CASCADE"))
    matter_id: Mapped[str] = mapped_column(ID, ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    chunk_index: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    char_start: Mapped[int] = mapped_column(Integer)
    char_end: Mapped[int] = mapped_column(Integer)
    page_start: Mapped[int | None] = mapped_column(Integer)
    page_end: Mapped[int | None] = mapped_column(Integer)
    token_count: Mapped[int] = mapped_column(Integer)
    #: flagged by a quality gate (lexprep.quality): left out of the export
    quarantined: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: a recording's chunk: time range (seconds) and the speakers heard in it, in order of first turn
    start_s: Mapped[float | None] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float)
    speakers: Mapped[list[str] | None] = mapped_column(JSON)

    document: Mapped[Document] = relationship(back_populates="chunks")
    mentions: Mapped[list[MentionRow]] = relationship(
        back_populates="chunk", cascade="all, delete-orphan", passive_deletes=True
    )


class MentionRow(Base):
    """A span of a document naming an entity, one per span: ``id = stable_id(document_id, doc_start,
    doc_end)``. ``chunk_id`` is the first chunk holding the whole span (``start``/``end`` relative to it);
    every chunk holding the span lists it in the export."""

    __tablename__ = "mentions"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    chunk_id: Mapped[str] = mapped_column(ID, ForeignKey("chunks.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[str] = mapped_column(ID, ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    matter_id: Mapped[str] = mapped_column(ID, ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    doc_start: Mapped[int] = mapped_column(Integer)
    doc_end: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    extractor: Mapped[str] = mapped_column(Text)
    source_label: Mapped[str | None] = mapped_column(Text)
    normalized: Mapped[str | None] = mapped_column(Text)
    entity_id: Mapped[str | None] = mapped_column(ID, ForeignKey("entities.id", ondelete="SET NULL"), index=True)
    #: flagged by a quality gate (lexprep.quality): left out of the export
    quarantined: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: the mention (same document) this one stands for: a defined term, role word, surname, "Id."
    link_id: Mapped[str | None] = mapped_column(ID)
    #: how the link was made (models.Mention.link_method)
    link_method: Mapped[str | None] = mapped_column(String(32))
    #: ``matter`` or ``document`` (resolved inside its document only); NULL means matter
    scope: Mapped[str | None] = mapped_column(String(16))
    #: extra facts (a case's name, parenthetical, pin cite, parallel citations; a definition's evidence)
    attrs: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    document: Mapped[Document] = relationship(back_populates="mentions")
    chunk: Mapped[ChunkRow] = relationship(back_populates="mentions")


class EntityRow(Base):
    """A canonical entity of a matter (rebuilt as a whole by each resolution)."""

    __tablename__ = "entities"
    __table_args__ = (Index("ix_entities_matter_id_label", "matter_id", "label"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    matter_id: Mapped[str] = mapped_column(ID, ForeignKey("matters.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(JSON)
    mention_count: Mapped[int] = mapped_column(Integer)
    #: set for an entity resolved inside one document only (models.Entity.document_id)
    document_id: Mapped[str | None] = mapped_column(ID)


class EntityMergeRow(Base):
    """The audit of one resolution decision (models.MergeRecord).

    ``id = stable_id(matter_id, entity_id, label, alias, method)``; ``seq`` keeps the resolver's order
    so that merges can be replayed or undone in order.
    """

    __tablename__ = "entity_merges"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    matter_id: Mapped[str] = mapped_column(ID, ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    entity_id: Mapped[str] = mapped_column(ID, ForeignKey("entities.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(32))
    alias: Mapped[str] = mapped_column(Text)
    canonical: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    #: why (models.MergeRecord.evidence)
    evidence: Mapped[str | None] = mapped_column(Text)


class EntityOverrideRow(Base):
    """A person's decision about the matter's entities, respected by every later resolution
    (lexprep.resolve.overrides): ``split`` pulls the mentions of ``alias`` (or the one mention
    ``mention_id``, with the mentions that stand for it) out of ``entity_id``; ``merge`` joins
    ``other_entity_id`` into ``entity_id``. Entity ids carry no foreign key: entities are rebuilt by each
    resolution, the decision stays. ``seq`` is the order the decisions were made (and are replayed) in.
    """

    __tablename__ = "entity_overrides"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    matter_id: Mapped[str] = mapped_column(ID, ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(ID)
    other_entity_id: Mapped[str | None] = mapped_column(ID)
    alias: Mapped[str | None] = mapped_column(Text)
    mention_id: Mapped[str | None] = mapped_column(ID)
    #: the entity's label and names when the decision was made (what the person saw)
    label: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RelationshipRow(Base):
    """An edge of the matter's graph: ``id = stable_id(matter_id, source_id, target_id, type)``.

    ``source_id``/``target_id`` name a document, chunk or entity (per ``*_kind``), so they carry no
    foreign key; neither does ``evidence_chunk_id`` (chunks are re-inserted with the same id when a
    document is redone, and the graph is rebuilt after).
    """

    __tablename__ = "relationships"
    __table_args__ = (Index("ix_relationships_matter_id_type", "matter_id", "type"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    matter_id: Mapped[str] = mapped_column(ID, ForeignKey("matters.id", ondelete="CASCADE"))
    source_kind: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(ID)
    target_kind: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(ID)
    type: Mapped[str] = mapped_column(String(32))
    weight: Mapped[float] = mapped_column(Float)
    evidence_chunk_id: Mapped[str | None] = mapped_column(ID)
    #: the role on a typed edge (PARTY_TO: "plaintiff-appellant", "Distributor"; RECEIVED: to/cc/bcc)
    role: Mapped[str | None] = mapped_column(Text)


class FactRow(Base):
    """A structured fact of a document (models.Fact, lexprep.facts), with verbatim evidence.

    ``id = stable_id(document_id, kind, evidence_source, evidence_start, evidence_end, role, value)``.
    ``chunk_id`` is the chunk holding the evidence's start (the evidence chunk of the graph's typed
    edges); ``mention_id`` the mention naming the fact's entity, whose ``entity_id`` the graph stage
    copies here after resolution. Deleted with its document; re-saving a document replaces its facts.
    """

    __tablename__ = "facts"
    __table_args__ = (Index("ix_facts_matter_id_kind", "matter_id", "kind"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    matter_id: Mapped[str] = mapped_column(ID, ForeignKey("matters.id", ondelete="CASCADE"))
    document_id: Mapped[str] = mapped_column(ID, ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    chunk_id: Mapped[str | None] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(Text)
    normalized: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    mention_id: Mapped[str | None] = mapped_column(ID)
    entity_id: Mapped[str | None] = mapped_column(ID, ForeignKey("entities.id", ondelete="SET NULL"), index=True)
    evidence_start: Mapped[int] = mapped_column(Integer)
    evidence_end: Mapped[int] = mapped_column(Integer)
    evidence_text: Mapped[str] = mapped_column(Text)
    #: ``text`` (the document's cleaned text) or ``header`` (an e-mail header in documents.meta)
    evidence_source: Mapped[str] = mapped_column(String(16))
    page: Mapped[int | None] = mapped_column(Integer)
    start_s: Mapped[float | None] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float)
    extractor: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    attrs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: flagged by a quality gate (lexprep.quality): left out of the export
    quarantined: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Run(Base):
    """One ``lexprep run`` of a matter; ``summary`` is the run's JSON summary."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    matter_id: Mapped[str] = mapped_column(ID, ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class QualityResult(Base):
    """One run of the quality gates on a matter (lexprep.quality); ``report`` is the QualityReport as JSON.

    ``id`` is a uuid4 hex; ``run_id`` names the :class:`Run` it belongs to, if any.
    """

    __tablename__ = "quality_results"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    matter_id: Mapped[str] = mapped_column(ID, ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[str | None] = mapped_column(ID, ForeignKey("runs.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)


metadata = Base.metadata

matters = Matter.__table__
documents = Document.__table__
pages = PageRow.__table__
segments = SegmentRow.__table__
chunks = ChunkRow.__table__
mentions = MentionRow.__table__
entities = EntityRow.__table__
entity_merges = EntityMergeRow.__table__
entity_overrides = EntityOverrideRow.__table__
relationships = RelationshipRow.__table__
facts = FactRow.__table__
runs = Run.__table__
quality_results = QualityResult.__table__
