"""The typed edges of the matter's graph, built from stored facts (after resolution linked each fact
to its entity).

- ``PARTY_TO`` entity -> document: a contract or caption party, ``role`` its role ("Distributor",
  "plaintiff-appellant", "in_re").
- ``SENT`` entity -> document: an e-mail's sender. ``RECEIVED`` entity -> document: a recipient,
  ``role`` ``to`` / ``cc`` / ``bcc``.
- ``REPLY_TO`` document -> document: an e-mail whose In-Reply-To is the Message-ID of another e-mail
  of the matter; when that message is not in the matter, the target is a ``message`` node with id
  ``stable_id("message", <message-id>)`` (so two replies to one absent message still meet).
- ``REPRESENTS`` entity -> entity: counsel -> the caption party on the side counsel appears for,
  ``role`` that side.
- ``JUDGE_OF`` entity -> document: a judge of this court (panel, author, signing judge); the lower
  court's judge gets none.
- ``FILED_IN`` document -> entity: the court the document is in.
- ``GOVERNED_BY`` document -> entity: the jurisdiction whose law governs a contract.

Every edge names its evidence chunk (the chunk holding the fact's evidence; for REPLY_TO, the reply's
first chunk), weight 1.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable

from lexprep.models import Relationship, stable_id

__all__ = ["TYPED_EDGES", "typed_edges"]

TYPED_EDGES = ("PARTY_TO", "SENT", "RECEIVED", "REPLY_TO", "REPRESENTS", "JUDGE_OF", "FILED_IN", "GOVERNED_BY")
_APPELLATE = {"appellant", "appellee", "petitioner", "respondent"}


def _tokens(role: str | None) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z]+", (role or "").lower())}


def _same_side(counsel_side: str | None, party_role: str | None) -> bool:
    a, b = _tokens(counsel_side), _tokens(party_role)
    if not a or not b:
        return False
    appellate = a & _APPELLATE
    if appellate:
        return bool(appellate & b)
    return bool(a & b)


def typed_edges(facts: Iterable, first_chunks: dict[str, str]) -> list[Relationship]:
    """The typed edges of ``facts`` (``lexprep.store.facts.FactLink`` rows: id, document_id, kind, value,
    normalized, role, entity_id, chunk_id, attrs) and ``first_chunks`` ({document_id: its first chunk id}).

    Returns:
        Relationships sorted by (type, source_id, target_id), one per (source, target, type) (the
        first fact wins).
    """
    facts = list(facts)
    edges: dict[tuple[str, str, str], Relationship] = {}

    def add(rel: Relationship) -> None:
        edges.setdefault((rel.type, rel.source_id, rel.target_id), rel)

    by_doc: dict[str, list] = defaultdict(list)
    message_docs: dict[str, str] = {}
    for f in facts:
        by_doc[f.document_id].append(f)
        if f.kind == "message_id" and f.normalized:
            message_docs.setdefault(f.normalized, f.document_id)
    for f in facts:
        doc, ent = f.document_id, f.entity_id
        if f.kind == "party" and ent:
            add(Relationship("entity", ent, "document", doc, "PARTY_TO", 1.0, f.chunk_id, f.role))
        elif f.kind == "email_from" and ent:
            add(Relationship("entity", ent, "document", doc, "SENT", 1.0, f.chunk_id))
        elif f.kind in ("email_to", "email_cc", "email_bcc") and ent:
            add(Relationship("entity", ent, "document", doc, "RECEIVED", 1.0, f.chunk_id, f.role))
        elif f.kind == "in_reply_to" and f.normalized:
            target = message_docs.get(f.normalized)
            evidence = first_chunks.get(doc)
            if target and target != doc:
                add(Relationship("document", doc, "document", target, "REPLY_TO", 1.0, evidence))
            elif target is None:
                add(Relationship("document", doc, "message", stable_id("message", f.normalized), "REPLY_TO", 1.0,
                                 evidence))
        elif f.kind == "judge" and ent and f.role != "lower_court":
            add(Relationship("entity", ent, "document", doc, "JUDGE_OF", 1.0, f.chunk_id, f.role))
        elif f.kind == "court" and ent:
            add(Relationship("document", doc, "entity", ent, "FILED_IN", 1.0, f.chunk_id))
        elif f.kind == "governing_law" and ent:
            add(Relationship("document", doc, "entity", ent, "GOVERNED_BY", 1.0, f.chunk_id))
        elif f.kind == "counsel" and ent:
            for p in by_doc[doc]:
                if p.kind == "party" and p.entity_id and p.entity_id != ent and _same_side(f.role, p.role):
                    add(Relationship("entity", ent, "entity", p.entity_id, "REPRESENTS", 1.0, f.chunk_id, f.role))
    return sorted(edges.values(), key=lambda r: (r.type, r.source_id, r.target_id))
