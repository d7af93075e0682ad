"""Structured answers from an OpenAI-compatible Chat Completions endpoint (``Settings.llm``), for the ``llm``
NER backend (lexprep.ner.llm_ner) and LLM-assisted resolution (lexprep.resolve.llm).

One request = one ``POST /chat/completions`` with ``response_format`` ``json_schema`` built from a pydantic
model (strict, as the openai client's own ``parse`` builds it: OpenAI's "structured outputs"), temperature
``llm.temperature``; the answer is validated against the same model here, so a server that ignores the
schema (or a model that refuses, or an answer cut at ``max_output_tokens``) is caught as
:class:`LlmAnswerError` rather than trusted.

Errors, as the OpenAI transcription client (lexprep.asr.openai_api) maps them: timeouts, connection
failures, HTTP 408/425/429 and 5xx are :class:`~lexprep.errors.TransientError`, retried here with
tenacity (``llm.max_attempts`` attempts, random exponential backoff in units of ``llm.retry_wait_s``,
capped at 30 units; the client's own retries are off); 401/403/404 are
:class:`~lexprep.errors.ConfigurationError` (bad key, no access, wrong model or base URL); 400 and other
4xx :class:`~lexprep.errors.InputError`. The API key never appears in a message, a log line or the store.

Usage (calls, prompt and completion tokens, USD at ``llm.usd_per_million_in/out``) comes back with every
answer; :func:`metering` collects it for the code that runs inside it (the document's cost ledger).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from lexprep.errors import ConfigurationError, InputError
from lexprep.openai_compat import LazyClient, call_mapped, map_error, retrying, scrub

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)


class LlmAnswerError(InputError):
    """The model's answer is not what the schema asks for (invalid JSON, wrong fields, a refusal, cut short).
    Not retried: the same request would most likely get the same answer."""


@dataclass(slots=True)
class Usage:
    """What requests cost and what their answers lacked.

    Attributes:
        calls: requests answered; tokens_in / tokens_out: prompt / completion tokens; usd: their price.
        not_in_text: entities an answer named that are not in the text (dropped).
        problems: one line per answer that could not be used (what was left out and why).
    """

    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    usd: float = 0.0
    not_in_text: int = 0
    problems: list = field(default_factory=list)

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.usd += other.usd
        self.not_in_text += other.not_in_text
        self.problems.extend(other.problems)

    def as_dict(self) -> dict:
        return {"calls": self.calls, "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
                "usd": round(self.usd, 6), "not_in_text": self.not_in_text, "problems": list(self.problems)}


_meter: contextvars.ContextVar[Usage | None] = contextvars.ContextVar("lexprep_llm_meter", default=None)


@contextlib.contextmanager
def metering() -> Iterator[Usage]:
    """Collect the usage of every LLM answer :func:`record` is given inside the block (this thread/context)."""
    usage = Usage()
    token = _meter.set(usage)
    try:
        yield usage
    finally:
        _meter.reset(token)


def record(usage: Usage) -> None:
    """Add ``usage`` to the innermost :func:`metering` block, if any."""
    meter = _meter.get()
    if meter is not None:
        meter.add(usage)


class LlmClient:
    """A Chat Completions client for structured answers.

    Args:
        settings: LlmSettings (model, base_url, api_key or OPENAI_API_KEY, timeout_s, max_attempts,
            retry_wait_s, max_output_tokens, temperature, prices).
        purpose: what the requests are for, in messages ("LLM entity extraction").
        throttle: called before every request (a rate limit's slot, e.g. Prefect's ``openai-api``).

    Thread-safe: one client serves several threads.
    """

    def __init__(self, settings, *, purpose: str = "LLM", throttle: Callable[[], None] | None = None):
        self.settings = settings
        self.purpose = purpose
        self.throttle = throttle
        self._client = LazyClient(self._api_key, settings.base_url, settings.timeout_s)

    def _secret(self) -> str | None:
        if self.settings.api_key is not None:
            return self.settings.api_key.get_secret_value()
        return os.environ.get("OPENAI_API_KEY")

    def _api_key(self) -> str:
        key = self._secret()
        if not key:
            raise ConfigurationError(f"{self.purpose} needs an API key: set LEXPREP_LLM__API_KEY or OPENAI_API_KEY")
        return key

    def structured(self, system: str, user: str, schema: type[T]) -> tuple[T, Usage]:
        """The model's answer to ``system`` + ``user`` as a ``schema`` instance, and what it cost.

        Raises:
            TransientError: still failing after ``max_attempts`` (timeouts, 429, 5xx, connection).
            ConfigurationError: no key, a rejected key, no access, unknown model or endpoint.
            InputError: the server rejected the request (400 ...).
            LlmAnswerError: the answer does not fit the schema (the request's tokens are on ``exc.usage``).
            MissingDependencyError: the ``openai`` package is not installed.
        """
        response = retrying(self.purpose, self.settings.max_attempts, self.settings.retry_wait_s)(
            self._call_once, system, user, schema)
        usage = self._usage(response)
        try:
            return self._parse(response, schema), usage
        except LlmAnswerError as exc:
            exc.usage = usage  # type: ignore[attr-defined]
            raise

    def _request(self, system: str, user: str, schema: type[BaseModel]) -> dict:
        from openai.lib._parsing._completions import type_to_response_format_param

        return {
            "model": self.settings.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "response_format": type_to_response_format_param(schema),
            "temperature": self.settings.temperature,
            "max_completion_tokens": self.settings.max_output_tokens,
        }

    def _call_once(self, system: str, user: str, schema: type[BaseModel]):
        client = self._client.get()
        if self.throttle is not None:
            self.throttle()
        return call_mapped(client.chat.completions.create, **self._request(system, user, schema),
                           mapper=lambda exc: map_error(exc, what=self.purpose, timeout_s=self.settings.timeout_s,
                                                        model=self.settings.model, key_env="LEXPREP_LLM__API_KEY",
                                                        secret=self._secret()))

    def _usage(self, response) -> Usage:
        u = getattr(response, "usage", None)
        tin = int(getattr(u, "prompt_tokens", 0) or 0) if u is not None else 0
        tout = int(getattr(u, "completion_tokens", 0) or 0) if u is not None else 0
        usd = tin / 1e6 * self.settings.usd_per_million_in + tout / 1e6 * self.settings.usd_per_million_out
        return Usage(1, tin, tout, usd)

    def _parse(self, response, schema: type[T]) -> T:
        choices = getattr(response, "choices", None) or []
        if not choices:
            raise LlmAnswerError(f"{self.purpose}: the answer has no choices")
        choice = choices[0]
        message = choice.message
        if getattr(message, "refusal", None):
            raise LlmAnswerError(f"{self.purpose}: the model refused ({scrub(message.refusal, None)[:120]})")
        if getattr(choice, "finish_reason", None) == "length":
            raise LlmAnswerError(f"{self.purpose}: the answer was cut at {self.settings.max_output_tokens} tokens "
                                 "(raise llm.max_output_tokens or send less text a request)")
        content = message.content or ""
        try:
            return schema.model_validate_json(content)
        except ValidationError as exc:
            first = exc.errors()[0] if exc.errors() else {}
            where = ".".join(str(p) for p in first.get("loc", ())) or "answer"
            raise LlmAnswerError(f"{self.purpose}: the answer does not fit the schema ({where}: "
                                 f"{first.get('msg', 'invalid')}; {exc.error_count()} error(s))") from None
