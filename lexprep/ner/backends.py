"""Statistical NER backends behind one protocol (``NerSettings.backend``, ``LEXPREP_NER__BACKEND``).

=============  =============================================  ===========================================
backend        engine                                         module
=============  =============================================  ===========================================
spacy          spaCy pipeline (default; local profile)        lexprep.ner.spacy_ner
transformers   token classification (gpu profile: the seed's  lexprep.ner.transformers_ner
               dbmdz/bert-large-cased-finetuned-conll03)
llm            OpenAI-compatible chat completions with a      lexprep.ner.llm_ner
               JSON schema (cloud profile)
=============  =============================================  ===========================================

A backend reads the windows of one document (lexprep.ner.windows) and returns, per window text, raw
spans ``(label, start, end, score, source_label)`` with offsets in that text and labels already mapped
onto lexprep's (PERSON, ORG, GPE, DATE, MONEY, LAW, OTHER). Everything after is the same for every
backend: the spans are filtered, merged under eyecite's citations and the legal rules (which take
precedence, lexprep.ner.merge) and linked in the document (lexprep.ner.document); the mentions say
which backend found them in ``extractor``.

Backends are created once per process (per worker) by :func:`get_backend` and keep their model loaded.
"""

from __future__ import annotations

import json
import threading
from typing import Protocol, runtime_checkable

__all__ = ["NerBackend", "RawSpan", "BACKENDS", "get_backend", "backend_spans"]

#: one span found by a backend: (label, start, end, score 0..1, the backend's own label)
RawSpan = tuple[str, int, int, float, str]

BACKENDS = ("spacy", "transformers", "llm")


@runtime_checkable
class NerBackend(Protocol):
    """A statistical NER engine.

    Attributes:
        name: ``spacy``, ``transformers`` or ``llm`` (the mentions' ``extractor``).
    """

    name: str

    def spans(self, texts: list[str]) -> list[list[RawSpan]]:
        """The entities of each text, one list per text in order, each in text order.

        Raises:
            MissingDependencyError: the engine's package or model is not installed.
            ConfigurationError: the model or endpoint cannot be used as configured.
            TransientError: a passing failure (an API's timeout, 429, 5xx after the retries).
        """
        ...


class SpacyBackend:
    """spaCy (lexprep.ner.spacy_ner): the default."""

    name = "spacy"

    def __init__(self, settings):
        self.settings = settings

    def spans(self, texts: list[str]) -> list[list[RawSpan]]:
        from lexprep.ner.spacy_ner import spacy_mentions

        return spacy_mentions(texts, self.settings)


def backend_name(settings) -> str:
    """The backend ``settings`` (NerSettings) asks for; ``spacy`` when unset."""
    return getattr(settings, "backend", None) or "spacy"


def _key(settings) -> str:
    return json.dumps(settings.model_dump(mode="json"), sort_keys=True, default=str)


_cache: dict[tuple[str, str], NerBackend] = {}
_cache_lock = threading.Lock()


def _make(name: str, settings) -> NerBackend:
    if name == "spacy":
        return SpacyBackend(settings)
    if name == "transformers":
        from lexprep.ner.transformers_ner import TransformersBackend

        return TransformersBackend(settings)
    if name == "llm":
        from lexprep.ner.llm_ner import LlmBackend

        return LlmBackend(settings)
    from lexprep.errors import ConfigurationError

    raise ConfigurationError(f"unknown NER backend {name!r} (one of {', '.join(BACKENDS)})")


def get_backend(settings) -> NerBackend:
    """The backend for ``settings`` (NerSettings), created once per process per distinct settings (the
    model stays loaded; a few distinct settings at most are kept).

    Raises:
        ConfigurationError: an unknown backend name, or a model that cannot be loaded.
        MissingDependencyError: the backend's packages are not installed.
    """
    name = backend_name(settings)
    key = (name, _key(settings))
    with _cache_lock:
        backend = _cache.get(key)
        if backend is None:
            backend = _make(name, settings)
            if len(_cache) >= 8:
                _cache.pop(next(iter(_cache)))
            _cache[key] = backend
        return backend


def backend_spans(texts: list[str], settings) -> list[list[RawSpan]]:
    """``get_backend(settings).spans(texts)``."""
    if not texts:
        return []
    return get_backend(settings).spans(texts)
