"""The fact aggregate of the store: a document's facts (saved with the document, see
:meth:`lexprep.store.repository.Store.save_document`), their entity links after resolution, what the
typed graph is built from, their counts and their export.

:class:`FactRepository` works through its :class:`lexprep.store.repository.Store`; ``store.facts``
gives one. Errors as in lexprep.store.repository.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from typing import Any, Iterator, NamedTuple

from sqlalchemy import func, select, update

from lexprep.models import DocumentResult, stable_id
from lexprep.store import schema as t
from lexprep.store.repository import EXPORT_YIELD_PER, _float, _json_safe, _text, chunk_id_for, mention_id_for

__all__ = ["FactRepository", "FactLink", "fact_rows", "fact_id_for"]


def fact_id_for(document_id: str, kind: str, source: str, start: int, end: int, role: str | None, value: str) -> str:
    """The id of a fact row (see lexprep.store.schema.FactRow)."""
    return stable_id(document_id, "fact", kind, source, start, end, role or "", value)


def fact_rows(document_id: str, result: DocumentResult) -> list[dict[str, Any]]:
    """The ``facts`` rows of a document result (without ``matter_id``), one per fact id.

    ``chunk_id``: the chunk holding the evidence's start (the first chunk for header evidence);
    ``page``: the page holding it; ``start_s``/``end_s``: the transcript segment's time range;
    ``mention_id``: the id of the mention at ``entity_span``.
    """
    clean = result.clean
    chunks = sorted(result.chunks, key=lambda c: c.char_start)
    starts = [c.char_start for c in chunks]
    rows: dict[str, dict[str, Any]] = {}
    for f in result.facts:
        chunk_id = None
        page = start_s = end_s = None
        if chunks:
            if f.evidence_source == "text":
                i = max(bisect_right(starts, f.evidence_start) - 1, 0)
                chunk_id = chunk_id_for(document_id, chunks[i].chunk_index)
            else:
                chunk_id = chunk_id_for(document_id, chunks[0].chunk_index)
        if clean is not None and f.evidence_source == "text":
            page = clean.page_at(f.evidence_start) if clean.page_spans else None
            for sp in clean.segment_spans:
                if sp.char_start <= f.evidence_start < sp.char_end:
                    start_s, end_s = sp.start_s, sp.end_s
                    break
        fid = fact_id_for(document_id, f.kind, f.evidence_source, f.evidence_start, f.evidence_end, f.role, f.value)
        rows.setdefault(fid, {
            "id": fid,
            "document_id": document_id,
            "chunk_id": chunk_id,
            "kind": f.kind,
            "value": _text(f.value) or "",
            "normalized": _text(f.normalized),
            "role": _text(f.role),
            "mention_id": mention_id_for(document_id, *f.entity_span) if f.entity_span else None,
            "entity_id": None,
            "evidence_start": int(f.evidence_start),
            "evidence_end": int(f.evidence_end),
            "evidence_text": _text(f.evidence_text) or "",
            "evidence_source": f.evidence_source,
            "page": page,
            "start_s": _float(start_s),
            "end_s": _float(end_s),
            "extractor": f.extractor,
            "confidence": _float(f.confidence) if _float(f.confidence) is not None else 0.0,
            "attrs": _json_safe(f.attrs) if f.attrs else None,
        })
    return list(rows.values())


class FactLink(NamedTuple):
    """A stored fact as the typed graph reads it."""

    id: str
    document_id: str
    kind: str
    value: str
    normalized: str | None
    role: str | None
    entity_id: str | None
    chunk_id: str | None
    attrs: dict | None


class FactRepository:
    """Facts of a store's matters."""

    def __init__(self, store: Any):
        self.store = store

    def link_entities(self, matter_id: str) -> int:
        """Copy each fact's mention's entity onto the fact (after resolution); returns facts linked.

        One UPDATE with a correlated subquery; facts whose mention is gone or unlinked get NULL.
        """
        f, m = t.facts.c, t.mentions.c
        entity = select(m.entity_id).where(m.id == f.mention_id).scalar_subquery()
        with self.store._write() as s:
            self.store._lock_matter(s, matter_id)
            s.execute(update(t.facts).where(f.matter_id == matter_id).values(entity_id=entity))
            return int(s.execute(select(func.count()).select_from(t.facts)
                                 .where(f.matter_id == matter_id, f.entity_id.is_not(None))).scalar_one())

    def graph_inputs(self, matter_id: str) -> tuple[list[FactLink], dict[str, dict]]:
        """Facts of the matter (by document, then evidence position) and, per e-mail document with a
        Message-ID or In-Reply-To, ``{document_id: {"message_id", "in_reply_to", "first_chunk"}}``."""
        f, c = t.facts.c, t.chunks.c
        with self.store._read() as s:
            facts = [FactLink(*r) for r in s.execute(
                select(f.id, f.document_id, f.kind, f.value, f.normalized, f.role, f.entity_id, f.chunk_id, f.attrs)
                .where(f.matter_id == matter_id).order_by(f.document_id, f.evidence_start, f.id))]
            first_chunks = dict(s.execute(
                select(c.document_id, c.id).where(c.matter_id == matter_id, c.chunk_index == 0)).tuples().all())
        for i, fl in enumerate(facts):
            if isinstance(fl.attrs, str):
                facts[i] = fl._replace(attrs=json.loads(fl.attrs))
        return facts, first_chunks

    def counts(self, matter_id: str) -> dict[str, Any]:
        """``{"facts": n, "facts_by_kind": {kind: n}, "facts_rejected": n}`` (rejects summed from the
        documents' ``meta["facts"]["rejected"]``)."""
        f, d = t.facts.c, t.documents.c
        with self.store._read() as s:
            by_kind = {k: n for k, n in s.execute(
                select(f.kind, func.count()).where(f.matter_id == matter_id).group_by(f.kind).order_by(f.kind)).tuples()}
            rejected = 0
            for meta in s.execute(select(d.meta).where(d.matter_id == matter_id, d.meta.is_not(None))
                                  .execution_options(yield_per=EXPORT_YIELD_PER)).scalars():
                if isinstance(meta, str):
                    try:
                        meta = json.loads(meta)
                    except ValueError:
                        continue
                info = meta.get("facts") if isinstance(meta, dict) else None
                if isinstance(info, dict) and isinstance(info.get("rejected"), int):
                    rejected += info["rejected"]
        return {"facts": sum(by_kind.values()), "facts_by_kind": by_kind, "facts_rejected": rejected}

    def export_rows(self, conn: Any, matter_id: str) -> Iterator[dict[str, Any]]:
        """``facts.jsonl`` rows: id, document_id, kind, value, normalized, role, entity_id, evidence
        {source, start, end, text, chunk_id, page, start_s, end_s}, extractor, confidence, attrs;
        quarantined facts and facts of quarantined documents left out."""
        f, d = t.facts.c, t.documents.c
        rows = conn.execute(
            select(f.id, f.document_id, f.kind, f.value, f.normalized, f.role, f.entity_id, f.evidence_source,
                   f.evidence_start, f.evidence_end, f.evidence_text, f.chunk_id, f.page, f.start_s, f.end_s,
                   f.extractor, f.confidence, f.attrs)
            .join(t.documents, f.document_id == d.id)
            .where(f.matter_id == matter_id, f.quarantined.is_(False), d.quarantined.is_(False))
            .order_by(f.document_id, f.evidence_start, f.kind, f.id)
            .execution_options(yield_per=EXPORT_YIELD_PER)
        )
        for r in rows:
            yield {
                "id": r.id, "document_id": r.document_id, "kind": r.kind, "value": r.value,
                "normalized": r.normalized, "role": r.role, "entity_id": r.entity_id,
                "evidence": {"source": r.evidence_source, "start": r.evidence_start, "end": r.evidence_end,
                             "text": r.evidence_text, "chunk_id": r.chunk_id, "page": r.page,
                             "start_s": r.start_s, "end_s": r.end_s},
                "extractor": r.extractor, "confidence": r.confidence, "attrs": r.attrs,
            }
