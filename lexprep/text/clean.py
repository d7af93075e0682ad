"""Cleaning: raw page texts -> one normalised document text with a page map.

``clean_pages`` runs these steps, each linear in the text's length (precompiled regexes, one dict
of line counts across pages):

1. characters: ``\\r\\n``/``\\r`` -> ``\\n``; Unicode NFKC (``§`` and ``¶`` are unaffected by it and
   kept); curly quotes -> straight quotes, en dashes and other hyphen-like dashes -> ``-``, em
   dashes -> ``--``; soft hyphens, zero-width and bidi-control characters and C0/C1 control
   characters other than ``\\n`` and ``\\f`` are dropped; tabs and exotic spaces become spaces.
   pdfium's U+FFFE (its mark for a hyphen at a line break) is treated like ``-`` + line break.
2. lines: runs of spaces collapse to one; each line is stripped.
3. pleading-paper line numbers (``settings.drop_line_numbers``): on each page, bare-number lines
   ``1, 2, 3, ...`` (<= 28, at least 5 in sequence, other lines may sit between them) are dropped,
   and so is a number prefix that runs ``1 text``, ``2 text``, ... down 5 or more consecutive lines.
4. running headers/footers (``settings.drop_headers_footers``, only with >= 3 pages that have
   text): a line among the first 3 or last 3 non-empty lines of a page is compared with its digits
   replaced by ``#`` (so ``Page 3 of 30`` ~ ``Page # of #``) and case-folded; when that key sits in
   the top/bottom zone of at least ``settings.header_footer_min_share`` of the pages with text, or
   of that share of the odd or of the even pages (recto/verso headers alternate), it is dropped
   from every page's top/bottom zone (never from the body).
5. lone page-number lines (``7``, ``- 7 -``, ``Page 7``, ``Page 7 of 30``, ``vii``) in a page's
   top/bottom zone are dropped.
6. de-hyphenation (``settings.dehyphenate``): ``statu-\\ntory`` -> ``statutory`` when the hyphen
   ends a line, the next line starts with a lowercase letter and both halves are alphabetic; in a
   compound already hyphenated (``state-by-\\nstate``) the hyphen is kept and only the line break
   goes. Pages are never joined across a page break.
7. blank lines: runs of blank lines collapse to one (a paragraph break ``\\n\\n``); single
   newlines inside a paragraph are kept.

Pages are joined with ``\\n\\n``. A page that contributes no text (``needs_ocr``, or empty after
cleaning) keeps its place as a zero-length :class:`PageSpan` and adds no separator.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

from lexprep.models import CleanText, Page, PageMethod, PageSpan
from lexprep.settings import CleanSettings

__all__ = ["clean_pages", "clean_page_lines"]

#: pdfium's marker for a hyphen it saw at a line break ("Loui\ufffesiana")
_PDFIUM_HYPHEN = "\ufffe"


def _build_translation() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    # C0 controls except \t (-> space), \n, \f; \v and the Unicode line separators become \n
    for cp in range(0x00, 0x20):
        table[cp] = None
    table[0x09] = " "
    table[0x0A] = "\n"
    table[0x0B] = "\n"
    table[0x0C] = "\x0c"
    table[0x0D] = "\n"
    table[0x7F] = None
    for cp in range(0x80, 0xA0):  # C1 controls
        table[cp] = None
    table[0x85] = "\n"  # NEL
    table[0x2028] = "\n"
    table[0x2029] = "\n\n"
    # invisible: soft hyphen, zero-width, word joiner, BOM, bidi marks and embeddings
    for cp in (0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x200E, 0x200F, 0x061C, 0x180E):
        table[cp] = None
    for cp in range(0x202A, 0x202F):
        table[cp] = None
    for cp in range(0x2066, 0x206A):
        table[cp] = None
    # quotes
    for ch in "\u2018\u2019\u201a\u201b\u2032\u2035":
        table[ord(ch)] = "'"
    for ch in "\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb":
        table[ord(ch)] = '"'
    # dashes: hyphen-like -> '-', em dash / horizontal bar -> '--'
    for ch in "\u2010\u2011\u2012\u2013\u2212\ufe63\uff0d":
        table[ord(ch)] = "-"
    for ch in "\u2014\u2015":
        table[ord(ch)] = "--"
    # spaces that NFKC leaves alone
    for ch in "\u3000\u1680":
        table[ord(ch)] = " "
    return table


_TRANSLATION = _build_translation()
#: only the characters that change (a regex scan is ~5x faster than str.translate on non-ASCII text)
_REPLACEMENT = {chr(cp): (v or "") for cp, v in _TRANSLATION.items() if v != chr(cp)}
_TO_REPLACE = re.compile("[" + "".join(re.escape(ch) for ch in sorted(_REPLACEMENT)) + "]")

#: after step 1 the only horizontal whitespace left is " " (NFKC folds the Unicode spaces to it)
_SPACES = re.compile(r"  +")
_DIGITS = re.compile(r"\d+")
_BARE_NUMBER = re.compile(r"^\d{1,2}$")
_NUMBER_PREFIX = re.compile(r"^(\d{1,2}) (\S.*)$")
_PAGE_NUMBER = re.compile(
    r"^(?:"
    r"[-\u2013\u2014 ]*\d{1,4}[-\u2013\u2014 ]*"  # 7, - 7 -, -7-
    r"|\[\d{1,4}\]|\(\d{1,4}\)"  # [7], (7)
    r"|(?:page|pg\.?|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?"  # Page 7, Page 7 of 30
    r"|\d{1,4}\s*(?:of|/)\s*\d{1,4}"  # 7 of 30, 7/30
    r"|(?-i:[ivxlc]{1,7})"  # lowercase roman numerals of front matter
    r")$",
    re.IGNORECASE,
)
#: a hyphen at a line end (or pdfium's U+FFFE) and the word after it; the word before is found by
#: scanning back from the match, so the pattern starts with a literal and the scan is fast
_HYPHEN_BREAK = re.compile(r"(?:-\n|\ufffe\n?)([^\W\d_]\w*)")
_BLANK_RUNS = re.compile(r"\n{3,}")

#: how many non-empty lines at the top and bottom of a page count as its header/footer zone
ZONE = 3
#: pleading paper has at most this many numbered lines
MAX_PLEADING_LINE = 28
#: a run of line numbers must be at least this long to be taken for pleading-paper numbering
MIN_LINE_NUMBER_RUN = 5


def _normalize_chars(text: str) -> str:
    """Step 1: characters (see the module docstring)."""
    if not text:
        return ""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _TO_REPLACE.sub(_replace_char, text)


def _replace_char(m: re.Match[str]) -> str:
    return _REPLACEMENT[m.group()]


def _split_lines(text: str) -> list[str]:
    """Step 2: one stripped line per ``\\n``; runs of spaces and tabs collapsed to one space."""
    text = _SPACES.sub(" ", text)
    return [line.strip(" ") for line in text.split("\n")]


def _drop_line_numbers(lines: list[str]) -> list[str]:
    """Step 3: remove pleading-paper numbering from one page's lines."""
    # (a) bare-number lines 1, 2, 3 ... (other lines may sit in between)
    drop: set[int] = set()
    run: list[int] = []
    last = 0
    for i, line in enumerate(lines):
        if not line or not _BARE_NUMBER.match(line):
            continue
        value = int(line)
        if value > MAX_PLEADING_LINE or value < 1:
            continue
        if run and value == last + 1:
            run.append(i)
        else:
            if len(run) >= MIN_LINE_NUMBER_RUN:
                drop.update(run)
            run = [i]
        last = value
    if len(run) >= MIN_LINE_NUMBER_RUN:
        drop.update(run)
    if drop:
        lines = [line for i, line in enumerate(lines) if i not in drop]

    # (b) a number prefix running 1, 2, 3 ... down consecutive non-empty lines
    out = list(lines)
    run = []
    last = 0

    def flush() -> None:
        if len(run) >= MIN_LINE_NUMBER_RUN:
            for j in run:
                m = _NUMBER_PREFIX.match(out[j])
                if m:
                    out[j] = m.group(2)

    for i, line in enumerate(lines):
        if not line:
            continue
        m = _NUMBER_PREFIX.match(line)
        value = int(m.group(1)) if m else 0
        if m and 1 <= value <= MAX_PLEADING_LINE and run and value == last + 1:
            run.append(i)
            last = value
            continue
        flush()
        if m and 1 <= value <= MAX_PLEADING_LINE:
            run = [i]
            last = value
        else:
            run = []
            last = 0
    flush()
    return out


def _zone_indices(lines: list[str]) -> list[int]:
    """Indices of the first ZONE and last ZONE non-empty lines (each index once)."""
    nonempty = [i for i, line in enumerate(lines) if line]
    if len(nonempty) <= 2 * ZONE:
        return nonempty
    return nonempty[:ZONE] + nonempty[-ZONE:]


def _line_key(line: str) -> str:
    return _DIGITS.sub("#", line).casefold()


def _drop_headers_footers(pages: list[list[str]], min_share: float) -> list[list[str]]:
    """Step 4: remove running headers/footers; ``pages`` holds each page's lines ([] = no text)."""
    with_text = [i for i, lines in enumerate(pages) if any(lines)]
    if len(with_text) < 3:
        return pages
    zones = {i: _zone_indices(pages[i]) for i in with_text}
    keys_by_page = {i: {_line_key(pages[i][j]) for j in zones[i]} for i in with_text}

    # recto/verso parity by position among the pages that have text
    counts_all: Counter[str] = Counter()
    counts_parity: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    n_parity = [0, 0]
    for pos, i in enumerate(with_text):
        counts_all.update(keys_by_page[i])
        counts_parity[pos % 2].update(keys_by_page[i])
        n_parity[pos % 2] += 1

    need_all = max(2, math.ceil(min_share * len(with_text)))
    need_parity = [max(2, math.ceil(min_share * n)) for n in n_parity]
    running = {k for k, c in counts_all.items() if c >= need_all}
    for p in (0, 1):
        if n_parity[p] >= 2:
            running.update(k for k, c in counts_parity[p].items() if c >= need_parity[p])
    if not running:
        return pages

    out = list(pages)
    for i in with_text:
        drop = {j for j in zones[i] if _line_key(pages[i][j]) in running}
        if drop:
            out[i] = [line for j, line in enumerate(pages[i]) if j not in drop]
    return out


def _drop_page_numbers(lines: list[str]) -> list[str]:
    """Step 5: drop lone page-number lines in the page's top/bottom zone."""
    drop = {j for j in _zone_indices(lines) if _PAGE_NUMBER.match(lines[j])}
    if not drop:
        return lines
    return [line for j, line in enumerate(lines) if j not in drop]


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _dehyphenate(text: str) -> str:
    """Join ``statu-\ntory`` -> ``statutory`` (see step 6 in the module docstring)."""
    out: list[str] = []
    last = 0
    for m in _HYPHEN_BREAK.finditer(text):
        p = m.start()
        q = p
        while q > last and _is_word_char(text[q - 1]):
            q -= 1
        if q == p:  # nothing word-like before the hyphen ("-- \n", "(-\n")
            continue
        left, right = text[q:p], m.group(1)
        compound = q > 0 and text[q - 1] in "-\ufffe"
        if right[0].islower() and left.isalpha() and right.isalpha() and not compound:
            rep = left + right
        elif compound or (right[0].islower() and not left.isdigit()):
            rep = left + "-" + right  # keep the hyphen, drop the break
        else:
            continue
        out.append(text[last:q])
        out.append(rep)
        last = m.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def _finish(lines: list[str], dehyphenate: bool) -> str:
    """Steps 6-7 on one page's lines: de-hyphenate, collapse blank lines, strip."""
    text = "\n".join(lines)
    if dehyphenate:
        if "-\n" in text or _PDFIUM_HYPHEN in text:
            text = _dehyphenate(text)
    if _PDFIUM_HYPHEN in text:
        text = text.replace(_PDFIUM_HYPHEN + "\n", "-\n").replace(_PDFIUM_HYPHEN, "-")
    text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip("\n ")


def clean_page_lines(text: str) -> list[str]:
    """Steps 1-2 for one raw text: normalised characters, one stripped line per element."""
    return _split_lines(_normalize_chars(text))


def clean_pages(pages: list[Page], settings: CleanSettings | None = None) -> CleanText:
    """Clean a document's raw pages into one text and a page map.

    Args:
        pages: raw text per page, in order (``Page.text`` as extracted; ``Page.method ==
            "needs_ocr"`` pages contribute no text).
        settings: which optional steps run (defaults: all on, header/footer share 0.5).

    Returns:
        CleanText whose ``text`` is the pages' cleaned texts joined with ``"\\n\\n"`` and whose
        ``page_spans`` holds, for every input page in order, ``[char_start, char_end)`` of that
        page's text in ``text`` (character offsets; zero length for a page without text), so that
        ``CleanText.page_at(offset)`` answers which page an offset came from.

    Never raises for odd input: empty input gives ``CleanText("", [])``.
    """
    settings = settings or CleanSettings()
    page_lines: list[list[str]] = []
    for page in pages:
        if page.method == PageMethod.needs_ocr.value or not page.text:
            page_lines.append([])
            continue
        lines = clean_page_lines(page.text)
        if settings.drop_line_numbers:
            lines = _drop_line_numbers(lines)
        page_lines.append(lines)

    if settings.drop_headers_footers:
        page_lines = _drop_headers_footers(page_lines, settings.header_footer_min_share)

    parts: list[str] = []
    spans: list[PageSpan] = []
    pos = 0
    for page, lines in zip(pages, page_lines):
        if lines:
            lines = _drop_page_numbers(lines)
        body = _finish(lines, settings.dehyphenate) if lines else ""
        if not body:
            spans.append(PageSpan(page.number, pos, pos))
            continue
        if parts:
            parts.append("\n\n")
            pos += 2
        parts.append(body)
        spans.append(PageSpan(page.number, pos, pos + len(body)))
        pos += len(body)
    return CleanText(text="".join(parts), page_spans=spans)
