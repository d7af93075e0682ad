"""HTML to text with BeautifulSoup (lxml parser): block elements become line breaks."""

from __future__ import annotations

import re

from lexprep.models import ExtractedDocument, Page, PageMethod

_DROP = ("script", "style", "noscript", "head", "template", "svg", "iframe", "object")
_BLOCK = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header", "footer", "h1", "h2",
    "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "dd", "dt", "dl", "address", "form", "fieldset",
    "figure", "figcaption", "main", "nav", "aside", "title", "caption", "center",
}
_SPACES = re.compile(r"[ \t\u00a0]+")


def html_to_text(html: str | bytes) -> tuple[str, str | None]:
    """(text, title) of an HTML document or fragment.

    One walk over the parsed tree (no tree surgery: inserting line breaks with BeautifulSoup takes time
    that grows with the square of the nesting depth), with an explicit stack (no recursion limit).
    """
    import warnings

    from bs4 import BeautifulSoup, CData, NavigableString, XMLParsedAsHTMLWarning

    with warnings.catch_warnings():  # XHTML and inline XBRL filings parse fine as HTML
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    text_types = soup.interesting_string_types or {NavigableString, CData}
    parts: list[str] = []
    stack: list[tuple[object, bool]] = [(soup, False)]
    while stack:
        node, closing = stack.pop()
        name = getattr(node, "name", None)
        if closing:  # after an element's content
            if name in ("td", "th"):
                parts.append(" | ")
            if name in _BLOCK:
                parts.append("\n")
            continue
        if isinstance(node, NavigableString):
            if type(node) in text_types:
                parts.append(str(node))
            continue
        if name in _DROP:
            continue
        if name in _BLOCK:
            parts.append("\n")
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.contents))
    text = "".join(parts)
    lines = [_SPACES.sub(" ", line).strip().strip("|").strip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip(), title


def extract_html(data: bytes) -> ExtractedDocument:
    """One part (page 1, method ``native``) with the visible text. Never raises for odd markup."""
    text, title = html_to_text(data)
    meta = {"title": title} if title else {}
    return ExtractedDocument(kind="html", pages=[Page(1, PageMethod.native.value, text, 1.0)], meta=meta, title=title)
