"""DOCX with python-docx: paragraphs and tables in body order."""

from __future__ import annotations

import io
import zipfile

from lexprep.errors import CorruptFileError, EncryptedFileError, LimitExceededError
from lexprep.models import ExtractedDocument, Page, PageMethod

#: the main part of a DOCX package
MAIN_PART = "word/document.xml"
_OFFICE_DOCUMENT = "/relationships/officeDocument"


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


def check_package(data: bytes, max_unzipped_bytes: int | None) -> None:
    """Refuse a DOCX before it is inflated: a total decompressed size over ``max_unzipped_bytes`` (the
    sizes its ZIP directory declares, which also bound what Python's zipfile will inflate), or no main part.

    Raises:
        CorruptFileError: not a ZIP package, or its main part is missing.
        LimitExceededError: it would inflate to more than ``max_unzipped_bytes``.
    """
    from lexprep.sandbox import format_bytes

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            if max_unzipped_bytes is not None and total > max_unzipped_bytes:
                raise LimitExceededError(
                    f"DOCX would inflate to {format_bytes(total)} ({len(infos):,} parts), over the limit of "
                    f"{format_bytes(max_unzipped_bytes)} (limits.max_unzipped_bytes)")
            names = {i.filename for i in infos}
            main = MAIN_PART
            rels = next((i for i in infos if i.filename == "_rels/.rels"), None)
            if rels is not None and rels.file_size < (1 << 20):
                import re

                target = re.search(rb'Type="[^"]*' + _OFFICE_DOCUMENT.encode() + rb'"[^>]*Target="/?([^"]+)"', zf.read(rels))
                target = target or re.search(rb'Target="/?([^"]+)"[^>]*Type="[^"]*' + _OFFICE_DOCUMENT.encode() + rb'"',
                                             zf.read(rels))
                if target:
                    main = target.group(1).decode("utf-8", "replace")
    except zipfile.BadZipFile as exc:
        raise CorruptFileError("DOCX is damaged: not a valid ZIP package") from exc
    if main not in names:
        raise CorruptFileError(f"DOCX is damaged: its main part ({main}) is missing")


def extract_docx(data: bytes, max_unzipped_bytes: int | None = None) -> ExtractedDocument:
    """One part (page 1, method ``native``) holding the body's paragraphs and tables.

    Raises:
        CorruptFileError: not a readable DOCX package, or its main part is missing.
        LimitExceededError: it would inflate to more than ``max_unzipped_bytes`` (see :func:`check_package`).
    """
    import docx

    if b"EncryptedPackage" not in data[:4096]:
        check_package(data, max_unzipped_bytes)
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
