"""Small generators of hostile input (files built to hurt a parser), for the tests and the benchmark.

Each returns bytes (or writes a file) of the kind an opposing party's production could contain: huge
or deeply nested structures in small files, lies about sizes and counts, truncation, odd bytes.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path

# ----------------------------------------------------------------------------- PDF


def raw_pdf(objects: list[bytes | str]) -> bytes:
    """A PDF of ``objects`` (object 1 is the catalog) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        body = obj.encode("latin-1") if isinstance(obj, str) else obj
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def blank_pages_pdf(pages: int, width: float = 612, height: float = 792) -> bytes:
    """``pages`` blank pages (no content stream at all)."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objs: list[bytes | str] = ["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>"]
    objs += [f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] >>"] * pages
    return raw_pdf(objs)


def claimed_pages_pdf(claimed: int = 1_000_000) -> bytes:
    """A 1 KB PDF with one page whose page tree claims ``claimed`` pages."""
    return raw_pdf(["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [3 0 R] /Count {claimed} >>",
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"])


def empty_tree_pdf() -> bytes:
    """A well-formed PDF whose page tree has no page."""
    return raw_pdf(["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>"])


def huge_page_pdf(side_pt: float = 20_000) -> bytes:
    """One ``side_pt`` x ``side_pt`` point page with ink (filled squares) and no text layer: it needs OCR."""
    squares = " ".join(f"{x} {y} 200 200 re" for x in range(0, int(side_pt), 4000) for y in range(0, int(side_pt), 4000))
    content = f"0 g {squares} f".encode()
    return raw_pdf(["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {side_pt} {side_pt}] /Contents 4 0 R >>",
                    b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"])


# ----------------------------------------------------------------------------- Office


def docx_bomb(inflated_bytes: int, chunk: int = 1 << 20) -> bytes:
    """A DOCX whose word/document.xml inflates to ``inflated_bytes`` (zeros deflate ~1000:1)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = bytearray()
    zeros = bytes(chunk)
    for _ in range(inflated_bytes // chunk):
        body += comp.compress(zeros)
    body += comp.compress(bytes(inflated_bytes % chunk)) + comp.flush()
    crc = 0
    for _ in range(inflated_bytes // chunk):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes(inflated_bytes % chunk), crc)
    return _zip_with_raw_member(_docx_parts(), "word/document.xml", bytes(body), inflated_bytes, crc)


def _docx_parts() -> dict[str, bytes]:
    return {
        "[Content_Types].xml": (
            b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
            b'"/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.'
            b'document.main+xml"/></Types>'),
        "_rels/.rels": (
            b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            b'2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            b'2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'),
    }


def docx_without_main_part() -> bytes:
    """A DOCX package (content types, relationships) whose word/document.xml is missing."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in _docx_parts().items():
            zf.writestr(name, data)
        zf.writestr("word/styles.xml", b"<w:styles/>")
    return buf.getvalue()


def docx_huge_xml(paragraphs: int) -> bytes:
    """A valid DOCX whose body has ``paragraphs`` tiny paragraphs (parsing it takes memory)."""
    para = b"<w:p><w:r><w:t>x</w:t></w:r></w:p>"
    head = (b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            b'wordprocessingml/2006/main"><w:body>')
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    crc, size, body = zlib.crc32(head), len(head), bytearray(comp.compress(head))
    block = para * 10_000
    for _ in range(paragraphs // 10_000):
        body += comp.compress(block)
        crc, size = zlib.crc32(block, crc), size + len(block)
    tail = b"</w:body></w:document>"
    body += comp.compress(tail) + comp.flush()
    crc, size = zlib.crc32(tail, crc), size + len(tail)
    return _zip_with_raw_member(_docx_parts(), "word/document.xml", bytes(body), size, crc)


def _zip_with_raw_member(parts: dict[str, bytes], name: str, deflated: bytes, size: int, crc: int) -> bytes:
    """A ZIP of ``parts`` plus ``name`` given as raw deflate data (so huge members need no huge buffer)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for part, data in parts.items():
            zf.writestr(part, data)
    entries = []
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        for info in zf.infolist():
            entries.append((info, buf.getvalue()[info.header_offset:]))
    out = bytearray()
    central = bytearray()

    def add(fname: bytes, method: int, data: bytes, crc32: int, csize: int, usize: int) -> None:
        offset = len(out)
        zip64 = usize >= 0xFFFFFFFF or csize >= 0xFFFFFFFF
        extra = struct.pack("<HHQQ", 1, 16, usize, csize) if zip64 else b""
        sizes = (0xFFFFFFFF, 0xFFFFFFFF) if zip64 else (csize, usize)
        out.extend(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0, crc32, *sizes, len(fname), len(extra))
                   + fname + extra + data)
        cextra = struct.pack("<HHQQQ", 1, 24, usize, csize, offset) if zip64 else b""
        central.extend(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, method, 0, 0, crc32, *sizes,
                                   len(fname), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF if zip64 else offset)
                       + fname + cextra)

    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        for info in zf.infolist():
            data = zf.read(info)
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            packed = comp.compress(data) + comp.flush()
            add(info.filename.encode(), 8, packed, zlib.crc32(data), len(packed), len(data))
    add(name.encode(), 8, deflated, crc, len(deflated), size)
    cd_offset, cd_size, count = len(out), len(central), len(parts) + 1
    out.extend(central)
    zip64_eocd = len(out)
    out.extend(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, cd_offset))
    out.extend(struct.pack("<IIQI", 0x07064B50, 0, zip64_eocd, 1))
    out.extend(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, cd_size, cd_offset, 0))
    return bytes(out)


_END, _FREE, _FATSECT, _NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def _cfb_entry(name: str, type_: int, child: int = _NOSTREAM, start: int = _END, size: int = 0) -> bytes:
    raw = (name + "\0").encode("utf-16-le") if name else b""
    return struct.pack("<64sHBBIII16sIQQIII", raw, len(raw), type_, 1, _NOSTREAM, _NOSTREAM, child, bytes(16), 0, 0,
                       0, start, size, 0)


def ole_file(stream_name: str, payload: bytes) -> bytes:
    """A minimal OLE2 compound file (what .doc and .msg files are) holding one stream."""
    n = max(8, -(-len(payload) // 512))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
              + struct.pack("<HHHHH6sIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, bytes(6), 0, 1, 1, 0, 4096, _END, 0, _END, 0)
              + struct.pack("<I", 0) + struct.pack("<I", _FREE) * 108)
    fat = [_FATSECT, _END] + [3 + i for i in range(n - 1)] + [_END]
    fat += [_FREE] * (128 - len(fat))
    directory = (_cfb_entry("Root Entry", 5, child=1) + _cfb_entry(stream_name, 2, start=2, size=n * 512)
                 + _cfb_entry("", 0) + _cfb_entry("", 0))
    return header + struct.pack("<128I", *fat) + directory + payload.ljust(n * 512, b"\0")


def truncated_doc() -> bytes:
    """A Word 97-2003 file cut short (its FIB magic survives, its directory does not)."""
    return ole_file("WordDocument", b"\xec\xa5\xc1\x00" + b"W" * 6000)[:3000]


def truncated_msg() -> bytes:
    """An Outlook .msg file cut short."""
    return ole_file("__substg1.0_0037001F", "Subject line".encode("utf-16-le") * 400)[:2500]


# ----------------------------------------------------------------------------- e-mail, HTML, text


def _message(level: int, subject: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Sender {level} <sender{level}@example.com>"
    msg["To"] = "Recipient <recipient@example.com>"
    msg["Subject"] = subject or f"Level {level} message"
    msg["Message-ID"] = f"<level-{level}@example.com>"
    msg.set_content(f"This is the body of the level {level} message about the Harborline shipment.\n")
    return msg


def nested_eml(depth: int) -> bytes:
    """An e-mail with a message attached (message/rfc822) with a message attached ... ``depth`` levels."""
    inner = _message(depth)
    for level in range(depth - 1, -1, -1):
        outer = _message(level)
        outer.add_attachment(inner)
        inner = outer
    return inner.as_bytes()


def forwarded_inline_eml() -> bytes:
    """An e-mail forwarding a message inline (message/rfc822, disposition inline) that has a PDF attachment."""
    inner = _message(1, "Original message with the contract")
    inner.add_attachment(blank_pages_pdf(1), maintype="application", subtype="pdf", filename="contract.pdf")
    outer = _message(0, "Fwd: Original message with the contract")
    outer.add_attachment(inner, disposition="inline")
    return outer.as_bytes()


def huge_header_eml(header_bytes: int) -> bytes:
    """An e-mail whose To: header is ``header_bytes`` long (thousands of addresses)."""
    addresses, size, i = [], 0, 0
    while size < header_bytes:
        address = f"Person {i} <person{i}@example.com>"
        addresses.append(address)
        size += len(address) + 2
        i += 1
    return (f"From: a@example.com\r\nTo: {', '.join(addresses)}\r\nSubject: many recipients\r\n"
            "Message-ID: <many@example.com>\r\n\r\nHello all.\r\n").encode()


def nested_html(depth: int) -> bytes:
    """An HTML page ``depth`` <div>s deep."""
    return b"<html><body>" + b"<div>" * depth + b"deep text" + b"</div>" * depth + b"</body></html>"


def text_with_nuls() -> bytes:
    """Normal English text with a few stray NUL bytes (a broken export)."""
    line = "The plaintiff Harborline Logistics, Inc. filed the complaint on March 3, 2021 in Seattle.\n"
    return (line * 20).encode().replace(b"filed", b"fi\x00led", 3) + b"\x00\x00"


def deep_file(root: Path, content: bytes, levels: int = 40) -> None:
    """``deep.txt`` holding ``content`` under ``levels`` folders of 124-byte names inside ``root`` (with 40
    levels its path is longer than PATH_MAX, 4096: made folder by folder, each relative to the last)."""
    import os

    fd = os.open(root, os.O_RDONLY)
    try:
        for i in range(levels):
            name = f"{i:03d}-" + "d" * 120
            os.mkdir(name, dir_fd=fd)
            next_fd = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = next_fd
        out = os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, content)
        os.close(out)
    finally:
        os.close(fd)


def write_single_line_text(path: Path, size: int, chunk: int = 1 << 20) -> Path:
    """A ``size``-byte text file on one line (words, no line break), written in chunks."""
    words = b"lorem ipsum dolor sit amet consectetur adipiscing elit Harborline Seattle contract "
    block = (words * (chunk // len(words) + 1))[:chunk]
    with open(path, "wb") as fh:
        written = 0
        while written < size:
            part = block[: min(chunk, size - written)]
            fh.write(part)
            written += len(part)
    return path


# ----------------------------------------------------------------------------- runaway code (for worker processes)


def spin(seconds: float) -> str:
    """Busy for ``seconds`` (a parser that never ends, as far as a short budget can tell)."""
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "finished"


def allocate(mib: int, seconds_per_mib: float = 0.0) -> int:
    """Hold ``mib`` MiB, one MiB at a time (touched, so it is resident), pausing ``seconds_per_mib`` after
    each (a parser growing its tree, rather than one huge allocation)."""
    import time

    held = []
    for _ in range(mib):
        held.append(bytearray(1 << 20))
        if seconds_per_mib:
            time.sleep(seconds_per_mib)
    return len(held)


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (from /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def segfault() -> None:
    """Crash the process the way a broken C parser does."""
    import ctypes

    ctypes.string_at(0)


def missing_engine() -> None:
    """Raise an error whose constructor takes other arguments than its message."""
    from lexprep.errors import MissingDependencyError

    raise MissingDependencyError("tesseract", "apt-get install tesseract-ocr")
