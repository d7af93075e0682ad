"""Facts through an OpenAI-compatible chat model with structured outputs.

One Chat Completions call per window of the document's cleaned text (``facts.llm_window_chars``
characters, consecutive windows overlapping by ``facts.llm_window_overlap_chars``, at most
``facts.llm_max_windows``), with ``response_format`` a strict JSON schema made from the pydantic
models below (:data:`RESPONSE_SCHEMA`). ``facts.llm_base_url`` and ``facts.llm_model`` point it at any
server that speaks the protocol (OpenAI, Azure, vLLM, Ollama, llama.cpp server).

Each fact the model returns quotes its evidence; the quote is found in the text
(:func:`lexprep.facts.locate`: verbatim, else with the text's line breaks) and becomes the fact's
span, or the fact is rejected ("evidence not verbatim in the text"). Dates must come back as ISO
8601; a date the model wrote otherwise is parsed from its value, else rejected by verification.

What a model answers never raises: a refusal, an output cut at the token limit (``finish_reason ==
"length"``), malformed JSON, or JSON that does not fit the schema is recorded per document in
``FactResult.errors`` (and the window's facts are lost). Transport errors: timeouts, connection
failures, HTTP 429 and 5xx are :class:`~lexprep.errors.TransientError`, retried here with tenacity
(``facts.max_attempts`` attempts, random exponential backoff with ``facts.retry_wait_s`` as the unit)
and raised when they outlast the retries (the document then fails for a passing reason and the next
run retries it); 401/403/404 are :class:`~lexprep.errors.ConfigurationError`; a 400 (a window the
server will not take) is recorded per document. The API key never appears in a message or a log line.

Token counts (``usage.prompt_tokens`` / ``completion_tokens``) and their price from
``costs.llm_per_million_tokens`` go to ``FactResult.usage`` (then the document's cost ledger).
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lexprep.errors import ConfigurationError, InputError
from lexprep.facts import DATE_KINDS, KINDS, FactResult, locate
from lexprep.facts._common import entity_mention, normalize_jurisdiction, party_label
from lexprep.facts.dates import parse_date, valid_iso_date
from lexprep.models import Fact, Mention
from lexprep.openai_compat import LazyClient, call_mapped, map_error, retrying

__all__ = ["LlmFact", "LlmFacts", "RESPONSE_SCHEMA", "SYSTEM_PROMPT", "LlmFactExtractor", "llm_facts", "windows"]

FactKind = Literal[KINDS]  # type: ignore[valid-type]


class LlmFact(BaseModel):
    """One fact as the model returns it."""

    model_config = ConfigDict(extra="forbid")

    kind: FactKind = Field(description="what the fact is")
    value: str = Field(description="the value as the document words it (a name, a date, a jurisdiction)")
    normalized: str | None = Field(description="dates as YYYY-MM-DD; governing law as the jurisdiction's name "
                                               "('Texas'); durations as ISO 8601 ('P1Y'); else null")
    role: str | None = Field(description="a party's role (its defined term, or plaintiff/appellee ...), counsel's "
                                         "side, a recipient's to/cc/bcc; else null")
    evidence: str = Field(description="a short passage copied character for character from the document that "
                                      "states the fact")


class LlmFacts(BaseModel):
    """The model's whole answer for one window."""

    model_config = ConfigDict(extra="forbid")

    facts: list[LlmFact]


def _strict(schema: dict) -> dict:
    """The pydantic schema in the form strict structured outputs accept: every object closed, every
    property required (nullable ones are ``anyOf [..., null]``), no titles or defaults."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items() if k not in ("title", "default")}
        if out.get("type") == "object" and "properties" in out:
            out["additionalProperties"] = False
            out["required"] = list(out["properties"])
        return out
    if isinstance(schema, list):
        return [_strict(x) for x in schema]
    return schema


#: the JSON schema of an answer (strict structured outputs)
RESPONSE_SCHEMA = _strict(LlmFacts.model_json_schema())

SYSTEM_PROMPT = (
    "You extract facts from one legal document (or a window of a long one) for a litigation database. "
    "Return only facts the text states. Kinds: contracts: party (value: the party's full name; role: the "
    "defined term it is given, e.g. 'Distributor'), agreement_date, effective_date, expiration_date, term "
    "(normalized ISO 8601 duration), renewal_term, governing_law (normalized: the jurisdiction, e.g. "
    "'Texas'), notice_address; court documents: court, docket_number, party (role: plaintiff, defendant, "
    "appellant, appellee, petitioner, respondent, joined with '-' when several), judge, counsel (role: the "
    "side represented), decision_date, filing_date, disposition (normalized: affirmed, reversed, vacated, "
    "remanded, dismissed, granted or denied); e-mail: email_from, email_to, email_cc, email_bcc (value: the "
    "name or address; normalized: the address in lower case), sent_date, subject. Dates go in normalized "
    "as YYYY-MM-DD. 'evidence' must be copied exactly from the text (same words, spelling, punctuation), "
    "short, and contain the value. Never invent a fact; an empty list is a valid answer."
)

_ENTITY_KINDS = {"party": None, "judge": "PERSON", "counsel": "PERSON", "court": "COURT", "governing_law": "GPE",
                 "email_from": "PERSON", "email_to": "PERSON", "email_cc": "PERSON", "email_bcc": "PERSON"}


def windows(text: str, size: int, overlap: int, limit: int) -> tuple[list[tuple[int, int]], int]:
    """``([(start, end), ...], characters left unread)``: windows of at most ``size`` characters, each
    starting ``size - overlap`` after the last (cut at a line break when one is near), at most ``limit``."""
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(text)
    step = max(size - overlap, 1)
    while start < n and len(spans) < limit:
        end = min(n, start + size)
        if end < n:
            cut = text.rfind("\n", start + size // 2, end)
            end = cut + 1 if cut > start else end
        spans.append((start, end))
        if end >= n:
            break
        start = max(end - overlap, start + 1) if end - start < size else start + step
    left = n - spans[-1][1] if spans else n
    return spans, max(left, 0)


class LlmFactExtractor:
    """The Chat Completions client of the LLM fact extractor (one per process and settings).

    Args:
        settings: Settings (``facts``: llm_model, llm_base_url, llm_api_key else ``OPENAI_API_KEY``,
            timeout_s, max_attempts, retry_wait_s, llm_max_output_tokens; ``costs.llm_per_million_tokens``).
    """

    def __init__(self, settings):
        self.settings = settings
        self.fs = settings.facts
        self.model = self.fs.llm_model
        self._client = LazyClient(self._api_key, self.fs.llm_base_url, self.fs.timeout_s)

    def _secret(self) -> str | None:
        if self.fs.llm_api_key is not None:
            return self.fs.llm_api_key.get_secret_value()
        return os.environ.get("OPENAI_API_KEY")

    def _api_key(self) -> str:
        key = self._secret()
        if key:
            return key
        if not self.fs.llm_base_url:
            raise ConfigurationError("no API key for the LLM fact extractor: set LEXPREP_FACTS__LLM_API_KEY or "
                                     "OPENAI_API_KEY")
        return "none"  # a local server (vLLM, Ollama, llama.cpp) that needs no key

    def _request(self, category: str | None, window: str) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"Document category: {category or 'unknown'}\n\n<document>\n{window}\n</document>"},
            ],
            "response_format": {"type": "json_schema",
                                "json_schema": {"name": "document_facts", "strict": True, "schema": RESPONSE_SCHEMA}},
            "temperature": 0,
            "max_tokens": self.fs.llm_max_output_tokens,
        }

    def _call_once(self, request: dict[str, Any]):
        return call_mapped(self._client.get().chat.completions.create, **request,
                           mapper=lambda exc: map_error(exc, what="LLM fact extraction", timeout_s=self.fs.timeout_s,
                                                        model=self.model, key_env="LEXPREP_FACTS__LLM_API_KEY",
                                                        secret=self._secret()))

    def call(self, category: str | None, window: str, before_call: Callable[[], None] | None = None):
        """One Chat Completions call for ``window``, retried on transient errors (see the module docstring)."""

        def attempt():
            if before_call is not None:
                before_call()
            return self._call_once(self._request(category, window))

        return retrying("LLM fact extraction", self.fs.max_attempts, self.fs.retry_wait_s)(attempt)

    def price(self, tokens_in: int, tokens_out: int) -> float:
        """USD of the tokens at ``costs.llm_per_million_tokens[model]`` (0 for a model not listed)."""
        from lexprep.estimate import llm_usd

        return llm_usd(tokens_in, tokens_out, self.model, self.settings)


def _get(obj: Any, key: str, default: Any = None) -> Any:
    return obj.get(key, default) if isinstance(obj, dict) else getattr(obj, key, default)


def _to_fact(item: LlmFact, text: str, window: tuple[int, int], mentions: list[Mention], added: list[Mention],
             extractor: str) -> tuple[Fact | None, str | None]:
    span = locate(text[window[0]:window[1]], item.evidence)
    if span is None:
        return None, "evidence not verbatim in the text"
    s, e = window[0] + span[0], window[0] + span[1]
    normalized = item.normalized
    if item.kind in DATE_KINDS and not valid_iso_date(normalized):
        normalized = parse_date(item.value) or parse_date(text[s:e]) or normalized
    if item.kind == "governing_law":
        normalized = normalize_jurisdiction(normalized or item.value)
    entity_span = None
    if item.kind in _ENTITY_KINDS and item.value.strip():
        vspan = locate(text[s:e], item.value)
        if vspan is not None:
            vs, ve = s + vspan[0], s + vspan[1]
            label = _ENTITY_KINDS[item.kind] or party_label(text, vs, ve)
            entity_span = entity_mention(text, vs, ve, label, mentions, added)
    return Fact(kind=item.kind, value=" ".join(item.value.split()), normalized=normalized, evidence_start=s,
                evidence_end=e, evidence_text=text[s:e], role=item.role or None, entity_span=entity_span,
                extractor=extractor, confidence=0.8), None


_cache: dict[str, LlmFactExtractor] = {}
_cache_lock = threading.Lock()


def _extractor(settings) -> LlmFactExtractor:
    key = settings.facts.model_dump_json() + repr(settings.costs.llm_per_million_tokens)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = LlmFactExtractor(settings)
        return _cache[key]


def llm_facts(text: str, category: str | None, meta: dict, mentions: list[Mention], settings,
              *, before_call: Callable[[], None] | None = None, extractor: LlmFactExtractor | None = None) -> FactResult:
    """The facts an LLM finds in ``text`` (unverified; see the module docstring).

    Raises:
        TransientError: a call still failing after its retries. ConfigurationError: no key, a rejected
        key, no access, an unknown model. MissingDependencyError: no ``openai`` package.
    """
    ex = extractor or _extractor(settings)
    fs = settings.facts
    result = FactResult(usage={"api_tokens_in": 0, "api_tokens_out": 0, "estimated_cost_usd": 0.0, "calls": 0})
    spans, left = windows(text, fs.llm_window_chars, fs.llm_window_overlap_chars, fs.llm_max_windows)
    if left:
        result.errors.append(f"the last {left:,} characters were not read by the LLM (facts.llm_max_windows = "
                             f"{fs.llm_max_windows})")
    name = f"llm:{ex.model}"
    for i, (ws, we) in enumerate(spans):
        where = f"window {i + 1}/{len(spans)}"
        try:
            response = ex.call(category, text[ws:we], before_call)
        except InputError as exc:
            result.errors.append(f"{where}: {exc}")
            continue
        result.usage["calls"] += 1
        usage = _get(response, "usage")
        tin, tout = int(_get(usage, "prompt_tokens", 0) or 0), int(_get(usage, "completion_tokens", 0) or 0)
        result.usage["api_tokens_in"] += tin
        result.usage["api_tokens_out"] += tout
        result.usage["estimated_cost_usd"] += ex.price(tin, tout)
        choices = _get(response, "choices") or []
        if not choices:
            result.errors.append(f"{where}: the server answered no choice")
            continue
        choice = choices[0]
        message = _get(choice, "message")
        refusal = _get(message, "refusal")
        if refusal:
            result.errors.append(f"{where}: the model refused: {' '.join(str(refusal).split())[:200]}")
            continue
        finish = _get(choice, "finish_reason")
        content = _get(message, "content")
        if finish == "length":
            result.errors.append(f"{where}: output truncated at facts.llm_max_output_tokens = "
                                 f"{fs.llm_max_output_tokens} (finish_reason=length)")
            continue
        if finish == "content_filter":
            result.errors.append(f"{where}: output withheld by the server's content filter")
            continue
        if not content:
            result.errors.append(f"{where}: empty answer")
            continue
        try:
            data = json.loads(content)
        except ValueError as exc:
            result.errors.append(f"{where}: malformed JSON ({exc.msg} at character {exc.pos})")
            continue
        try:
            parsed = LlmFacts.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0] if exc.errors() else {}
            loc = ".".join(str(x) for x in first.get("loc", ()))
            result.errors.append(f"{where}: output does not fit the schema ({exc.error_count()} errors; {loc}: "
                                 f"{first.get('msg', '')})")
            continue
        for item in parsed.facts:
            fact, why = _to_fact(item, text, (ws, we), mentions, result.mentions, name)
            if fact is None:
                result.rejected.append({"kind": item.kind, "value": item.value[:200], "reason": why, "extractor": name})
            else:
                result.facts.append(fact)
    result.usage["estimated_cost_usd"] = round(result.usage["estimated_cost_usd"], 6)
    return result
