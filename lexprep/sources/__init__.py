"""Where a matter's files come from: fsspec listing and reading.

Local paths today; any fsspec URL (``s3://bucket/prefix`` with s3fs) goes through the same seam.
A source yields :class:`SourceRef` (a URI to read) and :func:`load` returns the bytes and the
:class:`~lexprep.models.SourceFile` whose ``sha256`` is the document's identity within a matter.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from typing import Iterator

import fsspec

from lexprep.errors import ConfigurationError
from lexprep.extract.sniff import sniff
from lexprep.models import SourceFile, sha256_bytes

#: names never treated as documents (editor and OS droppings)
IGNORED_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


@dataclass(slots=True, frozen=True)
class SourceRef:
    """A file under a source: its URI (fsspec) and base name; ``size`` in bytes."""

    uri: str
    file_name: str
    size: int


def _fs_and_root(location: str) -> tuple[fsspec.AbstractFileSystem, str, str]:
    protocol = fsspec.utils.get_protocol(location)
    fs = fsspec.filesystem(protocol)
    root = fs._strip_protocol(location)
    prefix = "" if protocol in ("file", "local") else f"{protocol}://"
    return fs, root, prefix


def list_sources(location: str) -> list[SourceRef]:
    """Every file under ``location`` (a file or a folder, walked recursively), sorted by URI.

    Hidden files and folders (a leading dot) and OS droppings are skipped.

    Raises:
        ConfigurationError: the location does not exist or cannot be listed.
    """
    if "://" not in location:
        location = os.path.abspath(location)
    fs, root, prefix = _fs_and_root(location)
    try:
        if not fs.exists(root):
            raise ConfigurationError(f"source not found: {location}")
        if fs.isfile(root):
            info = fs.info(root)
            return [SourceRef(prefix + root, posixpath.basename(root), int(info.get("size") or 0))]
        found = fs.find(root, detail=True, withdirs=False)
    except ConfigurationError:
        raise
    except Exception as exc:  # fsspec backends raise many types
        raise ConfigurationError(f"cannot list source {location}: {exc}") from exc
    refs = []
    for path, info in sorted(found.items()):
        rel = path[len(root):].lstrip("/")
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        name = posixpath.basename(path)
        if name in IGNORED_NAMES:
            continue
        refs.append(SourceRef(prefix + path, name, int(info.get("size") or 0)))
    return refs


def read_bytes(uri: str) -> bytes:
    """The whole content of ``uri`` (bytes). Raises OSError subclasses from fsspec."""
    with fsspec.open(uri, "rb") as fh:
        return fh.read()


def describe(uri: str, file_name: str, data: bytes, parent_sha256: str | None = None) -> SourceFile:
    """The SourceFile of ``data``: sha256, size and the kind sniffed from content."""
    kind, mime = sniff(data, file_name)
    return SourceFile(
        uri=uri,
        file_name=file_name,
        sha256=sha256_bytes(data),
        size=len(data),
        kind=kind,
        mime=mime,
        parent_sha256=parent_sha256,
    )


def iter_loaded(refs: list[SourceRef]) -> Iterator[tuple[SourceFile, bytes]]:
    """Read and describe each ref in turn (one file's bytes in memory at a time)."""
    for ref in refs:
        data = read_bytes(ref.uri)
        yield describe(ref.uri, ref.file_name, data), data
