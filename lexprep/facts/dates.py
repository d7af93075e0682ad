"""Dates as legal documents write them, found in text and normalised to ISO 8601 (``YYYY-MM-DD``).

Forms: "April 6, 1999", "Sept. 3 2001", "6 April 1999", "6th day of April, 1999", "first (1st) day of
January, 1996", "the 1st day of January 1996", "4/6/1999" and "4/6/99" (month first, as in US
documents), "1999-04-06". Two-digit years are read as 19xx from 50 up, 20xx below. A match that is not
a real calendar date (February 30) is not a date.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

__all__ = ["DateMatch", "find_dates", "parse_date", "valid_iso_date", "MONTHS"]

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
_ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
    "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
    "twenty-first": 21, "twenty-second": 22, "twenty-third": 23, "twenty-fourth": 24, "twenty-fifth": 25,
    "twenty-sixth": 26, "twenty-seventh": 27, "twenty-eighth": 28, "twenty-ninth": 29, "thirtieth": 30,
    "thirty-first": 31,
}
_MONTH = r"(?P<{g}>January|February|March|April|May|June|July|August|September|October|November|December|" \
         r"Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?)"
_DAYNUM = r"(?P<{g}>[0-3]?\d)(?:st|nd|rd|th)?"
_ORD = "|".join(sorted(_ORDINAL_WORDS, key=len, reverse=True))
_WS = r"[ \t]*\n?[ \t]*"  # a date may be broken over a line
_DATE = re.compile(
    "(?i:"
    + rf"(?P<md>\b{_MONTH.format(g='m1')}{_WS}{_DAYNUM.format(g='d1')},?{_WS}(?P<y1>(?:1[6-9]|20)\d\d)\b)"
    + rf"|(?P<dayof>\b(?:(?P<ow>{_ORD})(?:{_WS}\(\s*\d{{1,2}}(?:st|nd|rd|th)?\s*\))?|{_DAYNUM.format(g='d2')})"
    + rf"{_WS}day{_WS}of{_WS}{_MONTH.format(g='m2')},?{_WS}(?:in{_WS}the{_WS}year{_WS})?(?P<y2>(?:1[6-9]|20)\d\d)\b)"
    + rf"|(?P<dm>\b{_DAYNUM.format(g='d3')}{_WS}{_MONTH.format(g='m3')},?{_WS}(?P<y3>(?:1[6-9]|20)\d\d)\b)"
    + r"|(?P<us>(?<![\d/.-])(?P<m4>1[0-2]|0?[1-9])/(?P<d4>3[01]|[12]\d|0?[1-9])/(?P<y4>(?:1[6-9]|20)\d\d|\d\d)(?![\d/]))"
    + r"|(?P<iso>(?<![\d-])(?P<y5>(?:1[6-9]|20)\d\d)-(?P<m5>0[1-9]|1[0-2])-(?P<d5>0[1-9]|[12]\d|3[01])(?![\d-]))"
    + ")"
)


@dataclass(frozen=True, slots=True)
class DateMatch:
    """A date found in text: ``text[start:end]`` and its ISO form."""

    start: int
    end: int
    iso: str


def _month(word: str) -> int:
    return MONTHS[word.lower().rstrip(".")]


def _year(y: str) -> int:
    n = int(y)
    if len(y) == 2:
        n += 1900 if n >= 50 else 2000
    return n


def _iso(y: int, m: int, d: int) -> str | None:
    try:
        return _dt.date(y, m, d).isoformat()
    except ValueError:
        return None


def _from_match(mt: re.Match) -> str | None:
    g = mt.groupdict()
    if g["md"]:
        return _iso(_year(g["y1"]), _month(g["m1"]), int(g["d1"]))
    if g["dayof"]:
        day = _ORDINAL_WORDS[g["ow"].lower()] if g["ow"] else int(g["d2"])
        return _iso(_year(g["y2"]), _month(g["m2"]), day)
    if g["dm"]:
        return _iso(_year(g["y3"]), _month(g["m3"]), int(g["d3"]))
    if g["us"]:
        return _iso(_year(g["y4"]), int(g["m4"]), int(g["d4"]))
    if g["iso"]:
        return _iso(int(g["y5"]), int(g["m5"]), int(g["d5"]))
    return None


def find_dates(text: str, start: int = 0, end: int | None = None) -> list[DateMatch]:
    """Every date in ``text[start:end]`` in order, with offsets into ``text``."""
    end = len(text) if end is None else end
    found = []
    for mt in _DATE.finditer(text, start, end):
        iso = _from_match(mt)
        if iso:
            found.append(DateMatch(mt.start(), mt.end(), iso))
    return found


def parse_date(value: str) -> str | None:
    """The ISO date of the first date written in ``value``, or None."""
    found = find_dates(value)
    return found[0].iso if found else None


def valid_iso_date(value: object) -> bool:
    """Whether ``value`` is a string ``YYYY-MM-DD`` naming a real calendar date."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
