"""Normalised keys: two mentions with the same (label, key) are the same entity.

Rules per label (all keys are casefolded, NFKC-normalised, whitespace collapsed):

- generic: curly quotes straightened, a possessive ``'s`` dropped, ``&`` -> ``and``, punctuation
  removed, a leading "the" removed.
- ORG: corporate suffixes at the end removed, repeatedly (Inc, Corp, Corporation, Co, Company, LLC,
  L.L.C., Ltd, Limited, LP, L.P., LLP, PLC, N.A., S.A., GmbH, AG, P.C., PLLC, ...), unless nothing
  would be left.
- PERSON: honorifics and titles at the start removed (Mr, Mrs, Ms, Miss, Dr, Prof, Hon, Honorable,
  Judge, Justice, Chief Justice, Magistrate Judge, Senator ...), "Esq" and a trailing "et al."
  removed, "Last, First" turned into "first last".
- DATE: ISO 8601 when dateutil can parse a date with a year ("June 13, 2013" -> "2013-06-13";
  "June 2013" -> "2013-06"; "2013" -> "2013"), otherwise the generic key.
- MONEY: "<CUR> <amount>" ("$3.5 million" -> "USD 3500000"; "€1,000" -> "EUR 1000") when a number
  is found, otherwise the generic key.
- CASE: the normalised citation (eyecite's corrected citation, whitespace collapsed), else generic.
- LAW: the citation text with whitespace collapsed, "§" spaced as "§ ", trailing punctuation
  dropped, casefolded; without a citation the generic key ("the Clean Water Act" -> "clean water act").
- DOCKET: the number with ASCII hyphens, casefolded.
- COURT: generic key without "of", "the", "for" ("Court of Appeals for the Ninth Circuit" ->
  "court appeals ninth circuit").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from decimal import Decimal, InvalidOperation

_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "\u00a0": " ", "‐": "-", "–": "-", "—": "-"})
_POSSESSIVE = re.compile(r"(?<=\w)'s\b|(?<=s)'(?=\s|$)", re.IGNORECASE)
_PUNCT = re.compile(r"[^\w\s§]+", re.UNICODE)
_WS = re.compile(r"\s+")
_LEADING_THE = re.compile(r"^the\s+")

_ORG_SUFFIX = re.compile(
    r"(?:,?\s+|^)(?:inc|incorporated|corp|corporation|co|company|llc|l\s?l\s?c|ltd|limited|lp|l\s?p|llp|l\s?l\s?p|"
    r"plc|p\s?l\s?c|n\s?a|s\s?a|gmbh|ag|pc|p\s?c|pllc|lllp|sarl|bv|nv|pty)$"
)
_HONORIFIC = re.compile(
    r"^(?:(?:the\s+)?(?:honorable|hon)|mr|mrs|ms|miss|mx|dr|prof|professor|sir|dame|"
    r"chief\s+justice|associate\s+justice|justice|chief\s+judge|magistrate\s+judge|district\s+judge|"
    r"circuit\s+judge|bankruptcy\s+judge|judge|senator|sen|representative|rep|governor|gov|"
    r"president|attorney\s+general|officer|detective|sergeant|sgt|captain|capt)\s+"
)
_PERSON_TAIL = re.compile(r"\s+(?:esq|esquire|et\s+al)$")
_COURT_STOP = frozenset({"of", "the", "for", "in", "and"})


def _base(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    s = _POSSESSIVE.sub("", s)
    s = s.replace("&", " and ")
    s = _PUNCT.sub(" ", s).casefold()
    return _WS.sub(" ", s).strip()


def generic_key(text: str) -> str:
    """Casefolded, punctuation-free, whitespace-collapsed ``text`` without a leading "the"."""
    return _LEADING_THE.sub("", _base(text))


def org_key(text: str) -> str:
    key = generic_key(text)
    while True:
        stripped = _ORG_SUFFIX.sub("", key).strip()
        if not stripped or stripped == key:
            return key
        key = stripped


def person_key(text: str) -> str:
    raw = unicodedata.normalize("NFKC", text).translate(_QUOTES).strip()
    # "Herrmann, Rudolf John" -> "Rudolf John Herrmann" (one comma, no suffix such as "Jr." after it)
    if raw.count(",") == 1:
        last, first = (p.strip() for p in raw.split(","))
        if first and last and not re.fullmatch(r"(?i)(?:jr|sr|ii|iii|iv|esq|esquire|et al)\.?", first):
            raw = f"{first} {last}"
    key = generic_key(raw)
    while True:
        stripped = _PERSON_TAIL.sub("", _HONORIFIC.sub("", key)).strip()
        if not stripped or stripped == key:
            return key
        key = stripped


def court_key(text: str) -> str:
    return " ".join(t for t in generic_key(text).split() if t not in _COURT_STOP) or generic_key(text)


# ------------------------------------------------------------------------------------------ DATE

_D1 = None
_D2 = None
_HAS_DIGIT = re.compile(r"\d")


@functools.lru_cache(maxsize=65536)
def date_key(text: str) -> str:
    """ISO form of a date with a year (year, year-month or year-month-day), else the generic key."""
    global _D1, _D2
    from datetime import datetime

    from dateutil import parser as dparser

    if _D1 is None:
        _D1, _D2 = datetime(1, 1, 1), datetime(2, 2, 2)
    cleaned = unicodedata.normalize("NFKC", text).translate(_QUOTES).strip()
    if _HAS_DIGIT.search(cleaned):
        try:
            a = dparser.parse(cleaned, default=_D1, fuzzy=False)
            b = dparser.parse(cleaned, default=_D2, fuzzy=False)
        except (ValueError, OverflowError, TypeError):
            a = b = None
        if a is not None and a.year == b.year and a.year > 2:
            if a.month != b.month:
                return f"{a.year:04d}"
            if a.day != b.day:
                return f"{a.year:04d}-{a.month:02d}"
            return f"{a.year:04d}-{a.month:02d}-{a.day:02d}"
    return generic_key(text)


# ----------------------------------------------------------------------------------------- MONEY

_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
_CURRENCY_WORDS = {
    "usd": "USD", "dollar": "USD", "dollars": "USD", "us$": "USD", "eur": "EUR", "euro": "EUR",
    "euros": "EUR", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "jpy": "JPY", "yen": "JPY",
    "cad": "CAD", "aud": "AUD", "chf": "CHF", "inr": "INR", "rupees": "INR", "cents": "USD-cents",
}
_SCALE = {"thousand": 10**3, "k": 10**3, "million": 10**6, "m": 10**6, "mm": 10**6, "billion": 10**9,
          "bn": 10**9, "b": 10**9, "trillion": 10**12}
_AMOUNT = re.compile(r"(\d[\d,]*(?:\.\d+)?|\.\d+)\s*(thousand|million|billion|trillion|mm|bn|k|m|b)?\b", re.I)


@functools.lru_cache(maxsize=65536)
def money_key(text: str) -> str:
    """``"<CUR> <amount>"`` ("$3.5 million" -> "USD 3500000"), else the generic key."""
    s = unicodedata.normalize("NFKC", text)
    m = _AMOUNT.search(s)
    if not m:
        return generic_key(text)
    try:
        amount = Decimal(m.group(1).replace(",", ""))
    except InvalidOperation:
        return generic_key(text)
    if m.group(2):
        amount *= _SCALE[m.group(2).lower()]
    currency = next((code for sym, code in _CURRENCY_SYMBOLS.items() if sym in s), None)
    if currency is None:
        words = re.findall(r"[a-z$]+", s.casefold())
        currency = next((_CURRENCY_WORDS[w] for w in words if w in _CURRENCY_WORDS), "USD")
    if currency == "USD-cents":
        currency, amount = "USD", amount / 100
    normalized = amount.normalize()
    text_amount = format(normalized, "f")
    if "." in text_amount:
        text_amount = text_amount.rstrip("0").rstrip(".")
    return f"{currency} {text_amount}"


# ------------------------------------------------------------------------------------ citations

_SECTION = re.compile(r"\s*(§§?)\s*")


def citation_key(text: str) -> str:
    s = " ".join(unicodedata.normalize("NFKC", text).translate(_QUOTES).split())
    return s.rstrip(".,;: ")


def law_key(text: str, normalized: str | None) -> str:
    if normalized:
        s = _SECTION.sub(lambda m: f" {m.group(1)} ", citation_key(normalized)).strip()
        return " ".join(s.split()).casefold()
    return generic_key(text)


def docket_key(text: str, normalized: str | None) -> str:
    s = normalized or re.sub(r"(?i)^(?:.*?\bnos?\.?|.*?\bnumber)\s*", "", text.strip())
    return re.sub(r"[‐‑‒–—]", "-", " ".join(s.split())).casefold()


@functools.lru_cache(maxsize=262144)
def mention_key(label: str, text: str, normalized: str | None) -> str:
    """The resolution key of a mention (see the module docstring). Never empty for non-blank text."""
    if label == "PERSON":
        key = person_key(text)
    elif label == "ORG":
        key = org_key(text)
    elif label == "DATE":
        key = date_key(text)
    elif label == "MONEY":
        key = money_key(text)
    elif label == "CASE":
        key = citation_key(normalized) if normalized else generic_key(text)
    elif label == "LAW":
        key = law_key(text, normalized)
    elif label == "DOCKET":
        key = docket_key(text, normalized)
    elif label == "COURT":
        key = court_key(text)
    else:
        key = generic_key(text)
    return key or " ".join(text.split()).casefold() or text
