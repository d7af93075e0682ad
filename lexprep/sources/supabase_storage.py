"""Supabase Storage as a source: ``supabase://bucket/prefix`` through the Storage API.

Uses the ``supabase`` client (``lexprep[supabase]``): ``client.storage.from_(bucket).list(path, ...)``
walked recursively and paged (a folder comes back as an entry whose ``id`` and ``metadata`` are
null), and ``.download(path)``. The project URL and key come from :class:`SupabaseStorageOptions`,
else the environment: ``LEXPREP_SUPABASE__URL`` / ``SUPABASE_URL`` and ``LEXPREP_SUPABASE__KEY`` /
``SUPABASE_SERVICE_ROLE_KEY`` / ``SUPABASE_KEY``. (Supabase Storage also speaks S3: use
``s3://`` with :class:`lexprep.sources.S3Options` for that route.)

Errors are those of :mod:`lexprep.sources`: ConfigurationError for a missing bucket or prefix
("source not found: ...") and a rejected key ("access denied to ...: check credentials"),
ObjectNotFoundError for an object gone between listing and reading, TransientError for 429, 5xx,
timeouts and connection failures. The key never appears in a message or a log.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import threading
from typing import TYPE_CHECKING, Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from lexprep.errors import ConfigurationError, InputError, LexprepError, MissingDependencyError, TransientError
from lexprep.sources._errors import ObjectNotFoundError, first_line, is_transient_type

if TYPE_CHECKING:  # pragma: no cover
    from lexprep.sources import SourceRef

#: entries asked for per list call (the Storage API pages with limit/offset)
PAGE_SIZE = 1000
#: folders deeper than this are not walked (a guard against a server that loops)
MAX_DEPTH = 64

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _forget_clients_after_fork() -> None:
    """A forked worker opens its own HTTP connections."""
    global _clients_lock
    _clients_lock = threading.Lock()
    _clients.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_clients_after_fork)


class SupabaseStorageOptions(BaseModel):
    """Where the Storage API is and the key that opens it.

    ``url`` is the project URL (``https://<project>.supabase.co``, or a self-hosted gateway), not
    the ``/storage/v1`` URL. ``key`` is a service-role (or otherwise authorised) API key.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str | None = Field(None, description="project URL; None = LEXPREP_SUPABASE__URL or SUPABASE_URL")
    key: SecretStr | None = Field(
        None, description="API key; None = LEXPREP_SUPABASE__KEY, SUPABASE_SERVICE_ROLE_KEY or SUPABASE_KEY"
    )
    timeout_s: int = Field(30, description="per-request timeout (seconds)", ge=1)

    def resolved(self) -> "SupabaseStorageOptions":
        """These options with the URL and key filled from the environment where unset.

        Raises:
            ConfigurationError: no URL or no key anywhere.
        """
        env = os.environ
        url = self.url or env.get("LEXPREP_SUPABASE__URL") or env.get("SUPABASE_URL")
        key = self.key
        if key is None:
            raw = env.get("LEXPREP_SUPABASE__KEY") or env.get("SUPABASE_SERVICE_ROLE_KEY") or env.get("SUPABASE_KEY")
            key = SecretStr(raw) if raw else None
        if not url:
            raise ConfigurationError("Supabase URL not set: set LEXPREP_SUPABASE__URL (or SUPABASE_URL)")
        if key is None:
            raise ConfigurationError(
                "Supabase key not set: set LEXPREP_SUPABASE__KEY (or SUPABASE_SERVICE_ROLE_KEY)"
            )
        return SupabaseStorageOptions(url=url, key=key, timeout_s=self.timeout_s)


def _options(storage_options: SupabaseStorageOptions | Mapping[str, Any] | None) -> SupabaseStorageOptions:
    if storage_options is None:
        return SupabaseStorageOptions().resolved()
    if isinstance(storage_options, SupabaseStorageOptions):
        return storage_options.resolved()
    try:
        return SupabaseStorageOptions(**dict(storage_options)).resolved()
    except LexprepError:
        raise
    except Exception as exc:  # pydantic ValidationError: names the field, and we hide the input
        fields = ", ".join(sorted(dict(storage_options)))
        raise ConfigurationError(f"invalid Supabase storage options (fields: {fields})") from exc


def parse_uri(uri: str) -> tuple[str, str]:
    """(bucket, path) of ``supabase://bucket/path`` (path without leading/trailing slashes; may be '').

    Raises:
        ConfigurationError: not a ``supabase://`` URI, or no bucket.
    """
    if not uri.startswith("supabase://"):
        raise ConfigurationError(f"not a supabase:// location: {uri}")
    rest = uri[len("supabase://"):]
    bucket, _, path = rest.partition("/")
    if not bucket:
        raise ConfigurationError(f"no bucket in {uri} (expected supabase://bucket/prefix)")
    return bucket, path.strip("/")


def client_for(options: SupabaseStorageOptions) -> Any:
    """A cached ``supabase.Client`` for (url, key, timeout).

    Raises:
        MissingDependencyError: the ``supabase`` package is not installed.
        ConfigurationError: the URL is invalid.
    """
    assert options.url and options.key is not None
    secret = options.key.get_secret_value()
    token = hashlib.sha256(f"{options.url}\0{secret}\0{options.timeout_s}".encode()).hexdigest()
    with _clients_lock:
        client = _clients.get(token)
        if client is None:
            try:
                from supabase import ClientOptions, create_client
            except ImportError as exc:
                raise MissingDependencyError("supabase", "lexprep[supabase]") from exc
            try:
                client = create_client(
                    options.url, secret, options=ClientOptions(storage_client_timeout=options.timeout_s)
                )
            except Exception as exc:  # SupabaseException("Invalid URL"): its text never holds the key
                raise ConfigurationError(f"cannot connect to Supabase at {options.url}: {first_line(exc)}") from exc
            _clients[token] = client
        return client


def _status(exc: BaseException) -> tuple[int | None, str]:
    """(status, error text) of a storage3 StorageApiError (status from the JSON body when given)."""
    raw = getattr(exc, "status", None)
    try:
        status = int(raw) if raw is not None else None
    except (TypeError, ValueError):
        status = None
    text = f"{getattr(exc, 'code', '')} {getattr(exc, 'message', '')}".lower()
    return status, text


def _translate(exc: BaseException, uri: str, *, listing: bool) -> LexprepError:
    """The lexprep error for an exception from the Storage client (see the module docstring)."""
    if isinstance(exc, LexprepError):
        return exc
    status, text = _status(exc)
    if status == 429 or (status is not None and status >= 500) or is_transient_type(exc):
        return TransientError(f"temporary storage failure on {uri} ({status or type(exc).__name__}): retry later")
    if status in (401, 403) or any(w in text for w in ("unauthorized", "invalidjwt", "invalid signature", "access denied")):
        return ConfigurationError(f"access denied to {uri}: check credentials")
    if status == 404 or "not found" in text or "not_found" in text:
        if listing or "bucket" in text:
            return ConfigurationError(f"source not found: {uri}")
        return ObjectNotFoundError(f"object not found: {uri}")
    if listing:
        return ConfigurationError(f"cannot list source {uri}: {first_line(exc)}")
    return InputError(f"cannot read {uri}: {first_line(exc)}")


def _is_folder(entry: Mapping[str, Any]) -> bool:
    return entry.get("id") is None and entry.get("metadata") is None


def _size(entry: Mapping[str, Any]) -> int:
    meta = entry.get("metadata") or {}
    for field in ("size", "contentLength"):
        value = meta.get(field)
        if isinstance(value, (int, float)):
            return int(value)
    return 0


def _list_page(bucket_api: Any, path: str, offset: int, search: str | None = None) -> list[dict[str, Any]]:
    options: dict[str, Any] = {
        "limit": PAGE_SIZE,
        "offset": offset,
        "sortBy": {"column": "name", "order": "asc"},
    }
    if search:
        options["search"] = search
    return bucket_api.list(path, options)


def _walk(bucket_api: Any, path: str, depth: int = 0) -> list[tuple[str, int]]:
    """(object path, size) of every object under folder ``path`` ('' = the bucket), recursively."""
    if depth > MAX_DEPTH:
        raise ConfigurationError(f"folders nested deeper than {MAX_DEPTH} levels under {path!r}")
    found: list[tuple[str, int]] = []
    offset = 0
    while True:
        page = _list_page(bucket_api, path, offset)
        for entry in page:
            name = entry.get("name") or ""
            if not name:
                continue
            full = f"{path}/{name}" if path else name
            if _is_folder(entry):
                found.extend(_walk(bucket_api, full, depth + 1))
            else:
                found.append((full, _size(entry)))
        if len(page) < PAGE_SIZE:
            return found
        offset += len(page)


def list_sources(
    location: str, storage_options: SupabaseStorageOptions | Mapping[str, Any] | None = None
) -> list[SourceRef]:
    """Every object under ``supabase://bucket[/prefix]`` (a folder walked recursively, or one object).

    Returns:
        ``lexprep.sources.SourceRef`` list sorted by URI, ``uri`` = ``supabase://bucket/path``, ``size``
        from the object's metadata. Hidden names (a leading dot, e.g. Supabase's
        ``.emptyFolderPlaceholder``) and OS droppings are skipped.

    Raises:
        ConfigurationError: no such bucket or prefix, key rejected, URL/key not set.
        TransientError: 429, 5xx, timeout, connection failure.
        MissingDependencyError: ``supabase`` is not installed.
    """
    from lexprep.sources import SourceRef, _skipped

    bucket, path = parse_uri(location)
    shown = f"supabase://{bucket}/{path}" if path else f"supabase://{bucket}"
    bucket_api = client_for(_options(storage_options)).storage.from_(bucket)
    try:
        objects = _walk(bucket_api, path)
        if not objects and path:
            # not a folder: maybe one object; list its parent folder, filtered by its name
            parent, name = posixpath.split(path)
            for entry in _list_page(bucket_api, parent, 0, search=name):
                if entry.get("name") == name and not _is_folder(entry):
                    objects = [(path, _size(entry))]
                    break
            else:
                raise ConfigurationError(f"source not found: {shown}")
    except Exception as exc:
        raise _translate(exc, shown, listing=True) from exc
    refs = []
    for obj_path, size in sorted(objects):
        rel = obj_path[len(path):].lstrip("/") if path and obj_path != path else posixpath.basename(obj_path)
        name = posixpath.basename(obj_path)
        if _skipped(rel, name):
            continue
        refs.append(SourceRef(f"supabase://{bucket}/{obj_path}", name, size))
    return refs


def read_bytes(uri: str, storage_options: SupabaseStorageOptions | Mapping[str, Any] | None = None) -> bytes:
    """The content of ``supabase://bucket/path`` (bytes).

    Raises:
        ObjectNotFoundError: the object is gone (an InputError).
        InputError: a path the Storage API cannot address (``.``/``..`` segments), or another failure.
        ConfigurationError: key rejected, no such bucket, URL/key not set.
        TransientError: 429, 5xx, timeout, connection failure.
    """
    bucket, path = parse_uri(uri)
    if not path:
        raise InputError(f"not an object: {uri}")
    bucket_api = client_for(_options(storage_options)).storage.from_(bucket)
    try:
        # storage3 percent-decodes the path before encoding it again; keep a literal '%' literal
        return bucket_api.download(path.replace("%", "%25"))
    except ValueError as exc:  # storage3 refuses dot segments
        raise InputError(f"cannot read {uri}: the Storage API cannot address a key with '.' or '..' segments") from exc
    except Exception as exc:
        raise _translate(exc, uri, listing=False) from exc
