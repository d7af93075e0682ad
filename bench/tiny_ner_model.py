"""A tiny BERT token-classification checkpoint (CoNLL-2003 labels), built and saved locally: no hub.

``build_tiny_ner_model(path)`` writes a randomly initialised BertForTokenClassification (2 layers,
hidden size 32; ~60 k parameters) with a fast WordPiece tokenizer whose vocabulary holds single
characters (and their ``##`` continuations), so any English text tokenizes without [UNK] storms, plus a
few whole words. Its predictions are random: it exercises the transformers backend's real loading and
inference path (tokenizer, model, the token-classification pipeline's aggregation and stride) and gives
a throughput figure for the machinery, not an accuracy.

``planted=True`` starts from the same random initialisation and then sets the embeddings, the encoder's
output projections and the classifier so that every token is labelled by a fixed table (PLANTED: "John"
B-PER, "Smith" I-PER, "Acme" B-ORG, "Corp" I-ORG, "Texas" B-LOC, "English" B-MISC, everything else O):
the expected entities are then known exactly, which tests the label mapping, the offsets and the joining
of strided pieces.

Used by tests/integration/test_ner_transformers.py and bench/bench_ner_backends.py.
"""

from __future__ import annotations

import string
from pathlib import Path

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
PLANTED = {"John": "B-PER", "Smith": "I-PER", "Acme": "B-ORG", "Corp": "I-ORG", "Texas": "B-LOC",
           "English": "B-MISC"}
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "of", "and", "to", "in", "a", "for", "on", "by", "with", "Court", "court", "v", "Inc", "LLC",
         "said", "sued", "signed", "speaking", "people", "behalf", *PLANTED]


def vocabulary() -> list[str]:
    chars = string.ascii_letters + string.digits + string.punctuation
    words = list(dict.fromkeys(SPECIALS + WORDS + list(chars) + ["##" + c for c in string.ascii_letters + string.digits]))
    return words


def build_tiny_ner_model(path: str | Path, *, planted: bool = False, max_positions: int = 128, seed: int = 0) -> Path:
    """Write the tiny model and its tokenizer to ``path`` (a folder, created); returns it.

    Args:
        path: the folder.
        planted: fix the weights so that PLANTED labels every token (see the module docstring).
        max_positions: the model's input length (tokens); texts longer are read with the pipeline's stride.
        seed: torch's seed for the random initialisation.
    """
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertForTokenClassification, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    words = vocabulary()
    vocab = {w: i for i, w in enumerate(words)}
    tk = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tk.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                        sep_token="[SEP]", mask_token="[MASK]", model_max_length=max_positions)
    config = BertConfig(vocab_size=len(words), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=max_positions, num_labels=len(LABELS),
                        id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)})
    torch.manual_seed(seed)
    model = BertForTokenClassification(config)
    if planted:
        with torch.no_grad():
            emb = model.bert.embeddings
            emb.word_embeddings.weight.zero_()
            emb.position_embeddings.weight.zero_()
            emb.token_type_embeddings.weight.zero_()
            emb.LayerNorm.weight.fill_(1.0)
            emb.LayerNorm.bias.zero_()
            for word, i in vocab.items():
                emb.word_embeddings.weight[i, LABELS.index(PLANTED.get(word, "O"))] = 10.0
            for layer in model.bert.encoder.layer:  # each block adds nothing to its residual
                for dense in (layer.attention.output.dense, layer.output.dense):
                    dense.weight.zero_()
                    dense.bias.zero_()
                for norm in (layer.attention.output.LayerNorm, layer.output.LayerNorm):
                    norm.weight.fill_(1.0)
                    norm.bias.zero_()
            model.classifier.weight.zero_()
            model.classifier.bias.zero_()
            for j in range(len(LABELS)):
                model.classifier.weight[j, j] = 1.0
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
