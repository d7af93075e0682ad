"""What every OpenAI-compatible client of lexprep shares: the client itself (made once, lazily, without the
``openai`` package's own retries), the retry policy, the mapping of ``openai`` exceptions onto lexprep's
error tree, and the scrubbing of server messages.

Used by the transcription client (lexprep.asr.openai_api), the LLM client (lexprep.llm: entity extraction
and resolution) and the fact extractor (lexprep.facts.llm).

Errors (:func:`map_error`): timeouts, connection failures, HTTP 408/425/429 and 5xx are
:class:`~lexprep.errors.TransientError` (retried by :func:`retrying`); 401/403/404 are
:class:`~lexprep.errors.ConfigurationError` (bad key, no access, wrong model or base URL); 400 and other
4xx are :class:`~lexprep.errors.InputError`. Messages never hold the key: the mapped error is raised
``from None`` (the ``openai`` exception may quote the server's message, which may quote the key) and the
server's message is scrubbed.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Callable

from lexprep.errors import ConfigurationError, InputError, MissingDependencyError, TransientError

log = logging.getLogger(__name__)


def scrub(text: str, secret: str | None) -> str:
    """``text`` in one short line (200 characters at most), without the key (or anything key-like, or a
    bearer token)."""
    text = " ".join(str(text).split())
    if secret:
        text = text.replace(secret, "***")
    text = re.sub(r"(?i)(bearer\s+)\S+", r"\1***", text)
    return re.sub(r"\b(sk|key)-[A-Za-z0-9_*\-]{6,}", "***", text)[:200]


class LazyClient:
    """One ``openai.OpenAI`` client, made on first use (thread-safe) by ``api_key()`` (which may raise
    ConfigurationError when there is none), with the client's own retries off: :func:`retrying` retries
    what is transient, and nothing else.

    Raises (from :meth:`get`): MissingDependencyError when the ``openai`` package is not installed.
    """

    def __init__(self, api_key: Callable[[], str], base_url: str | None, timeout_s: float):
        self._api_key, self._base_url, self._timeout_s = api_key, base_url, timeout_s
        self._client: Any = None
        self._lock = threading.Lock()

    def get(self):
        if self._client is not None:
            return self._client
        with self._lock:
            if self._client is None:
                try:
                    import openai
                except ImportError as exc:
                    raise MissingDependencyError("openai", "lexprep[cloud]") from exc
                self._client = openai.OpenAI(api_key=self._api_key(), base_url=self._base_url,
                                             timeout=self._timeout_s, max_retries=0)
            return self._client


def retrying(what: str, max_attempts: int, retry_wait_s: float):
    """A tenacity ``Retrying`` that retries only TransientError: ``max_attempts`` attempts, random exponential
    backoff with ``retry_wait_s`` seconds as the unit (at most 30 units), a warning before each wait, the
    last error re-raised."""
    from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

    unit = max(float(retry_wait_s), 0.0)

    def before_sleep(state) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("%s attempt %d/%d failed (%s); retrying", what, state.attempt_number, max_attempts, exc)

    return Retrying(stop=stop_after_attempt(max_attempts), wait=wait_random_exponential(multiplier=unit, max=30 * unit),
                    retry=retry_if_exception_type(TransientError), before_sleep=before_sleep, reraise=True)


def map_error(exc: Exception, *, what: str, timeout_s: float, model: str, key_env: str, secret: str | None,
              rejected: str = "request") -> Exception | None:
    """The lexprep error for an ``openai`` exception, None when ``exc`` is not one.

    Args:
        what: the activity, in messages ("OpenAI transcription", "LLM fact extraction").
        timeout_s: the client's timeout (seconds), for the message.
        model: the model asked for, for a 404's message.
        key_env: the setting that holds the key, for a 401's message.
        secret: the key, scrubbed from the server's message.
        rejected: what a 4xx rejected ("request", "recording").
    """
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return TransientError(f"{what} timed out after {timeout_s:g} s")
    if isinstance(exc, openai.APIConnectionError):
        return TransientError(f"cannot reach the {what} endpoint (connection error)")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        body = getattr(exc, "body", None)
        inner = body.get("error") if isinstance(body, dict) else None
        message = (inner.get("message") if isinstance(inner, dict) else None) or (
            body.get("message") if isinstance(body, dict) else None)
        detail = f": {scrub(message, secret)}" if message else ""
        if status == 429:
            return TransientError(f"{what} rate limited (HTTP 429)")
        if status >= 500 or status in (408, 425):
            return TransientError(f"{what} server error (HTTP {status})")
        if status == 401:
            return ConfigurationError(f"{what}: the API key was rejected (HTTP 401): check {key_env}")
        if status == 403:
            return ConfigurationError(f"{what}: access refused (HTTP 403){detail}")
        if status == 404:
            return ConfigurationError(f"{what}: model {model!r} or endpoint not found (HTTP 404){detail}")
        return InputError(f"{what}: the {rejected} was rejected (HTTP {status}){detail}")
    if isinstance(exc, openai.OpenAIError):
        return ConfigurationError(f"{what}: client error {type(exc).__name__}")
    return None


def call_mapped(fn: Callable[..., Any], *args: Any, mapper: Callable[[Exception], Exception | None], **kwargs: Any):
    """``fn(*args, **kwargs)``, an ``openai`` exception raised as ``mapper`` maps it (``from None``: the cause
    may quote the key); other exceptions propagate unchanged."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - mapped below; unknown errors propagate unchanged
        mapped = mapper(exc)
        if mapped is None:
            raise
        raise mapped from None


__all__ = ["LazyClient", "call_mapped", "map_error", "retrying", "scrub"]
