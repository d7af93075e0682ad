"""Facts: typed statements a document makes (its parties, dates, governing law, court, docket,
sender and recipients), each with verbatim evidence.

``extract_facts(text, category, meta, mentions, settings) -> FactResult``. The extractor is
``settings.facts_kind()``:

- ``rules`` (default, offline): lexprep.facts.contracts (contracts), lexprep.facts.court (opinions,
  orders, briefs, pleadings), lexprep.facts.email (correspondence with headers), over the cleaned
  text and the document's mentions.
- ``llm``: lexprep.facts.llm, an OpenAI-compatible chat model with structured outputs (the rules'
  facts are kept for kinds the model gave none of, unless ``facts.rules_also`` is off).
- ``none``: no facts.

Every fact is checked before it is kept (:func:`verify`): its evidence must be the document's text at
its span, verbatim (or, for ``evidence_source == "header"``, part of the named e-mail header), dates
must normalise to a real calendar date, and the kind must be known. What fails is counted in
``FactResult.rejected`` with the reason, never stored.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from lexprep.facts.dates import valid_iso_date
from lexprep.models import Fact, Mention
from lexprep.ner import CONTRACT_CATEGORIES

log = logging.getLogger(__name__)

__all__ = [
    "CONTRACT_KINDS", "COURT_KINDS", "EMAIL_KINDS", "KINDS", "DATE_KINDS", "FactResult", "extract_facts",
    "rule_facts", "verify", "locate", "dedupe",
]

#: kinds a contract yields
CONTRACT_KINDS = ("party", "agreement_date", "effective_date", "expiration_date", "term", "renewal_term",
                  "governing_law", "notice_address")
#: kinds a court document yields (``party`` with its caption role)
COURT_KINDS = ("court", "docket_number", "party", "judge", "counsel", "decision_date", "filing_date",
               "disposition")
#: kinds an e-mail yields
EMAIL_KINDS = ("email_from", "email_to", "email_cc", "email_bcc", "sent_date", "subject", "message_id",
               "in_reply_to", "references")
KINDS = tuple(dict.fromkeys(CONTRACT_KINDS + COURT_KINDS + EMAIL_KINDS))
#: kinds whose ``normalized`` is an ISO date
DATE_KINDS = frozenset({"agreement_date", "effective_date", "expiration_date", "decision_date", "filing_date",
                        "sent_date"})

COURT_CATEGORIES = frozenset({"opinion", "order", "brief", "pleading", "transcript"})
EMAIL_CATEGORIES = frozenset({"correspondence", "email"})


@dataclass(slots=True)
class FactResult:
    """What fact extraction made of one document.

    Attributes:
        facts: the verified facts, in text order.
        rejected: facts that failed :func:`verify`, as ``{"kind", "value", "reason"}`` (not stored).
        errors: per-document problems that did not stop the pipeline (an LLM refusal, malformed JSON,
            an output cut at the token limit, a window left out), one line each.
        mentions: mentions the extractor adds (an e-mail participant's name and address), already
            linked (the address to the name): the pipeline places them in chunks with the others.
        usage: ``{"api_tokens_in", "api_tokens_out", "estimated_cost_usd", "calls"}`` of an LLM extractor.
    """

    facts: list[Fact] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """``{"facts": n, "rejected": n, "rejected_reasons": {reason: n}, "errors": [...]}`` for the document's meta."""
        reasons: dict[str, int] = {}
        for r in self.rejected:
            reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
        out: dict[str, Any] = {"facts": len(self.facts), "rejected": len(self.rejected)}
        if reasons:
            out["rejected_reasons"] = dict(sorted(reasons.items()))
        if self.errors:
            out["errors"] = self.errors[:20]
        return out


def _header_value(meta: dict, name: str) -> str:
    value = meta.get(name)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def verify(fact: Fact, text: str, meta: dict | None = None) -> str | None:
    """Why ``fact`` must be rejected, or None when it holds.

    Checks: a known kind; a non-empty value and evidence; the evidence verbatim at its span (text
    source: ``text[evidence_start:evidence_end] == evidence_text``; header source: the same slice of
    the header ``attrs["header"]`` in ``meta``); ``normalized`` a real ISO date for a date kind;
    confidence in [0, 1].
    """
    if fact.kind not in KINDS:
        return "unknown kind"
    if not (fact.value or "").strip() or not (fact.evidence_text or "").strip():
        return "empty value or evidence"
    if not (0 <= fact.evidence_start < fact.evidence_end):
        return "evidence span out of range"
    if fact.evidence_source == "header":
        source = _header_value(meta or {}, (fact.attrs or {}).get("header", ""))
    elif fact.evidence_source == "text":
        source = text
    else:
        return "unknown evidence source"
    if fact.evidence_end > len(source) or source[fact.evidence_start:fact.evidence_end] != fact.evidence_text:
        return "evidence not verbatim in the text"
    if fact.kind in DATE_KINDS and not valid_iso_date(fact.normalized):
        return "date not a valid ISO date"
    if not (0.0 <= float(fact.confidence) <= 1.0):
        return "confidence out of range"
    return None


_WS_RUN = re.compile(r"\s+")


def locate(text: str, quote: str, near: int = 0) -> tuple[int, int] | None:
    """The span of ``quote`` in ``text``: verbatim first, else with any run of white space in the quote
    matching any run in the text (line breaks of a PDF), else with straight and curly quotes alike.
    The occurrence nearest ``near`` wins. None when the quote is not there."""
    quote = quote.strip()
    if not quote:
        return None
    hits = [m.start() for m in re.finditer(re.escape(quote), text)]
    if hits:
        s = min(hits, key=lambda h: abs(h - near))
        return s, s + len(quote)
    parts = [re.escape(p) for p in _WS_RUN.split(quote) if p]
    pattern = r"\s+".join(parts)
    pattern = re.sub(r"[\"“”]", '["“”]', pattern)
    pattern = re.sub(r"(?<!\\)['‘’]", "['‘’]", pattern)
    spans = [(m.start(), m.end()) for m in re.finditer(pattern, text)]
    if not spans:
        return None
    return min(spans, key=lambda sp: abs(sp[0] - near))


def dedupe(facts: list[Fact]) -> list[Fact]:
    """One fact per (kind, normalized or value, role), the first in text order kept."""
    seen: set[tuple] = set()
    out = []
    for f in sorted(facts, key=lambda f: (f.evidence_source != "text", f.evidence_start, f.kind)):
        key = (f.kind, (f.normalized or " ".join(f.value.split())).lower(), (f.role or "").lower())
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
    return out


def rule_facts(text: str, category: str | None, meta: dict | None, mentions: list[Mention]) -> FactResult:
    """The rule extractors for the document's category (see the module docstring); unverified."""
    from lexprep.facts import contracts, court, email

    meta = meta or {}
    result = FactResult()
    if meta.get("from") or meta.get("message_id") or category in EMAIL_CATEGORIES:
        facts, added = email.extract(text, meta, mentions)
        result.facts.extend(facts)
        result.mentions.extend(added)
    else:
        extractor = None
        if category in CONTRACT_CATEGORIES:
            extractor = contracts.extract
        elif category in COURT_CATEGORIES or court.looks_like_court_document(text):
            extractor = court.extract
        if extractor is not None:
            facts, added = extractor(text, mentions)
            result.facts.extend(facts)
            result.mentions.extend(added)
    return result


def extract_facts(text: str, category: str | None, meta: dict | None, mentions: list[Mention], settings,
                  *, before_call: Callable[[], None] | None = None) -> FactResult:
    """The document's verified facts (see the module docstring).

    Args:
        text: the cleaned text.
        category: the document's category (``contract``, ``opinion``, ``correspondence`` ...).
        meta: the extracted document's metadata (e-mail headers).
        mentions: the document's mentions (spans in ``text``).
        settings: Settings (``facts``, ``costs``, ``profile``).
        before_call: called before each API call of the LLM extractor (the ``openai-api`` rate limit).

    Returns:
        FactResult; never raises for what a model answered. An LLM extractor that cannot work at all
        (no key, a rejected key, no ``openai`` package) leaves the rules' facts and an error line.

    Raises:
        TransientError: the LLM's API still failing after its retries (the document is retried next run).
    """
    kind = settings.facts_kind()
    meta = meta or {}
    if kind == "none" or not text:
        return FactResult()
    if kind == "llm":
        from lexprep.errors import ConfigurationError, MissingDependencyError
        from lexprep.facts.llm import llm_facts

        try:
            result = llm_facts(text, category, meta, mentions, settings, before_call=before_call)
        except (ConfigurationError, MissingDependencyError) as exc:
            # no key, a rejected key, no client: the document keeps the rules' facts and says why
            log.warning("LLM fact extractor unavailable (%s); the rules' facts are kept", exc)
            result = FactResult(errors=[f"LLM extractor unavailable ({exc}); rule facts kept"])
        if settings.facts.rules_also or result.errors[:1] and "unavailable" in result.errors[0]:
            rules = rule_facts(text, category, meta, mentions)
            have = {f.kind for f in result.facts}
            result.facts.extend(f for f in rules.facts if f.kind not in have)
            result.mentions.extend(rules.mentions)
    else:
        result = rule_facts(text, category, meta, mentions)
    kept = []
    for fact in result.facts:
        why = verify(fact, text, meta)
        if why is None:
            kept.append(fact)
        else:
            result.rejected.append({"kind": fact.kind, "value": fact.value[:200], "reason": why,
                                    "extractor": fact.extractor})
    result.facts = dedupe(kept)
    if result.rejected:
        log.debug("%d facts rejected", len(result.rejected))
    return result
