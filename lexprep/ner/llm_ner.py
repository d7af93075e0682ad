"""Statistical NER through an LLM (the cloud profile's backend): OpenAI-compatible chat completions with a
JSON schema (lexprep.llm, ``Settings.llm``).

Each window of the document (lexprep.ner.windows; longer than ``ner.llm_max_chars`` characters: cut at
whitespace into pieces of at most that) is one request; a document's windows are sent
``ner.llm_concurrency`` at a time. The model lists each distinct name once, with one of lexprep's labels
(PERSON, ORG, GPE, DATE, MONEY, LAW, OTHER), copied **verbatim** from the text. The offsets come from the
text, never from the model: every occurrence of the name in the window (whole words; runs of whitespace
may differ, as a line break inside a name) becomes a span. A name that is not in the text is dropped and
counted (``Usage.not_in_text``; the document's meta ``llm_not_in_text``): an LLM that paraphrases or
invents a name never puts it in the store. When one name is found inside another found name, the longer
one wins (lexprep.ner.merge keeps the longer statistical span).

An answer that does not fit the schema (invalid JSON, a refusal, cut short) leaves that window's names
out: the document is recorded ``partial`` with the reason (eyecite and the legal rules still ran over
it), and the tokens are still counted. Timeouts, 429 and 5xx are retried (lexprep.llm); when they keep
failing the document fails with a TransientError (retried by the next run).

Score: an LLM gives no probability; every span scores 1.0 (``extractor`` = ``llm`` tells them apart).
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

from pydantic import BaseModel, Field

from lexprep.llm import LlmAnswerError, LlmClient, Usage, record

log = logging.getLogger(__name__)

LLM_LABELS = ("PERSON", "ORG", "GPE", "DATE", "MONEY", "LAW", "OTHER")

SYSTEM = """You find named entities in text from legal documents (court filings, contracts, e-mail).
List each distinct entity once, with its label:
- PERSON: people (judges, parties, counsel, witnesses), by name.
- ORG: companies, firms, agencies, courts, governments as organisations.
- GPE: countries, states, counties, cities, other places.
- DATE: calendar dates and date ranges.
- MONEY: amounts of money with their currency.
- LAW: statutes, acts, codes, regulations, constitutions, named by title or section.
- OTHER: other proper names (nationalities, events, products).
Copy the text of each entity EXACTLY as it appears in the text (same spelling, case, punctuation and
abbreviations); never expand, correct, translate or normalise it. Do not list pronouns, role words
("the Court", "Plaintiff"), or generic words. If there are none, return an empty list."""


class LlmEntity(BaseModel):
    """One entity as the model names it."""

    text: str = Field(description="the entity exactly as written in the text")
    label: Literal["PERSON", "ORG", "GPE", "DATE", "MONEY", "LAW", "OTHER"]


class LlmEntities(BaseModel):
    """The model's answer: the distinct entities of the text."""

    entities: list[LlmEntity]


def find_verbatim(text: str, surface: str) -> list[tuple[int, int]]:
    """Every ``(start, end)`` where ``surface`` occurs in ``text`` as whole words (runs of whitespace may
    differ); none for a surface that is empty or not there."""
    words = surface.split()
    if not words:
        return []
    pattern = r"\s+".join(re.escape(w) for w in words)
    return [(m.start(), m.end()) for m in re.finditer(rf"(?<!\w){pattern}(?!\w)", text)]


def spans_from_answer(text: str, answer: LlmEntities) -> tuple[list[tuple[str, int, int, float, str]], int]:
    """The spans of ``answer``'s entities in ``text`` and how many entities are not in it.

    Returns:
        ``([(label, start, end, 1.0, label), ...] in text order, not_in_text)``; a span inside a longer
        span of the answer is left out; the first label given to a surface wins.
    """
    seen: dict[str, str] = {}
    missing = 0
    found: list[tuple[str, int, int, float, str]] = []
    for ent in answer.entities:
        surface = " ".join(ent.text.split())
        if not surface or surface in seen:
            continue
        seen[surface] = ent.label
        where = find_verbatim(text, surface)
        if not where:
            missing += 1
            continue
        found.extend((ent.label, s, e, 1.0, ent.label) for s, e in where)
    found.sort(key=lambda s: (s[1], -(s[2] - s[1])))
    out: list[tuple[str, int, int, float, str]] = []
    for span in found:
        if out and span[1] < out[-1][2]:  # overlaps a longer (or earlier) one already kept
            continue
        out.append(span)
    return out, missing


def requests_for(text_len: int, settings) -> int:
    """About how many requests a text of ``text_len`` characters takes (for a rate limit's slots)."""
    window = max(200, int(settings.window_chars)) + 2 * int(settings.window_margin_chars)
    per_window = max(1, -(-window // max(500, int(settings.llm_max_chars))))
    return max(1, -(-text_len // max(200, int(settings.window_chars)))) * per_window


class LlmBackend:
    """LLM entity extraction behind the lexprep.ner.backends.NerBackend protocol.

    Args:
        settings: NerSettings (``llm``: LlmSettings, ``llm_max_chars``, ``llm_concurrency``).
        throttle: called before every request (a rate limit's slot).

    Raises (from :meth:`spans`): see lexprep.llm.LlmClient.structured (but LlmAnswerError, which leaves
    the window out and is reported through :func:`lexprep.llm.metering`).
    """

    name = "llm"

    def __init__(self, settings, throttle=None):
        from lexprep.settings import LlmSettings

        self.settings = settings
        self.client = LlmClient(settings.llm or LlmSettings(), purpose="LLM entity extraction", throttle=throttle)

    def _one(self, piece: str, where: str) -> tuple[list, Usage]:
        usage = Usage()
        try:
            answer, used = self.client.structured(SYSTEM, piece, LlmEntities)
        except LlmAnswerError as exc:
            spent = getattr(exc, "usage", None)
            if spent is not None:
                usage.add(spent)
            usage.problems.append(f"LLM entity extraction left out {where}: {exc}")
            return [], usage
        usage.add(used)
        spans, missing = spans_from_answer(piece, answer)
        usage.not_in_text += missing
        return spans, usage

    def spans(self, texts: list[str]) -> list[list[tuple[str, int, int, float, str]]]:
        """Entities of each text: ``[(label, start, end, 1.0, label), ...]`` in text order."""
        from lexprep.ner.spacy_ner import split_long

        limit = max(500, int(self.settings.llm_max_chars))
        jobs: list[tuple[int, int, str, str]] = []  # (text index, offset, piece, where)
        for i, text in enumerate(texts):
            for offset, piece in split_long(text, limit):
                if piece.strip():
                    jobs.append((i, offset, piece, f"characters {offset}-{offset + len(piece)} of window {i + 1}"))
        out: list[list[tuple[str, int, int, float, str]]] = [[] for _ in texts]
        total = Usage()
        workers = max(1, min(int(getattr(self.settings, "llm_concurrency", 4)), len(jobs) or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lexprep-llm-ner") as pool:
            results = list(pool.map(lambda job: self._one(job[2], job[3]), jobs))
        for (i, offset, _piece, _where), (spans, usage) in zip(jobs, results):
            total.add(usage)
            out[i].extend((label, offset + s, offset + e, score, src) for label, s, e, score, src in spans)
        for spans in out:
            spans.sort(key=lambda s: (s[1], s[2]))
        if total.not_in_text:
            log.info("LLM entity extraction: %d named entities were not in the text and were dropped",
                     total.not_in_text)
        for line in total.problems:
            log.warning("%s", line)
        record(total)
        return out
