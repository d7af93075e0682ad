"""Turning an object key (untrusted text from a bucket) into a path inside a local folder.

An object store key is any UTF-8 string: ``../../etc/passwd``, ``/abs/key``, ``a\\..\\b``, names with
NUL, newlines or bidi controls are all valid keys. Nothing derived from one may land outside the
folder it is downloaded into. :func:`safe_relative_parts` cleans each component;
:func:`safe_join` also checks, with :meth:`pathlib.Path.resolve`, that the result is inside the folder.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from lexprep.errors import InputError

#: characters replaced in a component besides control/format/unassigned code points
#: (separators and what Windows forbids, so a folder can be copied anywhere)
_FORBIDDEN = frozenset('/\\:*?"<>|')
#: longest component kept, in UTF-8 bytes (most file systems allow 255)
MAX_COMPONENT_BYTES = 200
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}$")


class UnsafePathError(InputError):
    """An object key that cannot be mapped to a path inside the destination folder."""


def safe_component(part: str) -> str | None:
    """One path component made safe, or None when nothing usable is left (``''``, ``.``, ``..``).

    NFC-normalised; control, format, surrogate, private-use and unassigned code points and
    ``/ \\ : * ? " < > |`` become ``_``; surrounding whitespace is stripped; at most
    :data:`MAX_COMPONENT_BYTES` UTF-8 bytes (the extension kept).
    """
    part = unicodedata.normalize("NFC", part)
    cleaned = "".join(
        "_" if ch in _FORBIDDEN or unicodedata.category(ch).startswith("C") else ch for ch in part
    ).strip()
    if cleaned in ("", ".", ".."):
        return None
    if len(cleaned.encode("utf-8")) > MAX_COMPONENT_BYTES:
        m = _SUFFIX.search(cleaned)
        suffix = m.group(0) if m else ""
        stem = cleaned[: len(cleaned) - len(suffix)]
        budget = MAX_COMPONENT_BYTES - len(suffix.encode("utf-8"))
        stem = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
        cleaned = stem + suffix
    return cleaned


def safe_relative_parts(key: str) -> list[str]:
    """The components of a relative path for ``key`` (a str; both ``/`` and ``\\`` separate).

    ``.``, ``..`` and empty components are dropped, the rest cleaned by :func:`safe_component`.
    When the result differs from the key, the last component gets ``~`` and 8 hex digits of the
    key's sha256 before its extension, so two different hostile keys never share a path
    (``a/../b`` and ``b`` stay apart). Never empty.
    """
    parts = [p for p in (safe_component(raw) for raw in re.split(r"[/\\]", key)) if p is not None]
    if not parts:
        parts = ["_"]
    if "/".join(parts) != key:
        tag = "~" + hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()[:8]
        last = parts[-1]
        m = _SUFFIX.search(last)
        suffix = m.group(0) if m and m.start() > 0 else ""
        stem = last[: len(last) - len(suffix)]
        budget = MAX_COMPONENT_BYTES - len((tag + suffix).encode("utf-8"))
        stem = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
        parts[-1] = stem + tag + suffix
    return parts


def safe_join(dest_dir: str | Path, key: str) -> Path:
    """The absolute, resolved path for ``key`` under ``dest_dir`` (which need not exist yet).

    Raises:
        UnsafePathError: the cleaned path still resolves outside ``dest_dir`` (e.g. through a
            symlink already in the folder) or to the folder itself.
    """
    root = Path(dest_dir).resolve()
    target = root.joinpath(*safe_relative_parts(key)).resolve()
    if target == root or not target.is_relative_to(root):
        raise UnsafePathError(f"unsafe object key {key!r}: it would be written outside {root}")
    return target



def safe_name(name: str) -> str:
    """``name`` (a file name or path from the file system or an e-mail) safe to store and show.

    Bytes that are not UTF-8 (a ``surrogateescape`` file name) become ``\\xNN``; other lone surrogates
    ``\\udNNN``; control characters (C0, DEL, C1: a newline or a terminal escape sequence in a file
    name) ``\\xNN`` too. Printable text is unchanged.
    """
    if name.isprintable():
        return name
    out = []
    for ch in name:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode could not decode
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        elif code < 0x20 or 0x7F <= code <= 0x9F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    return "".join(out)
