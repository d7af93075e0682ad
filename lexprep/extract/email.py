"""E-mail: EML with the standard library's ``email`` package, MSG with extract-msg.

The part's text is a header block (From, To, Cc, Bcc, Date, Subject) followed by the body, so that names in
the headers are searchable and carry entities. Headers are kept in ``meta`` (from, to, cc, bcc, date
as ISO 8601 when parseable, subject, message_id, in_reply_to, references). Attachments become
:class:`~lexprep.models.Attachment` records, processed as child documents; so does every message
inside the message (``message/rfc822``: a forwarded message, inline or attached, with its own body and
attachments), one level at a time (its own messages are its children, down to
``limits.max_attachment_depth``).

Limits (``settings.limits``): a header longer than ``max_header_chars`` is cut before parsing (parsing
time grows faster than a header's length), and no more than ``max_attachments`` attachments are taken;
what was cut or left is listed in ``meta["left_out"]`` (the document is then ``partial``).
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import io
from email.message import EmailMessage
from typing import Iterator

from lexprep.errors import CorruptFileError
from lexprep.extract.html import html_to_text
from lexprep.extract.sniff import _decode_head
from lexprep.models import Attachment, ExtractedDocument, Page, PageMethod
from lexprep.settings import LimitSettings

_HEADER_ORDER = (("from", "From"), ("to", "To"), ("cc", "Cc"), ("bcc", "Bcc"), ("date", "Date"), ("subject", "Subject"))


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


def _header_end(raw: bytes) -> int:
    """Where the top-level header block ends (the blank line), or the end of ``raw``."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return min(ends) if ends else len(raw)


def cap_headers(raw: bytes, limit: int) -> tuple[bytes, list[str]]:
    """``raw`` with every top-level header field longer than ``limit`` bytes cut (at the last comma
    before the limit when there is one, so an address list keeps whole addresses), and the names cut."""
    end = _header_end(raw)
    if end <= limit:
        return raw, []
    fields: list[bytes] = []
    for line in raw[:end].split(b"\n"):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += b"\n" + line
        else:
            fields.append(line)
    cut: list[str] = []
    for i, field in enumerate(fields):
        if len(field) > limit:
            head = field[:limit]
            comma = head.rfind(b",")
            fields[i] = (head[:comma] if comma > limit // 2 else head).rstrip(b"\r\n") + b"\r"
            cut.append(field.split(b":", 1)[0].strip().decode("ascii", "replace")[:60])
    return b"\n".join(fields) + raw[end:], cut


def _parts(msg: EmailMessage) -> Iterator[EmailMessage]:
    """The leaf parts of ``msg`` and the messages inside it (``message/rfc822``), in order; the inside
    of an inner message is its own business (it is a document of its own)."""
    stack = [msg]
    while stack:
        part = stack.pop()
        if part is not msg and part.get_content_type() == "message/rfc822":
            yield part
        elif part.is_multipart():
            stack.extend(reversed(list(part.iter_parts())))
        else:
            yield part


def _inner_message(part: EmailMessage) -> bytes:
    """The bytes of the message a ``message/rfc822`` part carries."""
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else payload
    if hasattr(inner, "as_bytes"):
        try:
            return inner.as_bytes()
        except Exception:  # a header the strict policy cannot write back: the lenient one can
            return inner.as_bytes(policy=email.policy.compat32)
    return part.get_payload(decode=True) or b""


def _eml_name(part: EmailMessage, index: int) -> str:
    """The attached message's file name, else its subject (``<subject>.eml``), else ``message-N.eml``."""
    from lexprep.sources.safe_paths import safe_component

    name = part.get_filename()
    if not name:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        subject = str(inner.get("Subject", "") or "") if inner is not None and hasattr(inner, "get") else ""
        name = safe_component(subject[:100]) or f"message-{index}"
    return name if name.lower().endswith((".eml", ".msg")) else f"{name}.eml"


def _is_attachment(part: EmailMessage) -> bool:
    filename = part.get_filename()
    disposition = part.get_content_disposition()
    return disposition == "attachment" or bool(filename and disposition != "inline") or bool(
        filename and part.get_content_maintype() not in ("text",))


def extract_eml(data: bytes, limits: LimitSettings | None = None) -> ExtractedDocument:
    """Headers, body (text/plain preferred, else HTML as text) and attachments of an RFC 5322 message.

    Every ``message/rfc822`` part (a forwarded message, inline or attached) is an attachment named
    ``<its file name or forwarded-message-N>.eml``.

    Raises:
        CorruptFileError: the message cannot be parsed.
    """
    limits = limits or LimitSettings()
    left_out: list[str] = []
    raw, cut = cap_headers(_as_bytes(data), limits.max_header_chars)
    if cut:
        left_out.append(f"header {', '.join(cut)} cut at {limits.max_header_chars:,} characters (limits.max_header_chars)")
    try:
        msg: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)
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
    beyond = 0
    for index, part in enumerate(_parts(msg)):
        if part is body_part:
            continue
        nested = part.get_content_type() == "message/rfc822"
        if not nested and not _is_attachment(part):
            continue
        if len(attachments) >= limits.max_attachments:
            beyond += 1
            continue
        if nested:
            attachments.append(Attachment(_eml_name(part, index), _inner_message(part), "message/rfc822"))
        else:
            attachments.append(Attachment(part.get_filename() or f"attachment-{index}",
                                          part.get_payload(decode=True) or b"", part.get_content_type()))
    if beyond:
        left_out.append(f"{beyond:,} attachments beyond the first {limits.max_attachments:,} not taken "
                        "(limits.max_attachments)")
    if left_out:
        meta["left_out"] = left_out
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
