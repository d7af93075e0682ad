"""Qwen2-VL's real loading and generation path on a tiny randomly initialised model the test builds.

The model hub is unreachable here, so the test makes a Qwen2-VL with one text and one vision layer, a
word-level tokenizer with Qwen2-VL's special tokens and a small image processor, saves them with
save_pretrained, and runs lexprep's engine on them (the output text is noise; the path is real).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch", reason="torch not installed (lexprep[gpu])")
pytest.importorskip("transformers", reason="transformers not installed (lexprep[gpu])")

pytestmark = pytest.mark.integration


def build(out: Path):
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders
    from transformers import PreTrainedTokenizerFast, Qwen2VLConfig, Qwen2VLForConditionalGeneration
    try:
        from transformers import Qwen2VLImageProcessorPil as IP
    except ImportError:
        from transformers import Qwen2VLImageProcessor as IP
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|image_pad|>", "<|video_pad|>"]
    words = "user assistant system transcribe all text on this page exactly in reading order output only the \n".split(" ")
    vocab = {t: i for i, t in enumerate(specials + ["[UNK]"] + sorted(set(words)) + [chr(c) for c in range(33, 127)])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(specials)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>", "vision_bos_token": "<|vision_start|>", "vision_eos_token": "<|vision_end|>"})
    ip = IP(min_pixels=56 * 56, max_pixels=112 * 112)
    V = len(vocab)
    cfg = Qwen2VLConfig(
        text_config=dict(vocab_size=V, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=1, max_position_embeddings=512,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
                         eos_token_id=vocab["<|im_end|>"], pad_token_id=vocab["<|endoftext|>"], bos_token_id=vocab["<|im_start|>"]),
        vision_config=dict(depth=1, embed_dim=32, hidden_size=32, num_heads=2, mlp_ratio=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2, in_channels=3),
        image_token_id=vocab["<|image_pad|>"], video_token_id=vocab["<|video_pad|>"],
        vision_start_token_id=vocab["<|vision_start|>"], vision_end_token_id=vocab["<|vision_end|>"],
    )
    model = Qwen2VLForConditionalGeneration(cfg)
    model.save_pretrained(out)
    fast.save_pretrained(out)
    ip.save_pretrained(out)
    return out


def test_qwen2vl_engine_loads_and_generates(tmp_path):
    from PIL import Image

    from lexprep.ocr import get_engine
    from lexprep.settings import OcrSettings

    model_dir = build(tmp_path / "tiny-qwen2-vl")
    settings = OcrSettings(qwen2vl_model=str(model_dir), qwen2vl_max_new_tokens=8, device="cpu", workers=0)
    engine = get_engine("qwen2-vl", settings)
    result = engine.recognize(Image.new("L", (120, 90), 255))
    assert result.engine == "qwen2-vl"
    assert isinstance(result.text, str)
    assert result.confidence is None or 0.0 <= result.confidence <= 1.0
    assert get_engine("qwen2-vl", settings) is engine  # loaded once per process


def test_qwen2vl_through_the_runner_escalation(tmp_path):
    """tesseract first; a blank page has confidence 0, so the runner escalates to qwen2-vl and records both."""
    import shutil

    if shutil.which("tesseract") is None:
        pytest.skip("tesseract not installed")
    from PIL import Image

    from lexprep.ocr.runner import ocr_one
    from lexprep.settings import OcrSettings

    model_dir = build(tmp_path / "tiny-qwen2-vl")
    settings = OcrSettings(qwen2vl_model=str(model_dir), qwen2vl_max_new_tokens=4, device="cpu", workers=0,
                           escalate_below=0.99)
    path = tmp_path / "blank.png"
    Image.new("L", (200, 100), 255).save(path)
    outcome = ocr_one(str(path), "image", 1, settings, ["tesseract", "qwen2-vl"])
    assert [a[0] for a in outcome.attempts] == ["tesseract", "qwen2-vl"]
    assert outcome.error is None
