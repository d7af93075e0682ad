"""Mapping storage back-end exceptions (fsspec, s3fs/botocore, OS) onto lexprep's error tree.

Messages are one line, name the URI (user:password stripped) and never carry credentials.
"""

from __future__ import annotations

import asyncio
import re
from typing import Iterator

from lexprep.errors import ConfigurationError, InputError, LexprepError, TransientError


class ObjectNotFoundError(InputError):
    """A listed object is gone when it is read (deleted or renamed in between). Never retried."""


class ArchivedObjectError(InputError):
    """The object is in an archive storage class (S3 Glacier) and must be restored before reading."""


#: S3 error codes that pass on their own
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "OperationAborted",
    }
)
NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NotFound", "404"})
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "AllAccessDisabled",
        "AccountProblem",
        "403",
        "401",
    }
)
#: exception class names (anywhere in the cause chain) meaning "try again later"
TRANSIENT_TYPE_NAMES = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "HTTPClientError",
        "ResponseStreamingError",
        "IncompleteReadError",
        "FSTimeoutError",
        "ClientConnectionError",
        "ClientConnectorError",
        "ServerDisconnectedError",
        "ServerTimeoutError",
        "ClientPayloadError",
        "TimeoutException",  # httpx
        "TransportError",  # httpx
        "ConnectError",
        "ReadError",
        "RemoteProtocolError",
    }
)
NO_CREDENTIAL_NAMES = frozenset({"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"})


def redact(uri: str) -> str:
    """``uri`` without any ``user:password@`` part, safe to show (see ``safe_paths.safe_name``)."""
    from lexprep.sources.safe_paths import safe_name

    return safe_name(re.sub(r"^([a-zA-Z][\w+.-]*://)[^/@]*@", r"\1", uri))


def first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:limit]


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and its causes and contexts, each once."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def aws_error(exc: BaseException) -> tuple[str | None, int | None]:
    """(error code, HTTP status) of the first botocore ClientError in the chain, else (None, None)."""
    for e in chain(exc):
        resp = getattr(e, "response", None)
        if isinstance(resp, dict) and isinstance(resp.get("Error"), dict):
            code = resp["Error"].get("Code")
            status = (resp.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            return (str(code) if code is not None else None), (int(status) if status else None)
    return None, None


def is_transient_type(exc: BaseException) -> bool:
    for e in chain(exc):
        if isinstance(e, (TimeoutError, asyncio.TimeoutError, ConnectionError)):
            return True
        if any(cls.__name__ in TRANSIENT_TYPE_NAMES for cls in type(e).__mro__):
            return True
    return False


def bucket_uri(uri: str) -> str:
    """``s3://bucket`` of ``s3://bucket/key`` (any scheme)."""
    m = re.match(r"^([a-zA-Z][\w+.-]*://[^/]*)", uri)
    return m.group(1) if m else uri


def translate(exc: BaseException, uri: str, *, listing: bool) -> LexprepError:
    """The lexprep error for ``exc`` raised while listing (``listing=True``) or reading ``uri``.

    - missing credentials -> ConfigurationError("no credentials for ...")
    - throttling, 429, 5xx, timeouts, connection failures -> TransientError
    - archived object (S3 Glacier) -> ArchivedObjectError
    - missing bucket -> ConfigurationError("source not found: s3://bucket")
    - missing key or prefix -> ConfigurationError("source not found: ...") when listing,
      ObjectNotFoundError("object not found: ...") when reading
    - denied (403, bad key or signature, expired token) -> ConfigurationError("access denied to ...: check credentials");
      a local file that cannot be read -> InputError("cannot read ...: permission denied")
    - anything else -> ConfigurationError("cannot list source ...") when listing, InputError("cannot read ...") when reading
    """
    if isinstance(exc, LexprepError):
        return exc
    shown = redact(uri)
    code, status = aws_error(exc)
    names = {cls.__name__ for e in chain(exc) for cls in type(e).__mro__}
    if names & NO_CREDENTIAL_NAMES:
        return ConfigurationError(
            f"no credentials for {shown}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or pass storage options (or an AwsCredentials block)"
        )
    if code in TRANSIENT_CODES or status == 429 or (status is not None and status >= 500):
        return TransientError(f"temporary storage failure on {shown} ({code or status}): retry later")
    if code == "InvalidObjectState":
        return ArchivedObjectError(f"object is archived (restore it before reading): {shown}")
    if code == "NoSuchBucket":
        return ConfigurationError(f"source not found: {redact(bucket_uri(uri))} (no such bucket)")
    if isinstance(exc, FileNotFoundError) or code in NOT_FOUND_CODES or status == 404:
        if listing:
            return ConfigurationError(f"source not found: {shown}")
        return ObjectNotFoundError(f"object not found: {shown}")
    if isinstance(exc, PermissionError) or code in DENIED_CODES or status in (401, 403):
        if "://" not in uri and not listing:  # one local file: its own outcome, not the run's
            return InputError(f"cannot read {shown}: permission denied")
        hint = "check credentials" if "://" in uri else "check file permissions"
        return ConfigurationError(f"access denied to {shown}: {hint}")
    if is_transient_type(exc):
        return TransientError(f"cannot reach storage for {shown} ({type(exc).__name__}): retry later")
    if listing:
        return ConfigurationError(f"cannot list source {shown}: {first_line(exc)}")
    return InputError(f"cannot read {shown}: {first_line(exc)}")
