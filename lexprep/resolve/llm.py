"""LLM-assisted resolution (cloud profile; ``resolve.llm``): pairs of entities the rules left apart are
judged by an LLM (lexprep.llm, ``Settings.llm``), each with a one-line reason.

1. **Candidates** (the rules' entities, matter scope, labels in ``resolve.llm_labels``): blocked by a
   shared word of three or more letters (stop words and legal-form words aside) between the two entities'
   names and aliases, same label; scored with rapidfuzz (the best of ``token_set_ratio`` and
   ``partial_ratio`` over names and aliases, 0..100); a pair is a candidate from
   ``resolve.llm_candidate_score``. Pairs a person split apart (an override) are never asked again.
2. **Judging**: the candidates, best score first, ``resolve.llm_pairs_per_call`` to a request, at most
   ``resolve.llm_max_calls`` requests per resolution (the rest stay apart, counted). The model answers,
   per pair, whether both name the same real-world person/organisation/place/court, a confidence 0..1 and
   a one-line reason, in a JSON schema.
3. **Merging**: a pair judged the same with confidence >= ``resolve.llm_min_confidence`` is merged (the
   entity with more mentions keeps its id and name; lexprep.resolve.overrides.Editor), with a merge record
   of method ``llm``, score = confidence x 100, evidence = the model's reason, which the audit lists and a
   person can undo (``lexprep entities split``).

Failures never cost the rules' resolution: an answer that does not fit the schema leaves its pairs apart
(counted); an endpoint that keeps failing (after lexprep.llm's retries) or is misconfigured stops the
judging, and what was merged so far stays. Everything is counted in :class:`JudgeStats` (calls, tokens,
USD: the run summary's ``resolution.llm``).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from pydantic import BaseModel, Field

from lexprep.errors import LexprepError
from lexprep.llm import LlmAnswerError, LlmClient, Usage

log = logging.getLogger(__name__)

SYSTEM = """You decide whether two names found in the documents of one legal matter refer to the same
real-world entity (person, organisation, place or court). You are given numbered pairs; each side has its
label, its canonical name, other names it appears under, and how often it is mentioned.
Answer for every pair: same (true/false), confidence (0 to 1) and a one-line reason.
Say same only when the names can only mean one entity (a middle initial added, an abbreviation, a former
name given as such); different first names, different numbers, parent and subsidiary companies, or a
federal and a state court are different entities. When unsure, say false with a low confidence."""

_WORD = re.compile(r"[A-Za-z][A-Za-z'&-]{2,}")
_STOP = frozenset("the and for inc llc ltd corp co company corporation of court district state county city "
                  "united states mr mrs ms dr".split())


class PairJudgement(BaseModel):
    """The model's judgement of one pair."""

    pair: int = Field(description="the pair's number as given")
    same: bool
    confidence: float = Field(ge=0, le=1)
    reason: str = Field(description="one line")


class PairJudgements(BaseModel):
    """The model's answer: one judgement per pair."""

    judgements: list[PairJudgement]


@dataclass(slots=True)
class JudgeStats:
    """What LLM-assisted resolution did (the run summary's ``resolution.llm``)."""

    candidates: int = 0
    judged: int = 0
    merged: int = 0
    kept_apart: int = 0
    over_budget: int = 0
    invalid_answers: int = 0
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    usd: float = 0.0
    errors: list = field(default_factory=list)

    def add_usage(self, usage: Usage) -> None:
        self.calls += usage.calls
        self.tokens_in += usage.tokens_in
        self.tokens_out += usage.tokens_out
        self.usd = round(self.usd + usage.usd, 6)


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)} - _STOP


def candidate_pairs(entities, settings, apart: set[tuple[str, str]] = frozenset()) -> list[tuple[float, object, object]]:
    """``[(score, entity a, entity b), ...]`` best first (see the module docstring, step 1)."""
    from rapidfuzz import fuzz

    labels = set(settings.llm_labels)
    threshold = float(settings.llm_candidate_score)
    by_label: dict[str, list] = defaultdict(list)
    for e in entities:
        if e.label in labels and e.document_id is None:
            by_label[e.label].append(e)
    out = []
    for label, group in by_label.items():
        index: dict[str, list[int]] = defaultdict(list)
        names = [[e.name, *e.aliases[:10]] for e in group]
        for i, e in enumerate(group):
            for w in set().union(*(_words(n) for n in names[i])):
                index[w].append(i)
        seen: set[tuple[int, int]] = set()
        for members in index.values():
            if len(members) > 200:  # a word that common says nothing
                continue
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    i, j = members[x], members[y]
                    if (i, j) in seen:
                        continue
                    seen.add((i, j))
                    a, b = group[i], group[j]
                    if (a.id, " ".join(b.name.split()).casefold()) in apart or \
                            (b.id, " ".join(a.name.split()).casefold()) in apart:
                        continue
                    score = max(max(fuzz.token_set_ratio(p, q), fuzz.partial_ratio(p, q))
                                for p in names[i] for q in names[j])
                    if score >= threshold:
                        out.append((round(float(score), 2), a, b))
    out.sort(key=lambda t: (-t[0], -(t[1].mention_count + t[2].mention_count), t[1].id, t[2].id))
    return out


def _describe(n: int, a, b) -> str:
    def side(e) -> str:
        aka = f"; also written {', '.join(repr(x) for x in e.aliases[:5])}" if e.aliases else ""
        return f"{e.name!r} ({e.mention_count} mention(s){aka})"

    return f"{n}. {a.label}: {side(a)} / {side(b)}"


class LlmJudge:
    """Judges the pairs the rules left undecided (see the module docstring).

    Args:
        settings: ResolveSettings (``llm_*``).
        llm: LlmSettings (the endpoint, key, prices).
        costs: unused (prices are ``llm``'s); kept for the pipeline's call.
        throttle: called before every request (a rate limit's slot, e.g. Prefect's ``openai-api``).
    """

    def __init__(self, settings, llm, costs=None, throttle=None):
        self.settings = settings
        self.client = LlmClient(llm, purpose="LLM-assisted resolution", throttle=throttle)

    def resolve(self, resolution, mentions, matter: str, apart: set[tuple[str, str]] = frozenset()):
        """``resolution`` with the pairs judged the same merged; ``.llm`` = JudgeStats as a dict."""
        from lexprep.resolve.overrides import Editor

        stats = JudgeStats()
        pairs = candidate_pairs(resolution.entities, self.settings, apart)
        stats.candidates = len(pairs)
        per_call = max(1, int(self.settings.llm_pairs_per_call))
        budget = max(0, int(self.settings.llm_max_calls)) * per_call
        stats.over_budget = max(0, len(pairs) - budget)
        pairs = pairs[:budget]
        editor = Editor(resolution.entities, resolution.assignments, resolution.merges, mentions, matter)
        where: dict[str, str] = {}

        def current(eid: str) -> str:
            while eid in where:
                eid = where[eid]
            return eid

        for start in range(0, len(pairs), per_call):
            batch = pairs[start:start + per_call]
            prompt = "\n".join(_describe(n + 1, a, b) for n, (_s, a, b) in enumerate(batch))
            try:
                answer, usage = self.client.structured(SYSTEM, prompt, PairJudgements)
            except LlmAnswerError as exc:
                stats.invalid_answers += 1
                spent = getattr(exc, "usage", None)
                if spent is not None:
                    stats.add_usage(spent)
                log.warning("%s; its %d pair(s) stay apart", exc, len(batch))
                continue
            except LexprepError as exc:  # still failing after the retries, or misconfigured: stop here
                stats.errors.append(f"{type(exc).__name__}: {exc}")
                log.warning("LLM-assisted resolution stopped: %s", exc)
                break
            stats.add_usage(usage)
            stats.judged += len(batch)
            verdicts = {j.pair: j for j in answer.judgements}
            for n, (_score, a, b) in enumerate(batch, start=1):
                j = verdicts.get(n)
                if j is None or not j.same or j.confidence < float(self.settings.llm_min_confidence):
                    stats.kept_apart += 1
                    continue
                ia, ib = current(a.id), current(b.id)
                if ia == ib:
                    continue
                ea, eb = editor.entities[ia], editor.entities[ib]
                into, other = (ea, eb) if (ea.mention_count, eb.id) >= (eb.mention_count, ea.id) else (eb, ea)
                reason = " ".join(j.reason.split())[:300]
                done = editor.merge(into.id, other.id, "llm", round(j.confidence * 100, 2), reason)
                if done.applied:
                    where[other.id] = into.id
                    stats.merged += 1
        result = editor.result()
        result.llm = asdict(stats)
        log.info("LLM-assisted resolution: %d candidate pair(s), %d judged in %d call(s), %d merged, "
                 "%d over the budget (%d tokens in, %d out, $%.4f)", stats.candidates, stats.judged, stats.calls,
                 stats.merged, stats.over_budget, stats.tokens_in, stats.tokens_out, stats.usd)
        return result
