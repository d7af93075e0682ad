"""A matter's stored rows as pandas DataFrames, one per table, with only what the checks need.

Text is never loaded: its lengths (and whether it is blank) are computed by the database, and the
cross-table facts a check needs (a document's chunk count, the length of a mention's chunk) come
from joins and GROUP BY subqueries. Every frame has an ``id`` column naming the row (for pages,
``<document_id>:<number>``); the chunks frame also has ``span = char_end - char_start``. Works on
SQLite and Postgres.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, String, case, cast, func, select

from lexprep.facts import DATE_KINDS
from lexprep.facts.dates import valid_iso_date
from lexprep.store import schema as t

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection

#: characters that do not count as text when deciding whether a page or a document is blank
BLANK_CHARS = " \t\r\n\f\v\u00a0"

#: the columns of each frame, in order (numeric ones are converted with pandas.to_numeric)
FRAME_COLUMNS: dict[str, tuple[str, ...]] = {
    "documents": ("id", "status", "text_len", "text_chars", "n_chunks", "n_pages", "n_text_pages"),
    "pages": ("id", "document_id", "number", "method", "confidence"),
    "chunks": ("id", "document_id", "token_count", "char_start", "char_end", "page_start", "page_end", "text_len"),
    "mentions": ("id", "chunk_id", "document_id", "label", "start", "end", "doc_start", "doc_end", "score",
                 "chunk_len"),
    "entities": ("id", "label", "name", "mention_count"),
    "facts": ("id", "document_id", "kind", "evidence_source", "normalized", "confidence", "evidence_ok"),
}
_TEXT_COLUMNS = {"id", "status", "document_id", "method", "chunk_id", "label", "name", "kind", "evidence_source",
                 "normalized"}


def _stripped_length(col: Any, dialect: str) -> ColumnElement[int]:
    """``len(col.strip())`` computed by the database (0 for NULL)."""
    if dialect == "postgresql":
        stripped = func.btrim(col, BLANK_CHARS)
    else:  # SQLite's trim(X, Y); other back ends are not supported by the store
        stripped = func.trim(col, BLANK_CHARS)
    return func.coalesce(func.length(stripped), 0)


def _frame(conn: Connection, table: str, query: Any) -> pd.DataFrame:
    import pandas as pd

    columns = FRAME_COLUMNS[table]
    # column-wise from plain tuples (pandas probes every Row object when given rows)
    values = list(zip(*conn.execute(query))) or [()] * len(columns)
    data: dict[str, Any] = {}
    for name, column in zip(columns, values):
        if name in _TEXT_COLUMNS:
            data[name] = pd.Series(column, dtype=object)
        else:
            data[name] = pd.to_numeric(pd.Series(column, dtype=object), errors="coerce").astype("float64")
    return pd.DataFrame(data, columns=list(columns))


def load_frames(conn: Connection, matter_id: str) -> dict[str, pd.DataFrame]:
    """The matter's documents, pages, chunks, mentions, entities and facts as DataFrames (see FRAME_COLUMNS).

    The facts frame's ``evidence_ok`` (1 when the document's text at the fact's span is its evidence,
    compared by the database) and, added here, ``is_date`` (1 for a date kind) and ``date_ok`` (1 when
    ``normalized`` is a real ISO date).

    Numeric columns are float64 (NULL is NaN) so that nullable and non-nullable columns compare alike.
    """
    dialect = conn.dialect.name
    d, p, c, m, e = t.documents.c, t.pages.c, t.chunks.c, t.mentions.c, t.entities.c

    chunk_counts = (
        select(c.document_id, func.count().label("n")).where(c.matter_id == matter_id).group_by(c.document_id)
    ).subquery()
    page_counts = (
        select(
            p.document_id,
            func.count().label("n"),
            func.sum(case((_stripped_length(p.text, dialect) > 0, 1), else_=0)).label("n_text"),
        )
        .join(t.documents, p.document_id == d.id)
        .where(d.matter_id == matter_id)
        .group_by(p.document_id)
    ).subquery()
    documents = (
        select(
            d.id,
            d.status,
            func.coalesce(func.length(d.text), 0),
            _stripped_length(d.text, dialect),
            func.coalesce(chunk_counts.c.n, 0),
            func.coalesce(page_counts.c.n, 0),
            func.coalesce(page_counts.c.n_text, 0),
        )
        .outerjoin(chunk_counts, chunk_counts.c.document_id == d.id)
        .outerjoin(page_counts, page_counts.c.document_id == d.id)
        .where(d.matter_id == matter_id)
        .order_by(d.id)
    )
    pages = (
        select(p.document_id + ":" + cast(p.number, String), p.document_id, p.number, p.method, p.confidence)
        .join(t.documents, p.document_id == d.id)
        .where(d.matter_id == matter_id)
        .order_by(p.document_id, p.number)
    )
    chunks = (
        select(c.id, c.document_id, c.token_count, c.char_start, c.char_end, c.page_start, c.page_end,
               func.length(c.text))
        .where(c.matter_id == matter_id)
        .order_by(c.document_id, c.chunk_index)
    )
    mentions = (
        select(m.id, m.chunk_id, m.document_id, m.label, m.start, m.end, m.doc_start, m.doc_end, m.score,
               func.length(c.text))
        .join(t.chunks, m.chunk_id == c.id)
        .where(m.matter_id == matter_id)
        .order_by(m.document_id, m.doc_start, m.id)
    )
    entities = (
        select(e.id, e.label, e.name, e.mention_count).where(e.matter_id == matter_id).order_by(e.id)
    )
    f = t.facts.c
    same = func.substr(d.text, f.evidence_start + 1, f.evidence_end - f.evidence_start) == f.evidence_text
    facts = (
        select(f.id, f.document_id, f.kind, f.evidence_source,
               case((f.kind.in_(sorted(DATE_KINDS)), f.normalized), else_=None), f.confidence,
               case((same, 1), else_=0))
        .join(t.documents, f.document_id == d.id)
        .where(f.matter_id == matter_id)
        .order_by(f.document_id, f.evidence_start, f.id)
    )
    frames = {
        "documents": _frame(conn, "documents", documents),
        "pages": _frame(conn, "pages", pages),
        "chunks": _frame(conn, "chunks", chunks),
        "mentions": _frame(conn, "mentions", mentions),
        "entities": _frame(conn, "entities", entities),
        "facts": _frame(conn, "facts", facts),
    }
    fact_frame = frames["facts"]
    fact_frame["is_date"] = fact_frame["kind"].isin(sorted(DATE_KINDS)).astype("float64")
    fact_frame["date_ok"] = fact_frame["normalized"].map(valid_iso_date).astype("float64")
    chunk_frame = frames["chunks"]
    chunk_frame["span"] = chunk_frame["char_end"] - chunk_frame["char_start"]
    return frames
