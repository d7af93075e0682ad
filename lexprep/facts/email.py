"""Rules for e-mail: sender and recipients (From, To, Cc, Bcc) as PERSON or ORG entities with their
address as an alias, sent date, subject and the thread (Message-ID, In-Reply-To, References).

The e-mail extractor (lexprep.extract.email) writes a header block at the top of the text ("From:",
"To:", "Cc:", "Bcc:", "Date:", "Subject:" lines) and keeps every header in ``meta``. Participants are
read from the header lines (``email.utils.getaddresses``), with their span in the text as evidence.
Each gets mentions: the display name and the address, linked (``link_method="email_address"``) so
that resolution makes the address an alias of the name's entity. A full name (two words or more) is
the entity's key, so the person meets mentions of the same name elsewhere; a one-word name ("John")
or no name leaves the address as the key, so two Johns with different addresses stay apart.

Message-ID, In-Reply-To and References are not part of the text: their facts take the header value
as evidence (``evidence_source="header"``, ``attrs["header"]`` naming it).
"""

from __future__ import annotations

import email.utils
import re

from lexprep.facts._common import ORG_HINT, span_fact
from lexprep.facts.dates import find_dates
from lexprep.models import Fact, Mention

__all__ = ["extract", "header_lines"]

_HEADER_LINE = re.compile(r"(?m)^(?P<name>From|To|Cc|Bcc|Date|Subject):[ \t]*(?P<value>.*)$")
_KIND = {"From": "email_from", "To": "email_to", "Cc": "email_cc", "Bcc": "email_bcc"}
_ROLE_ADDRESS = re.compile(r"(?i)^(?:info|hello|support|sales|admin|contact|office|no-?reply|noreply|team|help|billing|"
                           r"accounts?|service|news|marketing|hr|legal)@")
_MSG_ID = re.compile(r"<[^<>\s]+>")


def header_lines(text: str) -> list[re.Match]:
    """The header block's lines at the top of ``text`` (up to the first blank line)."""
    end = text.find("\n\n")
    end = len(text) if end < 0 else end
    return [m for m in _HEADER_LINE.finditer(text, 0, end)]


def _label(name: str, address: str) -> str:
    if name and ORG_HINT.search(name):
        return "ORG"
    if not name and _ROLE_ADDRESS.match(address):
        return "ORG"
    return "PERSON"


def _mention(text: str, s: int, e: int, label: str, mentions: list[Mention], added: list[Mention],
             link: tuple[int, int] | None = None) -> tuple[int, int]:
    for m in mentions:
        if m.doc_start == s and m.doc_end == e:
            if link is not None and m.link is None:
                m.link, m.link_method = link, "email_address"
            return (s, e)
    for m in added:
        if m.doc_start == s and m.doc_end == e:
            return (s, e)
    for m in list(mentions) + list(added):  # one mention per span: an overlapping one stands for it
        if m.doc_start < e and s < m.doc_end:
            return (m.doc_start, m.doc_end)
    added.append(Mention(chunk_index=0, label=label, text=text[s:e], start=0, end=0, doc_start=s, doc_end=e,
                         score=1.0, extractor="facts", source_label="email_header", link=link,
                         link_method="email_address" if link else None))
    return (s, e)


def _participants(text: str, line: re.Match, mentions: list[Mention], added: list[Mention]) -> list[Fact]:
    kind = _KIND[line.group("name")]
    vs, ve = line.start("value"), line.end("value")
    value = text[vs:ve]
    facts = []
    cursor = vs
    for name, address in email.utils.getaddresses([value]):
        if not address or "@" not in address:
            continue
        a = text.find(address, cursor, ve)
        if a < 0:
            continue
        a_end = a + len(address)
        name = " ".join(name.split())
        n = text.find(name, cursor, a) if name and name != address else -1
        start = n if n >= 0 else a
        end = a_end + 1 if a_end < ve and text[a_end] == ">" else a_end
        if n >= 0 and n > 0 and text[n - 1] == '"':
            start = n - 1
        cursor = end
        label = _label(name if n >= 0 else "", address)
        if n >= 0:
            name_span = (n, n + len(name))
            if len(name.split()) >= 2:  # a full name is the key; the address its alias
                root = _mention(text, *name_span, label, mentions, added)
                _mention(text, a, a_end, label, mentions, added, link=root)
            else:  # "John": the address is the key, the name its alias
                root = _mention(text, a, a_end, label, mentions, added)
                _mention(text, *name_span, label, mentions, added, link=root)
        else:
            root = _mention(text, a, a_end, label, mentions, added)
        facts.append(span_fact(text, kind, start, end, value=name or address, normalized=address.lower(),
                               role=kind.split("_", 1)[1], entity_span=root,
                               attrs={"address": address, **({"name": name} if name else {})}))
    return facts


def _header_facts(meta: dict) -> list[Fact]:
    facts = []
    for key, kind in (("message_id", "message_id"), ("in_reply_to", "in_reply_to"), ("references", "references")):
        value = meta.get(key)
        if not value:
            continue
        value = str(value)
        ids = list(_MSG_ID.finditer(value)) or [re.match(r"\S+", value.strip()) and re.search(r"\S+", value)]
        for m in ids:
            if m is None:
                continue
            mid = m.group(0)
            facts.append(Fact(kind=kind, value=mid, normalized=mid.strip("<>").lower(), evidence_start=m.start(),
                              evidence_end=m.end(), evidence_text=mid, evidence_source="header",
                              attrs={"header": key}))
            if kind != "references":
                break
    return facts


def extract(text: str, meta: dict, mentions: list[Mention]) -> tuple[list[Fact], list[Mention]]:
    """Every e-mail fact of the document (unverified) and the participant mentions added."""
    added: list[Mention] = []
    facts: list[Fact] = []
    for line in header_lines(text):
        name = line.group("name")
        if name in _KIND:
            facts.extend(_participants(text, line, mentions, added))
        elif name == "Date":
            found = find_dates(text, line.start("value"), line.end("value"))
            if found:
                d = found[0]
                facts.append(span_fact(text, "sent_date", line.start("value"), line.end("value"),
                                       normalized=d.iso))
        elif name == "Subject" and line.group("value").strip():
            facts.append(span_fact(text, "subject", line.start("value"), line.end("value")))
    facts.extend(_header_facts(meta))
    for f in facts:
        f.extractor = "rules"
    return facts, added
