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
vanished after listing), ConfigurationError (access denied to a bucket) or TransientError (throttling,
5xx, timeouts). Messages are one line and never contain credentials.

A local folder is walked here (not by fsspec) so that every path found is accounted for: a file
that cannot be read, a folder that cannot be listed, a special file (named pipe, socket, device:
never opened) or a symbolic link that leads outside the folder (not followed unless asked) comes back
as a :class:`SourceRef` with a ``status`` (``failed`` or ``skipped``) and a ``reason``, never as a
failure of the listing. Paths longer than the system allows are opened one folder at a time; names
that are not UTF-8 are kept (to open the file) and shown escaped (:func:`safe_name`). Reading a file
larger than a limit hashes and sniffs it as a stream instead of reading it whole (:func:`load`).
"""

from __future__ import annotations

import errno
import contextlib
import hashlib
import json
import os
import posixpath
import shutil
import stat
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import fsspec

from lexprep.errors import ConfigurationError, InputError, MissingDependencyError, SkippedFileError
from lexprep.models import SourceFile, sha256_bytes
from lexprep.sources._errors import ArchivedObjectError, ObjectNotFoundError, redact, translate
from lexprep.sources.options import S3Options
from lexprep.sources.safe_paths import UnsafePathError, safe_join, safe_name
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
    "load",
    "open_local",
    "path_key",
    "read_bytes",
    "safe_name",
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


#: folders nested deeper than this under a local source are not walked (each level holds an open folder)
MAX_FOLDER_DEPTH = 200
#: bytes of a large file that sniffing sees (its head)
SNIFF_BYTES = 1 << 20
_STREAM_CHUNK = 1 << 20


@dataclass(slots=True, frozen=True)
class SourceRef:
    """A path under a source: its URI (fsspec; a local path as the OS gives it, so that a name that is
    not UTF-8 can be opened again) and base name (:func:`safe_name`: safe to show); ``size`` in bytes.

    ``status`` is None for a file to read, else ``skipped`` (a special file, a symbolic link leading
    out of the source folder) or ``failed`` (cannot be read or listed), with a one-line ``reason``.
    Holds no credentials: readers get them again from ``storage_options`` or the environment.
    """

    uri: str
    file_name: str
    size: int
    status: str | None = None
    reason: str | None = None


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


def list_sources(location: str, storage_options: StorageOptions | None = None,
                 follow_external_symlinks: bool = False) -> list[SourceRef]:
    """Every file under ``location`` (a file or a folder/prefix, walked recursively), sorted by URI.

    Args:
        location: a local path, ``s3://bucket[/prefix]``, ``supabase://bucket[/prefix]`` or any fsspec URL.
        storage_options: s3fs/fsspec options (dict) or :class:`S3Options`
            (``SupabaseStorageOptions`` or a dict for ``supabase://``); None = the environment.
        follow_external_symlinks: read files that symbolic links in a local folder lead to outside it
            (default: such links come back ``skipped``).

    Returns:
        SourceRefs with ``uri`` ``s3://bucket/key`` (the local absolute path for local files).
        Hidden files and folders (a leading dot) and OS droppings are skipped. Under a local folder,
        paths that are not read (see the module docstring) come back with a ``status`` and ``reason``.

    Raises:
        ConfigurationError: the location does not exist ("source not found: ..."), access is denied
            ("access denied to ...: check credentials"), or it cannot be listed.
        TransientError: throttling, a 5xx, a timeout or a connection failure (worth retrying).
        MissingDependencyError: s3fs / supabase is not installed.
    """
    if _is_supabase(location):
        from lexprep.sources import supabase_storage

        return supabase_storage.list_sources(location, storage_options)
    if "://" not in location or _protocol(location) in ("file", "local"):
        path = fsspec.utils.stringify_path(location.split("://", 1)[1] if "://" in location else location)
        return _list_local(os.path.abspath(path), follow_external_symlinks)
    fs, root, prefix = _fs_and_root(location, storage_options)
    try:
        fs.invalidate_cache()
        # s3fs' exists() hides denied access as "missing": list directly and translate errors
        found = fs.find(root, detail=True, withdirs=False)
        if not found and not _remote_root_exists(fs, root):
            raise ConfigurationError(f"source not found: {redact(location)}")
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
        refs.append(SourceRef(prefix + path, safe_name(name), int(info.get("size") or 0)))
    return refs


def _special(mode: int) -> str | None:
    """What a special file is (``named pipe (FIFO)`` ...), None for a regular file or folder."""
    for test, what in ((stat.S_ISFIFO, "named pipe (FIFO)"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return what
    return None


def _problem(path: str, status: str, reason: str) -> SourceRef:
    return SourceRef(path, safe_name(posixpath.basename(path.rstrip("/")) or path), 0, status, reason)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class _Walk:
    """One walk of a local folder (see :func:`_list_local`)."""

    def __init__(self, root: str, follow_external: bool):
        self.root, self.follow_external = root, follow_external
        self.real_root = os.path.realpath(root)
        self.refs: list[SourceRef] = []
        self.seen_dirs: set[tuple[int, int]] = set()

    def folder(self, dir_fd: int, path: str, rel: str, depth: int) -> None:
        try:
            st = os.fstat(dir_fd)
            if (st.st_dev, st.st_ino) in self.seen_dirs:  # a loop through followed links
                return
            self.seen_dirs.add((st.st_dev, st.st_ino))
            with os.scandir(dir_fd) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self.refs.append(_problem(path + "/", "failed", f"folder cannot be listed: {exc.strerror or exc}"))
            return
        for entry in entries:
            name, child, child_rel = entry.name, f"{path}/{entry.name}", f"{rel}{entry.name}"
            if _skipped(child_rel, name):
                continue
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                self.refs.append(_problem(child, "failed", f"cannot be read: {exc.strerror or exc}"))
                continue
            if stat.S_ISLNK(mode):
                self.link(child, child_rel, depth)
            elif stat.S_ISDIR(mode):
                self.subfolder(dir_fd, name, child, child_rel, depth)
            elif stat.S_ISREG(mode):
                self.refs.append(SourceRef(child, safe_name(name), entry.stat(follow_symlinks=False).st_size))
            else:
                self.refs.append(_problem(child, "skipped", f"a {_special(mode) or 'special file'}, not a regular "
                                                            "file: never opened"))

    def subfolder(self, dir_fd: int | None, name: str, path: str, rel: str, depth: int) -> None:
        if depth >= MAX_FOLDER_DEPTH:
            self.refs.append(_problem(path + "/", "failed", f"folder nested deeper than {MAX_FOLDER_DEPTH} levels: "
                                                            "not walked"))
            return
        try:
            flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(name, flags | os.O_NOFOLLOW, dir_fd=dir_fd) if dir_fd is not None else os.open(name, flags)
        except OSError as exc:
            self.refs.append(_problem(path + "/", "failed", f"folder cannot be opened: {exc.strerror or exc}"))
            return
        try:
            self.folder(fd, path, f"{rel}/" if rel else "", depth + 1)
        finally:
            os.close(fd)

    def link(self, path: str, rel: str, depth: int) -> None:
        try:
            target = os.path.realpath(path, strict=True)
            mode = os.stat(target).st_mode
        except OSError as exc:
            reason = "its target does not exist" if exc.errno == errno.ENOENT else (exc.strerror or str(exc))
            self.refs.append(_problem(path, "skipped", f"broken symbolic link ({reason})"))
            return
        inside = _inside(target, self.real_root)
        shown = safe_name(target)
        if not inside and not self.follow_external:
            self.refs.append(_problem(path, "skipped", f"symbolic link to {shown}, outside the source folder: not "
                                                       "followed (limits.follow_external_symlinks)"))
        elif stat.S_ISDIR(mode):
            if inside:
                self.refs.append(_problem(path, "skipped", f"symbolic link to the folder {shown}, inside the source: "
                                                           "its files are processed under their own path"))
            else:
                self.subfolder(None, target, path, rel, depth)
        elif stat.S_ISREG(mode):
            self.refs.append(SourceRef(path, safe_name(posixpath.basename(path)), os.stat(target).st_size))
        else:
            self.refs.append(_problem(path, "skipped", f"symbolic link to a {_special(mode) or 'special file'}: "
                                                       "never opened"))


def _list_local(root: str, follow_external: bool) -> list[SourceRef]:
    """Every path under the local folder (or the one file) ``root``, accounted for (see the module docstring)."""
    try:
        mode = os.stat(root).st_mode
    except FileNotFoundError:
        raise ConfigurationError(f"source not found: {safe_name(root)}") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot list source {safe_name(root)}: {exc.strerror or exc}") from exc
    walk = _Walk(root, follow_external)
    if stat.S_ISDIR(mode):
        walk.subfolder(None, root, root.rstrip("/") or "/", "", 0)
        if walk.refs and walk.refs[0].uri == (root.rstrip("/") or "/") + "/" and walk.refs[0].status == "failed":
            raise ConfigurationError(f"cannot list source {safe_name(root)}: {walk.refs[0].reason}")
    elif stat.S_ISREG(mode):
        walk.refs.append(SourceRef(root, safe_name(posixpath.basename(root)), os.stat(root).st_size))
    else:
        walk.refs.append(_problem(root, "skipped", f"a {_special(mode) or 'special file'}, not a regular file: "
                                                   "never opened"))
    return sorted(walk.refs, key=lambda r: r.uri)


def _remote_root_exists(fs: fsspec.AbstractFileSystem, root: str) -> bool:
    """Whether an empty listing means "exists but empty": only a bare bucket can be that."""
    if "/" in root.strip("/"):
        return False  # a prefix with no objects does not exist in an object store
    fs.info(root)  # raises FileNotFoundError (no bucket) or PermissionError
    return True


def open_local(path: str) -> int:
    """A file descriptor open for reading on the regular file ``path``.

    Opened non-blocking (a named pipe put in its place never blocks the run) and checked to be a
    regular file; a path longer than the system allows is opened one folder at a time.

    Raises:
        SkippedFileError: not a regular file (a named pipe, a socket, a device).
        OSError: it cannot be opened (missing, permission denied ...).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        fd = _open_deep(path, flags)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise SkippedFileError(f"a {_special(mode) or 'special file'}, not a regular file: never opened")
    return fd


def _open_deep(path: str, flags: int) -> int:
    """Open ``path`` (absolute, longer than PATH_MAX) folder by folder, each relative to the last."""
    parts = [p for p in path.split("/") if p]
    dir_fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY, dir_fd=dir_fd)
            os.close(dir_fd)
            dir_fd = next_fd
        return os.open(parts[-1], flags, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def _local_path(uri: str) -> str:
    return uri.split("://", 1)[1] if "://" in uri else uri


def read_bytes(uri: str, storage_options: StorageOptions | None = None) -> bytes:
    """The whole content of ``uri`` (bytes).

    Raises:
        ObjectNotFoundError: the object or file is gone ("object not found: ..."; an InputError).
        SkippedFileError: a local path that is not a regular file (never read).
        ConfigurationError: access to a bucket denied, missing bucket, missing credentials.
        TransientError: throttling, a 5xx, a timeout or a connection failure.
        InputError: any other failure to read this one object (a local file that cannot be read).
    """
    if _is_supabase(uri):
        from lexprep.sources import supabase_storage

        return supabase_storage.read_bytes(uri, storage_options)
    protocol = _protocol(uri)
    try:
        if protocol in ("file", "local"):
            with os.fdopen(open_local(_local_path(uri)), "rb") as fh:
                return fh.read()
        fs = _filesystem(protocol, storage_options)
        return fs.cat_file(fs._strip_protocol(uri))
    except (MissingDependencyError, ConfigurationError, InputError):
        raise
    except Exception as exc:
        raise translate(exc, uri, listing=False) from exc


def path_key(uri: str) -> str:
    """The identity (64 hex, in place of a sha256) of a path whose content was not read (skipped, or
    unreadable): stable for the same path, never equal to a content hash."""
    return hashlib.sha256(b"lexprep:path:" + uri.encode("utf-8", "surrogateescape")).hexdigest()


def load(ref: SourceRef, max_bytes: int | None = None,
         storage_options: StorageOptions | None = None) -> tuple[SourceFile, bytes | None]:
    """Read ``ref`` and describe it: ``(SourceFile, its bytes)``.

    A file larger than ``max_bytes`` is never read whole: it is hashed as a stream and sniffed from
    its first :data:`SNIFF_BYTES`, and comes back with ``None`` for its bytes.

    Raises:
        whatever :func:`read_bytes` raises.
    """
    if max_bytes is None or (ref.size <= max_bytes and ref.size >= 0):
        data = read_bytes(ref.uri, storage_options)
        if max_bytes is None or len(data) <= max_bytes:
            return describe(ref.uri, ref.file_name, data), data
        del data  # it grew since it was listed
    digest, size, head = hashlib.sha256(), 0, b""
    with _open_stream(ref.uri, storage_options) as fh:
        while chunk := _read_chunk(fh, ref.uri):
            digest.update(chunk)
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            size += len(chunk)
    from lexprep.extract.sniff import sniff

    kind, mime = sniff(head, ref.file_name)
    return SourceFile(uri=safe_name(ref.uri), file_name=ref.file_name, sha256=digest.hexdigest(), size=size,
                      kind=kind, mime=mime), None


@contextlib.contextmanager
def _open_stream(uri: str, storage_options: StorageOptions | None) -> Iterator[Any]:
    """A binary file object on ``uri`` (errors translated as in :func:`read_bytes`)."""
    protocol = _protocol(uri)
    try:
        if protocol in ("file", "local"):
            fh = os.fdopen(open_local(_local_path(uri)), "rb")
        else:
            fs = _filesystem(protocol, storage_options)
            fh = fs.open(fs._strip_protocol(uri), "rb")
    except (MissingDependencyError, ConfigurationError, InputError):
        raise
    except Exception as exc:
        raise translate(exc, uri, listing=False) from exc
    with fh:
        yield fh


def _read_chunk(fh: Any, uri: str) -> bytes:
    try:
        return fh.read(_STREAM_CHUNK)
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
        if protocol in ("file", "local"):
            with os.fdopen(open_local(_local_path(uri)), "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
            return
        fs = _filesystem(protocol, storage_options)
        with fs.open(fs._strip_protocol(uri), "rb") as fh:
            shutil.copyfileobj(fh, out, 1 << 20)
    except (MissingDependencyError, ConfigurationError, InputError):
        raise
    except Exception as exc:
        raise translate(exc, uri, listing=False) from exc


def describe(uri: str, file_name: str, data: bytes, parent_sha256: str | None = None, depth: int = 0) -> SourceFile:
    """The SourceFile of ``data``: sha256, size and the kind sniffed from content; ``uri`` and
    ``file_name`` made safe to store and show (:func:`safe_name`)."""
    from lexprep.extract.sniff import sniff  # lazy: listing and reading do not need the extractors

    kind, mime = sniff(data, file_name)
    return SourceFile(
        uri=safe_name(uri),
        file_name=safe_name(file_name),
        sha256=sha256_bytes(data),
        size=len(data),
        kind=kind,
        mime=mime,
        parent_sha256=parent_sha256,
        depth=depth,
    )


def iter_loaded(
    refs: list[SourceRef], storage_options: StorageOptions | None = None
) -> Iterator[tuple[SourceFile, bytes]]:
    """Read and describe each ref in turn (one file's bytes in memory at a time)."""
    for ref in refs:
        if ref.status is not None:
            continue
        data = read_bytes(ref.uri, storage_options)
        yield describe(ref.uri, ref.file_name, data), data
