"""Where a matter's files come from: fsspec listing and reading.

Locations:

- a local path (file or folder);
- ``s3://bucket/prefix`` through s3fs (``lexprep[s3]``): AWS S3, Supabase Storage's S3 endpoint,
  MinIO, moto. Credentials from the environment (``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``...)
  or from ``storage_options`` (a dict of s3fs options or an :class:`S3Options`); on the Prefect
  side ``blocks.aws.storage_options_from_block`` turns an AwsCredentials block into that dict;
- ``supabase://bucket/prefix`` through the Storage API and the ``supabase`` client
  (``lexprep[supabase]``, see :mod:`lexprep.sources.supabase_storage`);
- any other fsspec URL, with its own ``storage_options``.

A source yields :class:`SourceRef` (a URI to read) and :func:`describe` gives the
:class:`~lexprep.models.SourceFile` whose ``sha256`` (of the bytes, wherever they are stored) is the
document's identity within a matter: the same bytes locally and in a bucket are the same document.

Errors (see :mod:`lexprep.sources._errors`): listing raises ConfigurationError (missing source,
access denied) or TransientError; reading raises ObjectNotFoundError (an InputError: the object
vanished after listing), ConfigurationError (access denied) or TransientError (throttling, 5xx,
timeouts). Messages are one line and never contain credentials.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import fsspec

from lexprep.errors import ConfigurationError, MissingDependencyError
from lexprep.models import SourceFile, sha256_bytes
from lexprep.sources._errors import ArchivedObjectError, ObjectNotFoundError, redact, translate
from lexprep.sources.options import S3Options
from lexprep.sources.safe_paths import UnsafePathError, safe_join
from lexprep.sources.supabase_storage import SupabaseStorageOptions  # pydantic only; supabase is lazy

__all__ = [
    "IGNORED_NAMES",
    "ArchivedObjectError",
    "ObjectNotFoundError",
    "S3Options",
    "SourceRef",
    "StorageOptions",
    "SupabaseStorageOptions",
    "UnsafePathError",
    "describe",
    "download",
    "iter_loaded",
    "list_sources",
    "read_bytes",
]

#: names never treated as documents (editor and OS droppings)
IGNORED_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})

#: what ``storage_options`` may be: s3fs/fsspec keyword arguments (a dict), :class:`S3Options`
#: for ``s3://``, :class:`SupabaseStorageOptions` (or a dict of its fields) for ``supabase://``
StorageOptions = Mapping[str, Any] | S3Options | SupabaseStorageOptions

#: extras that provide each fsspec protocol
_EXTRAS = {"s3": ("s3fs", "lexprep[s3]"), "s3a": ("s3fs", "lexprep[s3]")}
#: environment variables that change what an S3 filesystem connects to (part of the cache key)
_AWS_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)
_FS_CACHE_SIZE = 16
_fs_cache: OrderedDict[str, fsspec.AbstractFileSystem] = OrderedDict()
_fs_lock = threading.Lock()


def _forget_filesystems_after_fork() -> None:
    """A forked worker must not reuse the parent's connections and event loop."""
    global _fs_lock
    _fs_lock = threading.Lock()
    _fs_cache.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_filesystems_after_fork)


@dataclass(slots=True, frozen=True)
class SourceRef:
    """A file under a source: its URI (fsspec) and base name; ``size`` in bytes.

    Holds no credentials: readers get them again from ``storage_options`` or the environment.
    """

    uri: str
    file_name: str
    size: int


def _protocol(location: str) -> str:
    return fsspec.utils.get_protocol(location) if "://" in location else "file"


def _is_supabase(location: str) -> bool:
    return _protocol(location) == "supabase"


def _as_dict(storage_options: StorageOptions | None) -> dict[str, Any]:
    if storage_options is None:
        return {}
    if isinstance(storage_options, S3Options):
        return storage_options.to_storage_options()
    if isinstance(storage_options, SupabaseStorageOptions):
        raise ConfigurationError("SupabaseStorageOptions are for supabase:// locations (use S3Options for s3://)")
    return dict(storage_options)


def _filesystem(protocol: str, storage_options: StorageOptions | None) -> fsspec.AbstractFileSystem:
    """A filesystem for ``protocol``, cached per (options, relevant environment).

    fsspec's own instance cache ignores the environment, so credentials changed in
    ``AWS_*`` variables would be missed; this cache keys on a hash of both.

    Raises:
        MissingDependencyError: the protocol's package (s3fs) is not installed.
        ConfigurationError: the options are invalid.
    """
    opts = _as_dict(storage_options)
    if protocol in ("s3", "s3a"):
        opts.setdefault("use_listings_cache", False)  # a re-run must see the bucket as it is now
    env = {k: os.environ.get(k) for k in _AWS_ENV} if protocol in ("s3", "s3a") else {}
    token = hashlib.sha256(
        json.dumps([protocol, opts, env], sort_keys=True, default=repr).encode()
    ).hexdigest()
    with _fs_lock:
        fs = _fs_cache.get(token)
        if fs is not None:
            _fs_cache.move_to_end(token)
            return fs
        try:
            fs = fsspec.filesystem(protocol, skip_instance_cache=True, **opts)
        except ImportError as exc:
            what, extra = _EXTRAS.get(protocol, (f"the fsspec backend for {protocol}://", "its fsspec package"))
            raise MissingDependencyError(what, extra) from exc
        except ValueError as exc:  # unknown protocol
            raise ConfigurationError(f"unsupported source location {protocol}://: {exc}") from exc
        except TypeError as exc:  # unknown option: the message names it, never a value
            raise ConfigurationError(f"invalid storage options for {protocol}://: {exc}") from exc
        _fs_cache[token] = fs
        while len(_fs_cache) > _FS_CACHE_SIZE:
            _fs_cache.popitem(last=False)
        return fs


def _fs_and_root(
    location: str, storage_options: StorageOptions | None = None
) -> tuple[fsspec.AbstractFileSystem, str, str]:
    protocol = _protocol(location)
    fs = _filesystem(protocol, storage_options)
    root = fs._strip_protocol(location)
    prefix = "" if protocol in ("file", "local") else f"{protocol}://"
    return fs, root, prefix


def _skipped(rel: str, name: str) -> bool:
    """Hidden (a component with a leading dot, ``.``/``..`` aside) or an OS dropping."""
    if name in IGNORED_NAMES or not name:
        return True
    return any(part.startswith(".") and part not in (".", "..") for part in rel.split("/"))


def list_sources(location: str, storage_options: StorageOptions | None = None) -> list[SourceRef]:
    """Every file under ``location`` (a file or a folder/prefix, walked recursively), sorted by URI.

    Args:
        location: a local path, ``s3://bucket[/prefix]``, ``supabase://bucket[/prefix]`` or any fsspec URL.
        storage_options: s3fs/fsspec options (dict) or :class:`S3Options`
            (``SupabaseStorageOptions`` or a dict for ``supabase://``); None = the environment.

    Returns:
        SourceRefs with ``uri`` ``s3://bucket/key`` (the local absolute path for local files).
        Hidden files and folders (a leading dot) and OS droppings are skipped.

    Raises:
        ConfigurationError: the location does not exist ("source not found: ..."), access is denied
            ("access denied to ...: check credentials"), or it cannot be listed.
        TransientError: throttling, a 5xx, a timeout or a connection failure (worth retrying).
        MissingDependencyError: s3fs / supabase is not installed.
    """
    if _is_supabase(location):
        from lexprep.sources import supabase_storage

        return supabase_storage.list_sources(location, storage_options)
    if "://" not in location:
        location = os.path.abspath(location)
    fs, root, prefix = _fs_and_root(location, storage_options)
    remote = prefix != ""
    try:
        if remote:
            fs.invalidate_cache()
            # s3fs' exists() hides denied access as "missing": list directly and translate errors
            found = fs.find(root, detail=True, withdirs=False)
            if not found and not _remote_root_exists(fs, root):
                raise ConfigurationError(f"source not found: {redact(location)}")
        else:
            if not fs.exists(root):
                raise ConfigurationError(f"source not found: {location}")
            if fs.isfile(root):
                info = fs.info(root)
                return [SourceRef(prefix + root, posixpath.basename(root), int(info.get("size") or 0))]
            found = fs.find(root, detail=True, withdirs=False)
    except Exception as exc:  # fsspec backends raise many types
        raise translate(exc, location, listing=True) from exc
    refs = []
    for path, info in sorted(found.items()):
        if path.endswith("/") or info.get("type") == "directory":
            continue  # "folder/" marker objects
        rel = path[len(root):].lstrip("/") if path != root else posixpath.basename(path)
        name = posixpath.basename(path)
        if _skipped(rel, name):
            continue
        refs.append(SourceRef(prefix + path, name, int(info.get("size") or 0)))
    return refs


def _remote_root_exists(fs: fsspec.AbstractFileSystem, root: str) -> bool:
    """Whether an empty listing means "exists but empty": only a bare bucket can be that."""
    if "/" in root.strip("/"):
        return False  # a prefix with no objects does not exist in an object store
    fs.info(root)  # raises FileNotFoundError (no bucket) or PermissionError
    return True


def read_bytes(uri: str, storage_options: StorageOptions | None = None) -> bytes:
    """The whole content of ``uri`` (bytes).

    Raises:
        ObjectNotFoundError: the object or file is gone ("object not found: ..."; an InputError).
        ConfigurationError: access denied, missing bucket, missing credentials.
        TransientError: throttling, a 5xx, a timeout or a connection failure.
        InputError: any other failure to read this one object.
    """
    if _is_supabase(uri):
        from lexprep.sources import supabase_storage

        return supabase_storage.read_bytes(uri, storage_options)
    protocol = _protocol(uri)
    try:
        if protocol == "file":
            with fsspec.open(uri, "rb") as fh:
                return fh.read()
        fs = _filesystem(protocol, storage_options)
        return fs.cat_file(fs._strip_protocol(uri))
    except (MissingDependencyError, ConfigurationError):
        raise
    except Exception as exc:
        raise translate(exc, uri, listing=False) from exc


def object_key(uri: str) -> str:
    """The key of ``uri`` inside its bucket (``s3://b/x/y.pdf`` -> ``x/y.pdf``); a local path's base name."""
    if "://" not in uri:
        return os.path.basename(uri)
    rest = uri.split("://", 1)[1]
    if _protocol(uri) in ("file", "local"):
        return posixpath.basename(rest)
    return rest.split("/", 1)[1] if "/" in rest else ""


def download(uri: str, dest_dir: str | Path, storage_options: StorageOptions | None = None) -> Path:
    """Copy the object at ``uri`` into ``dest_dir`` and return its local path, for tools that need one.

    The path under ``dest_dir`` is the object's key (a local file: its base name) with every component
    cleaned (:func:`lexprep.sources.safe_paths.safe_relative_parts`): ``..``, absolute keys,
    backslashes, NUL and control characters can never place a file outside ``dest_dir`` (checked
    with ``Path.resolve()``). The file is written to a temporary name and renamed, so a reader never
    sees half a file. An existing file at the same path is replaced.

    Raises:
        UnsafePathError: the key cannot be placed inside ``dest_dir`` (an InputError).
        and whatever :func:`read_bytes` raises.
    """
    target = safe_join(dest_dir, object_key(uri))
    target.parent.mkdir(parents=True, exist_ok=True)
    # the folders just made must not have led outside dest_dir (a symlink planted in between)
    target = safe_join(dest_dir, object_key(uri))
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".lexprep-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            if _is_supabase(uri):
                out.write(read_bytes(uri, storage_options))
            else:
                _copy_to(uri, out, storage_options)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def _copy_to(uri: str, out: Any, storage_options: StorageOptions | None) -> None:
    """Stream ``uri`` into the open binary file ``out`` (errors translated as in :func:`read_bytes`)."""
    protocol = _protocol(uri)
    try:
        if protocol == "file":
            with fsspec.open(uri, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
            return
        fs = _filesystem(protocol, storage_options)
        with fs.open(fs._strip_protocol(uri), "rb") as fh:
            shutil.copyfileobj(fh, out, 1 << 20)
    except (MissingDependencyError, ConfigurationError):
        raise
    except Exception as exc:
        raise translate(exc, uri, listing=False) from exc


def describe(uri: str, file_name: str, data: bytes, parent_sha256: str | None = None) -> SourceFile:
    """The SourceFile of ``data``: sha256, size and the kind sniffed from content."""
    from lexprep.extract.sniff import sniff  # lazy: listing and reading do not need the extractors

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


def iter_loaded(
    refs: list[SourceRef], storage_options: StorageOptions | None = None
) -> Iterator[tuple[SourceFile, bytes]]:
    """Read and describe each ref in turn (one file's bytes in memory at a time)."""
    for ref in refs:
        data = read_bytes(ref.uri, storage_options)
        yield describe(ref.uri, ref.file_name, data), data
