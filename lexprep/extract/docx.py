"""DOCX with python-docx: paragraphs and tables in body order."""

from __future__ import annotations

import io
import zipfile

from lexprep.errors import CorruptFileError, EncryptedFileError
from lexprep.models import ExtractedDocument, Page, PageMethod


def _iter_block_text(document) -> list[str]:
    """Paragraph texts and table rows (cells joined by `` | ``) in the order they stand in the body."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[str] = []

    def walk(container) -> None:
        for child in container.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                out.append(Paragraph(child, document).text)
            elif tag == "tbl":
                table = Table(child, document)
                for row in table.rows:
                    cells: list[str] = []
                    seen: set[int] = set()
                    for cell in row.cells:
                        if id(cell._tc) in seen:  # a merged cell is returned once per grid column it spans
                            continue
                        seen.add(id(cell._tc))
                        cells.append(cell.text.strip())
                    out.append(" | ".join(cells))
                out.append("")
            elif tag in ("sdt", "sdtContent", "customXml", "ins", "smartTag"):
                walk(child)  # content controls and tracked insertions hold body paragraphs and tables

    walk(document.element.body)
    return out


def extract_docx(data: bytes) -> ExtractedDocument:
    """One part (page 1, method ``native``) holding the body's paragraphs and tables.

    Raises:
        CorruptFileError: not a readable DOCX package.
    """
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise CorruptFileError("DOCX is damaged: not a valid ZIP package") from exc
    except Exception as exc:
        if b"EncryptedPackage" in data[:4096]:
            raise EncryptedFileError("DOCX is password-protected") from exc
        raise CorruptFileError(f"DOCX could not be read: {type(exc).__name__}") from exc
    text = "\n".join(_iter_block_text(document)).strip("\n")
    meta: dict = {}
    try:
        props = document.core_properties
        for key in ("title", "author", "subject"):
            value = getattr(props, key, None)
            if value:
                meta[key] = value
        if props.created:
            meta["created"] = props.created.isoformat()
    except Exception:
        pass
    return ExtractedDocument(kind="docx", pages=[Page(1, PageMethod.native.value, text, 1.0)], meta=meta,
                             title=meta.get("title"))
