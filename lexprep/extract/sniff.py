"""Decide a file's format from its content, not its extension.

The extension only breaks ties between text-like formats (an e-mail saved as .txt is still e-mail
when its first lines are RFC 5322 headers).
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile

#: kinds this module returns
KINDS = ("empty", "pdf", "docx", "zip", "doc", "msg", "ole", "wpd", "rtf", "eml", "html", "audio", "image", "text", "unknown")

_EMAIL_HEADER = re.compile(
    rb"^(?:From|To|Cc|Subject|Date|Received|Return-Path|Message-ID|MIME-Version|Delivered-To|X-[\w-]+|Reply-To|Sender|In-Reply-To|References|Content-Type)\s*:",
    re.I | re.M,
)
#: header names only e-mail uses: one of them (or an address in From/To/Cc) makes a header block
#: e-mail; without either, a memo's "TO: / FROM: / DATE: / RE:" lines stay plain text
_STRONG_EMAIL_HEADER = re.compile(
    rb"^(?:Received|Return-Path|Message-ID|MIME-Version|Delivered-To|X-[\w-]+|Reply-To|Sender|In-Reply-To|References|Content-Type|Content-Transfer-Encoding|DKIM-Signature)\s*:",
    re.I | re.M,
)
_ADDRESS_HEADER = re.compile(rb"^(?:From|To|Cc|Bcc)\s*:[^\r\n]*[\w.+'-]@[\w-]+\.[\w.-]+", re.I | re.M)
#: DIB header sizes of the BMP variants (BITMAPCOREHEADER .. BITMAPV5HEADER)
_BMP_DIB_SIZES = (12, 16, 40, 52, 56, 64, 108, 124)
_HTML = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<meta\s|<title>|<div[\s>]|<p>|<table[\s>]", re.I)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def ole_streams(data: bytes) -> set[str] | None:
    """The stream and storage names of an OLE2 compound file, None when its directory cannot be read."""
    try:
        import olefile

        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            return {"/".join(s) for s in ole.listdir(streams=True, storages=True)}
    except Exception:
        return None


def cfb_truncated(data: bytes) -> int | None:
    """The size (bytes) an OLE2 compound file's allocation table says it has, when the file is shorter
    (truncated), else None. Reads the header's first 109 allocation-table sectors only."""
    if len(data) < 512 or not data.startswith(_OLE_MAGIC):
        return None
    shift = int.from_bytes(data[30:32], "little")
    if not 7 <= shift <= 16:
        return None
    size = 1 << shift
    needed = 0
    for i in range(109):
        sector = int.from_bytes(data[76 + 4 * i: 80 + 4 * i], "little")
        if sector >= 0xFFFFFFFA:
            continue
        offset = (sector + 1) * size
        needed = max(needed, offset + size)
        table = data[offset: offset + size]
        if len(table) < size:
            break
        used = (len(table.rstrip(b"\xff")) + 3) // 4  # entries up to the last used one (free ones are 0xFFFFFFFF)
        if used:
            needed = max(needed, (i * (size // 4) + used + 1) * size)
    return needed if needed > len(data) else None


def _ole_kind(data: bytes, file_name: str = "") -> tuple[str, str | None]:
    streams = ole_streams(data)
    if streams is None or cfb_truncated(data):
        # a truncated file still names its streams where its directory survived; else the extension decides
        name = file_name.lower()
        fib = any(data[i: i + 2] == b"\xec\xa5" for i in range(512, len(data), 512))  # Word's FIB magic
        if fib or "WordDocument".encode("utf-16-le") in data or name.endswith((".doc", ".dot")):
            return "doc", "application/msword"
        if "__substg1.0_".encode("utf-16-le") in data or name.endswith(".msg"):
            return "msg", "application/vnd.ms-outlook"
        if streams is None:
            return "ole", None
    if "WordDocument" in streams:
        return "doc", "application/msword"
    if any(s.startswith("__substg1.0_") or s.startswith("__properties_version1.0") for s in streams):
        return "msg", "application/vnd.ms-outlook"
    if "Workbook" in streams or "Book" in streams:
        return "ole", "application/vnd.ms-excel"
    if "PowerPoint Document" in streams:
        return "ole", "application/vnd.ms-powerpoint"
    return "ole", None


#: main-part content types of Office Open XML packages (in [Content_Types].xml)
_OOXML_MAIN = {
    b"wordprocessingml.document.main": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    b"wordprocessingml.template.main": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    b"spreadsheetml.sheet.main": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    b"presentationml.presentation.main": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def ooxml_type(data: bytes) -> str | None:
    """The MIME type an Office Open XML package declares for its main part (DOCX, XLSX, PPTX), or a DOCX's
    when it has a ``word/`` folder; None for any other ZIP (or a damaged one)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            types = b""
            info = next((i for i in zf.infolist() if i.filename == "[Content_Types].xml"), None)
            if info is not None and info.file_size < (1 << 20):
                types = zf.read(info)
    except Exception:
        return None
    for marker, mime in _OOXML_MAIN.items():
        if marker in types:
            return mime
    if any(n.startswith("word/") for n in names):
        return DOCX_MIME
    return None


def _zip_kind(data: bytes) -> tuple[str, str | None]:
    mime = ooxml_type(data)
    if mime == DOCX_MIME:
        return "docx", mime
    return "zip", mime or "application/zip"


def _decode_head(head: bytes) -> bytes | None:
    """The head as ASCII-compatible bytes (UTF-16 with or without BOM is transcoded), None if binary."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return head.decode("utf-16", errors="ignore").encode("utf-8", errors="ignore")
        except Exception:
            return None
    if len(head) >= 4 and head[1:2] == b"\x00" and head[3:4] == b"\x00" and head[0:1] != b"\x00":
        return head.decode("utf-16-le", errors="ignore").encode("utf-8", errors="ignore")
    if len(head) >= 4 and head[0:1] == b"\x00" and head[2:3] == b"\x00" and head[1:2] != b"\x00":
        return head.decode("utf-16-be", errors="ignore").encode("utf-8", errors="ignore")
    return head


def looks_binary(data: bytes) -> bool:
    """True when a sample of ``data`` is not text in any 8-bit/UTF-8 encoding.

    Text with a few stray control bytes (NULs left by a broken export, a DOS end-of-file mark) is still
    text: the sample is binary when control bytes (NUL included; tab, line breaks, form feed and escape
    are text) are more than 5% of it, or when it holds NULs and the rest is not overwhelmingly
    printable (valid UTF-8, or 90% printable ASCII).
    """
    sample = data[:8192]
    if not sample:
        return False
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    if control / len(sample) > 0.05:
        return True
    if b"\x00" not in sample:
        return False
    rest = sample.replace(b"\x00", b"")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(rest, final=False)
        return False
    except UnicodeDecodeError:
        printable = sum(1 for b in rest if 32 <= b < 127 or b in (9, 10, 12, 13))
        return printable < 0.9 * max(len(rest), 1)


def _is_audio(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"fLaC":
        return "audio/flac"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and head[1] not in (0xFF,)):
        return "audio/mpeg"
    if head[:4] == b"OggS":
        return "audio/ogg"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B ", b"M4P "):
            return "audio/mp4"
        return "video/mp4"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if head[:4] == b"\x1aE\xdf\xa3":
        return "video/webm"
    return None


def _is_image(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"BM") and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_DIB_SIZES:
        return "image/bmp"  # "BM" plus a known DIB header size: a text file may start with "BM" too
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def sniff(data: bytes, file_name: str = "") -> tuple[str, str | None]:
    """(kind, mime) of ``data``; kind is one of :data:`KINDS`.

    Content decides: magic numbers first (PDF, ZIP/DOCX, OLE2/DOC/MSG, WordPerfect, RTF, audio, image),
    then text formats (e-mail headers, HTML markers, decodable text). ``file_name`` only breaks ties.
    """
    if not data:
        return "empty", None
    head = data[:4096]
    if b"%PDF-" in head[:1024]:
        return "pdf", "application/pdf"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_kind(data)
    if head.startswith(_OLE_MAGIC):
        return _ole_kind(data, file_name)
    if head.startswith(b"\xffWPC"):
        return "wpd", "application/vnd.wordperfect"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{\\rtf"):
        return "rtf", "application/rtf"
    image = _is_image(head)
    if image:
        return "image", image
    bom_text = head.startswith((b"\xff\xfe", b"\xfe\xff")) and not looks_binary(
        head.decode("utf-16", errors="ignore").encode("utf-8", errors="ignore")
    )
    audio = None if bom_text else _is_audio(head)
    if audio:
        return "audio", audio
    text_head = _decode_head(head)
    if text_head is None or (text_head is head and looks_binary(data)):
        return "unknown", None
    stripped = text_head.lstrip(b"\xef\xbb\xbf \t\r\n")
    first_lines = stripped[:2048]
    header_hits = len(_EMAIL_HEADER.findall(first_lines))
    name = file_name.lower()
    header_block = re.split(rb"\r?\n[ \t]*\r?\n", first_lines, maxsplit=1)[0]
    conclusive = bool(_STRONG_EMAIL_HEADER.search(header_block) or _ADDRESS_HEADER.search(header_block))
    if (_EMAIL_HEADER.match(first_lines) and header_hits >= 2 and (conclusive or name.endswith(".eml"))) or (
        name.endswith(".eml") and header_hits >= 1
    ):
        return "eml", "message/rfc822"
    if _HTML.search(stripped[:4096]) and (stripped.startswith(b"<") or name.endswith((".htm", ".html"))):
        return "html", "text/html"
    return "text", "text/plain"
