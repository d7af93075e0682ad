"""The transformers NER backend through its real loading and inference path, with tiny BERT token-classification
checkpoints the tests build and save (bench/tiny_ner_model.py; no hub), on CPU (on CUDA the same code runs
on the GPU, in float16).

Skipped, saying so, only when torch or transformers (``lexprep[gpu]``; part of ``make test``'s install) is
missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import importlib.util

# torch and transformers are looked up, not imported, here: collecting this file (as `pytest -m unit` does)
# must not load torch into the test process
_MISSING = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
pytestmark = [pytest.mark.integration, pytest.mark.skipif(
    bool(_MISSING), reason=f"{' and '.join(_MISSING)} not installed (lexprep[gpu]; `make test` installs the CPU wheel)")]

from bench.tiny_ner_model import build_tiny_ner_model  # noqa: E402
from lexprep.errors import ConfigurationError  # noqa: E402
from lexprep.ner import document_mentions  # noqa: E402
from lexprep.ner.backends import get_backend  # noqa: E402
from lexprep.ner.pool import MentionPool  # noqa: E402
from lexprep.ner.transformers_ner import TransformersBackend, map_label  # noqa: E402
from lexprep.settings import NerSettings, Settings  # noqa: E402

SENTENCE = "John Smith sued Acme Corp in Texas, speaking English. "


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    return build_tiny_ner_model(tmp_path_factory.mktemp("planted-bert"), planted=True, max_positions=64)


@pytest.fixture(scope="module")
def random_model(tmp_path_factory) -> Path:
    return build_tiny_ner_model(tmp_path_factory.mktemp("random-bert"))


def settings(model: Path, **kw) -> NerSettings:
    return NerSettings(backend="transformers", transformers_model=str(model), workers=0, **kw)


def test_labels_map_onto_ours():
    assert [map_label(x) for x in ("PER", "B-PER", "I-ORG", "LOC", "MISC", "GPE", "DATE", "NORP", "weird")] == [
        "PERSON", "PERSON", "ORG", "GPE", "OTHER", "GPE", "DATE", "OTHER", "OTHER"]


def test_planted_entities_come_out_with_their_offsets_and_labels(planted: Path):
    backend = TransformersBackend(settings(planted))
    assert backend.device == "cpu" and backend.dtype == "float32"  # fp16 only on CUDA
    (spans,) = backend.spans([SENTENCE])
    assert [(label, SENTENCE[s:e], src) for label, s, e, _score, src in spans] == [
        ("PERSON", "John Smith", "PER"), ("ORG", "Acme Corp", "ORG"), ("GPE", "Texas", "LOC"),
        ("OTHER", "English", "MISC")]
    assert all(0.5 < score <= 1.0 for *_x, score, _src in spans)


def test_long_texts_are_read_in_strided_pieces_without_duplicates(planted: Path):
    text = SENTENCE * 30  # ~ 400 tokens: 64-token pieces sharing 16
    backend = TransformersBackend(settings(planted, transformers_stride=16))
    assert (backend.max_tokens, backend.stride) == (64, 16)
    empty, spans = backend.spans(["   ", text])
    assert empty == []
    found = [(label, text[s:e]) for label, s, e, _score, _src in spans]
    assert found == [("PERSON", "John Smith"), ("ORG", "Acme Corp"), ("GPE", "Texas"), ("OTHER", "English")] * 30
    starts = [s for _l, s, _e, _sc, _src in spans]
    assert starts == sorted(set(starts))


def test_batches_give_what_single_texts_give(planted: Path):
    texts = [SENTENCE * k for k in (1, 3, 7, 2)]
    batched = TransformersBackend(settings(planted, transformers_batch_size=4)).spans(texts)
    single = [TransformersBackend(settings(planted, transformers_batch_size=1)).spans([t])[0] for t in texts]
    assert [[x[:3] for x in b] for b in batched] == [[x[:3] for x in s] for s in single]


def test_the_legal_rules_and_eyecite_keep_their_precedence(planted: Path):
    text = ("John Smith sued Acme Corp in Texas. See Smith v. Texas, 410 U.S. 113 (1973). "
            "John Smith asked for $5,000.")
    mentions = document_mentions(text, settings(planted))
    got = {(m.text, m.label, m.extractor) for m in mentions}
    assert ("John Smith", "PERSON", "transformers") in got
    assert any(label == "CASE" and ext == "eyecite" and "410 U.S. 113" in t for t, label, ext in got)
    # the case name's words are part of the CASE mention, not also PERSON/GPE mentions of the model
    inside = [m for m in mentions if m.extractor == "transformers" and 40 <= m.doc_start < 75]
    assert not inside, inside
    for m in mentions:
        assert text[m.doc_start:m.doc_end] == m.text


def test_a_random_model_runs_end_to_end_in_a_worker_process(random_model: Path):
    """The pool's worker loads the model once (spawned process) and reads a document; the random model's
    entities, whatever they are, lie in the text with mapped labels."""
    text = ("The Court of Appeals affirmed. Jane Roe, of Dallas County, filed in No. 11-889 against "
            "Wade on May 3, 2021. ") * 20
    ns = NerSettings(backend="transformers", transformers_model=str(random_model), workers=2)
    with MentionPool(ns) as pool:
        assert pool.workers == 1  # one model replica
        pool.start()
        mentions = pool.extract(text)
        again = pool.extract(text)
    assert [(m.doc_start, m.label) for m in mentions] == [(m.doc_start, m.label) for m in again]
    assert {m.extractor for m in mentions} <= {"transformers", "eyecite", "rules", "definition", "caption",
                                               "role", "surname", "short_name", "acronym"}
    assert any(m.label == "DOCKET" for m in mentions)
    for m in mentions:
        assert text[m.doc_start:m.doc_end] == m.text
        assert m.label in {"PERSON", "ORG", "GPE", "DATE", "MONEY", "LAW", "OTHER", "CASE", "COURT", "DOCKET"}


def test_the_backend_is_loaded_once_per_process(planted: Path):
    ns = settings(planted)
    assert get_backend(ns) is get_backend(NerSettings(**ns.model_dump()))
    assert get_backend(ns) is not get_backend(settings(planted, transformers_stride=8))


def test_a_model_that_cannot_load_is_a_configuration_error(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="cannot load token-classification model"):
        TransformersBackend(settings(tmp_path / "nothing-here"))


def test_the_gpu_profile_defaults_to_the_seeds_bert():
    s = Settings(profile="gpu")
    assert s.ner_backend() == "transformers"
    assert s.ner_settings().transformers_model == "dbmdz/bert-large-cased-finetuned-conll03-english"
    assert Settings().ner_backend() == "spacy" and Settings(profile="cloud").ner_backend() == "llm"
    assert Settings(profile="gpu").fingerprint() != Settings(profile="gpu", ner={"backend": "spacy"}).fingerprint()
    assert Settings().fingerprint() == Settings(ner={"backend": "spacy"}).fingerprint()
