"""E-mail: EML with the standard library's ``email`` package, MSG with extract-msg.

The part's text is a header block (From, To, Cc, Date, Subject) followed by the body, so that names in
the headers are searchable and carry entities. Headers are kept in ``meta`` (from, to, cc, bcc, date
as ISO 8601 when parseable, subject, message_id, in_reply_to, references). Attachments become
:class:`~lexprep.models.Attachment` records, processed as child documents.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import io
from email.message import EmailMessage

from lexprep.errors import CorruptFileError
from lexprep.extract.html import html_to_text
from lexprep.extract.sniff import _decode_head
from lexprep.models import Attachment, ExtractedDocument, Page, PageMethod

_HEADER_ORDER = (("from", "From"), ("to", "To"), ("cc", "Cc"), ("date", "Date"), ("subject", "Subject"))


def _iso_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError):
        return value


def _header_block(meta: dict) -> str:
    lines = [f"{label}: {meta[key]}" for key, label in _HEADER_ORDER if meta.get(key)]
    return "\n".join(lines)


def _document(meta: dict, body: str, attachments: list[Attachment], kind: str) -> ExtractedDocument:
    header = _header_block(meta)
    text = f"{header}\n\n{body.strip()}" if header else body.strip()
    return ExtractedDocument(kind=kind, pages=[Page(1, PageMethod.native.value, text, 1.0)],
                             attachments=attachments, meta=meta, title=meta.get("subject"))


def _as_bytes(data: bytes) -> bytes:
    """UTF-16 e-mail (as Outlook sometimes saves it) re-encoded to UTF-8 so the parser can read it."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace").encode("utf-8")
    head = _decode_head(data[:64])
    if head is not None and head is not data[:64] and b"\x00" in data[:64]:
        encoding = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
        return data.decode(encoding, errors="replace").encode("utf-8")
    return data


def _part_text(part) -> str:
    try:
        content = part.get_content()
    except Exception:
        payload = part.get_payload(decode=True) or b""
        content = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    return content


def extract_eml(data: bytes) -> ExtractedDocument:
    """Headers, body (text/plain preferred, else HTML as text) and attachments of an RFC 5322 message.

    Raises:
        CorruptFileError: the message cannot be parsed.
    """
    try:
        msg: EmailMessage = email.message_from_bytes(_as_bytes(data), policy=email.policy.default)
    except Exception as exc:
        raise CorruptFileError(f"e-mail could not be parsed: {type(exc).__name__}") from exc
    meta = {
        "from": str(msg.get("From", "") or "") or None,
        "to": str(msg.get("To", "") or "") or None,
        "cc": str(msg.get("Cc", "") or "") or None,
        "bcc": str(msg.get("Bcc", "") or "") or None,
        "date": _iso_date(str(msg.get("Date", "") or "") or None),
        "subject": str(msg.get("Subject", "") or "") or None,
        "message_id": str(msg.get("Message-ID", "") or "").strip() or None,
        "in_reply_to": str(msg.get("In-Reply-To", "") or "").strip() or None,
        "references": str(msg.get("References", "") or "").split() or None,
    }
    meta = {k: v for k, v in meta.items() if v}
    body_part = None
    try:
        body_part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:
        body_part = None
    body = ""
    if body_part is not None:
        body = _part_text(body_part)
        if body_part.get_content_subtype() == "html":
            body = html_to_text(body)[0]
    elif not msg.is_multipart():
        body = _part_text(msg)
    attachments: list[Attachment] = []
    for index, part in enumerate(msg.walk()):
        if part is body_part or part.is_multipart():
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if disposition == "attachment" or (filename and disposition != "inline") or (
            filename and part.get_content_maintype() not in ("text",)
        ):
            if part.get_content_type() == "message/rfc822":
                payload = part.get_payload()
                inner = payload[0] if isinstance(payload, list) and payload else payload
                blob = inner.as_bytes() if hasattr(inner, "as_bytes") else b""
            else:
                blob = part.get_payload(decode=True) or b""
            attachments.append(Attachment(filename or f"attachment-{index}", blob, part.get_content_type()))
    return _document(meta, body, attachments, "eml")


def extract_msg(data: bytes) -> ExtractedDocument:
    """Headers, body and attachments of an Outlook .msg file (extract-msg).

    Raises:
        CorruptFileError: the file cannot be opened as an Outlook message.
    """
    import extract_msg

    try:
        msg = extract_msg.openMsg(io.BytesIO(data))
    except Exception as exc:
        raise CorruptFileError(f"Outlook message could not be read: {type(exc).__name__}") from exc
    try:
        date = msg.date
        meta = {
            "from": msg.sender,
            "to": msg.to,
            "cc": msg.cc,
            "bcc": msg.bcc,
            "date": date.isoformat() if hasattr(date, "isoformat") else (str(date) if date else None),
            "subject": msg.subject,
            "message_id": (msg.messageId or "").strip() or None,
            "in_reply_to": (getattr(msg, "inReplyTo", None) or "").strip() or None,
        }
        meta = {k: v for k, v in meta.items() if v}
        body = msg.body or ""
        if not body.strip() and getattr(msg, "htmlBody", None):
            body = html_to_text(msg.htmlBody)[0]
        attachments: list[Attachment] = []
        skipped: list[str] = []
        for index, att in enumerate(msg.attachments):
            name = getattr(att, "longFilename", None) or getattr(att, "shortFilename", None) or f"attachment-{index}"
            blob = getattr(att, "data", None)
            if isinstance(blob, (bytes, bytearray)):
                attachments.append(Attachment(name, bytes(blob), getattr(att, "mimetype", None)))
            elif blob is not None and hasattr(blob, "exportBytes"):
                try:
                    attachments.append(Attachment(name if "." in name else f"{name}.msg", blob.exportBytes(),
                                                  "application/vnd.ms-outlook"))
                except Exception:
                    skipped.append(name)
            else:
                skipped.append(name)
        if skipped:
            meta["skipped_attachments"] = skipped
    finally:
        try:
            msg.close()
        except Exception:
            pass
    return _document(meta, body, attachments, "msg")
