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
    """(text, title) of an HTML document or fragment."""
    import warnings

    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

    with warnings.catch_warnings():  # XHTML and inline XBRL filings parse fine as HTML
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup(_DROP):
        tag.decompose()
    for cell in soup.find_all(["td", "th"]):
        cell.insert_after(" | ")
    for tag in soup.find_all(_BLOCK):
        tag.insert_before("\n")
        tag.insert_after("\n")
    text = soup.get_text("")
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
