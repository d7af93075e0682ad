"""Statistical NER with a transformers token-classification model (the gpu profile's backend).

Any token-classification checkpoint works, by local path or hub name (``ner.transformers_model``); the
gpu profile's default is the seed's ``dbmdz/bert-large-cased-finetuned-conll03-english`` (CoNLL-2003
labels). The model is loaded once per process (:class:`TransformersBackend`, cached by
lexprep.ner.backends.get_backend) into transformers' ``token-classification`` pipeline:

- word pieces are grouped into entities by ``aggregation_strategy`` (``first`` by default: a word is
  never cut in two; see the transformers docs of ``TokenClassificationPipeline``);
- a window longer than the model's input (512 tokens for BERT) is read in overlapping pieces of
  ``transformers_max_tokens`` tokens sharing ``transformers_stride`` tokens (the pipeline's ``stride``;
  it needs a fast tokenizer), and the pieces' entities are joined back onto the window's offsets;
- windows go through the model ``transformers_batch_size`` at a time;
- on CUDA when available (``ner.device`` overrides), in float16 there when ``ner.fp16`` (halves memory
  and roughly doubles BERT-large throughput on tensor cores; never on CPU, where float16 is slow).

Labels: PER -> PERSON, ORG -> ORG, LOC -> GPE, MISC -> OTHER; a checkpoint with OntoNotes labels maps
as the spaCy backend does (lexprep.ner.spacy_ner.LABEL_MAP), anything else -> OTHER; the model's label
is kept as ``source_label``. Score: the pipeline's aggregated softmax score (0..1).
"""

from __future__ import annotations

import logging
import threading

from lexprep.errors import ConfigurationError, MissingDependencyError

log = logging.getLogger(__name__)

#: CoNLL-2003 labels -> lexprep's
CONLL_MAP = {"PER": "PERSON", "ORG": "ORG", "LOC": "GPE", "MISC": "OTHER"}

#: the gpu profile's default model (the seed's)
DEFAULT_MODEL = "dbmdz/bert-large-cased-finetuned-conll03-english"


def map_label(label: str) -> str:
    """lexprep's label for a model label (``B-``/``I-``/``E-``/``S-`` prefixes ignored)."""
    from lexprep.ner.spacy_ner import LABEL_MAP

    core = label.split("-", 1)[1] if len(label) > 2 and label[1] == "-" else label
    core = core.upper()
    return CONLL_MAP.get(core) or LABEL_MAP.get(core) or "OTHER"


def pick_device(requested: str | None) -> str:
    """``requested``, else ``cuda`` when torch sees a GPU, else ``cpu``."""
    if requested:
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class TransformersBackend:
    """A token-classification model behind the lexprep.ner.backends.NerBackend protocol.

    Args:
        settings: NerSettings (``transformers_model``, ``aggregation_strategy``, ``transformers_max_tokens``,
            ``transformers_stride``, ``transformers_batch_size``, ``device``, ``fp16``).

    Raises:
        MissingDependencyError: torch or transformers is not installed (``lexprep[gpu]``).
        ConfigurationError: the model cannot be loaded (a wrong path, no network for a hub name, not a
            token-classification model, a slow tokenizer with ``stride``).
    """

    name = "transformers"

    def __init__(self, settings):
        try:
            import torch
            from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline
        except ImportError as exc:
            raise MissingDependencyError("torch and transformers", "lexprep[gpu]") from exc
        self.settings = settings
        self.device = pick_device(settings.device)
        cuda = self.device.startswith("cuda")
        dtype = torch.float16 if cuda and settings.fp16 else torch.float32
        model_name = settings.transformers_model
        try:
            tokenizer = AutoTokenizer.from_pretrained(model_name)
            model = AutoModelForTokenClassification.from_pretrained(model_name, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot load token-classification model {model_name!r}: "
                                     f"{str(exc).splitlines()[0][:300]}") from exc
        if not getattr(tokenizer, "is_fast", False):
            raise ConfigurationError(f"model {model_name!r} has no fast tokenizer: offsets and stride need one")
        limit = int(getattr(model.config, "max_position_embeddings", 512) or 512)
        model_max = getattr(tokenizer, "model_max_length", limit) or limit
        max_tokens = min(limit, 512, model_max if model_max < 10**6 else limit)
        if settings.transformers_max_tokens:
            max_tokens = min(max_tokens, int(settings.transformers_max_tokens))
        tokenizer.model_max_length = max_tokens
        stride = min(int(settings.transformers_stride), max(0, max_tokens // 2 - 2))
        self.max_tokens, self.stride = max_tokens, stride
        model.eval()
        self.pipe = pipeline("token-classification", model=model, tokenizer=tokenizer, device=self.device,
                             aggregation_strategy=settings.aggregation_strategy, stride=stride)
        self.dtype = str(dtype).replace("torch.", "")
        self._lock = threading.Lock()
        log.info("NER model %s loaded on %s (%s, %d tokens per piece, stride %d)", model_name, self.device,
                 self.dtype, max_tokens, stride)

    def spans(self, texts: list[str]) -> list[list[tuple[str, int, int, float, str]]]:
        """Entities of each text: ``[(label, start, end, score, model label), ...]`` in text order."""
        out: list[list[tuple[str, int, int, float, str]]] = [[] for _ in texts]
        todo = [(i, t) for i, t in enumerate(texts) if t.strip()]
        if not todo:
            return out
        batch = max(1, int(getattr(self.settings, "transformers_batch_size", 8)))
        with self._lock:  # one pipeline, one caller at a time
            results = self.pipe([t for _, t in todo], batch_size=batch)
        for (i, text), found in zip(todo, results):
            spans = []
            for ent in found:
                start, end = ent.get("start"), ent.get("end")
                if start is None or end is None:
                    continue
                start, end = int(start), int(end)
                while start < end and text[start].isspace():
                    start += 1
                while end > start and text[end - 1].isspace():
                    end -= 1
                if end <= start:
                    continue
                src = str(ent.get("entity_group") or ent.get("entity") or "MISC")
                spans.append((map_label(src), start, end, round(float(ent.get("score", 0.0)), 4), src))
            spans.sort(key=lambda s: (s[1], s[2]))
            out[i] = spans
        return out
