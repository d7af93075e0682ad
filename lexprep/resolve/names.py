"""Canonical names: which surface of a group of mentions names the entity, and how it is written.

Used by resolution (lexprep.resolve) and by the overrides' editor (lexprep.resolve.overrides) alike.
"""

from __future__ import annotations

import re
from collections import Counter

#: labels whose names are written as people write them (:func:`display_name`); citations stay as cited
DISPLAY_LABELS = ("PERSON", "ORG", "GPE", "COURT", "OTHER")
_ID = re.compile(r"(?i)(?:id|ibid)\b")


def surface_of(text: str) -> str:
    """A mention's text with whitespace collapsed."""
    return " ".join(text.split()) or text


def in_capitals(s: str) -> bool:
    """Whether ``s`` is written in capitals (four letters at least, every one upper case)."""
    letters = [c for c in s if c.isalpha()]
    return len(letters) >= 4 and all(c.isupper() for c in letters)


def preferred_surface(counts: Counter) -> str:
    """The surface to name an entity by: not in capitals, not an "Id." form, then the most frequent, then
    the longest (ties: the first in sort order)."""
    return min(counts, key=lambda s: (in_capitals(s), _ID.match(s) is not None, -counts[s], -len(s), s))


def is_id_form(s: str) -> bool:
    """Whether ``s`` is a short form standing for a citation ("Id. § 1292(a)(1)", "Ibid.")."""
    return _ID.match(s) is not None


_SMALL_WORDS = frozenset({"of", "the", "and", "for", "in", "on", "at", "to", "a", "an", "de", "la", "del", "von", "van"})
_KEEP_CAPS = re.compile(r"^(?:[A-Z]\.)+$|^(?:LLC|LLP|LP|PLC|USA|US|UK|NA|II|III|IV|[B-DF-HJ-NP-TV-Z]{2,4})$")


def display_name(text: str) -> str:
    """A name as people write it: whitespace collapsed; a name in capitals title-cased, keeping
    acronyms and initials ("CALVARY CHAPEL OF BANGOR" -> "Calvary Chapel of Bangor")."""
    s = " ".join(text.split())
    if not in_capitals(s):
        return s
    words = []
    for i, w in enumerate(s.split(" ")):
        core = w.strip(",.;:()\"'")
        if _KEEP_CAPS.match(core) or _KEEP_CAPS.match(w.strip(",;:()\"'")):
            words.append(w)
        elif i > 0 and core.casefold() in _SMALL_WORDS:
            words.append(w.lower())
        else:
            words.append("-".join(p[:1].upper() + p[1:].lower() for p in w.split("-")))
    return " ".join(words)
