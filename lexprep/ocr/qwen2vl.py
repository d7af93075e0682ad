"""Qwen2-VL through transformers (gpu profile): a vision-language model asked to transcribe the page.

The model, its tokenizer and its image processor load once per process from ``settings.qwen2vl_model``
(a local path, or a hub id where a hub is reachable), on ``settings.device`` or CUDA when available, in
bfloat16 on CUDA and float32 on CPU. The prompt is built the way Qwen2-VL's processor builds it (the
chat format with one ``<|image_pad|>`` per merged image patch), without the processor class itself,
which in recent transformers also wants a video processor (and torchvision) we never use. Generation is greedy with ``qwen2vl_max_new_tokens``. The model gives no calibrated
confidence: we report the mean probability of the generated tokens (exp of the mean log-probability).
"""

from __future__ import annotations

import threading
import time

from lexprep.errors import MissingDependencyError
from lexprep.ocr import OcrResult
from lexprep.settings import OcrSettings

PROMPT = "Transcribe all text on this page exactly, in reading order. Output only the text."


class Qwen2VLEngine:
    name = "qwen2-vl"

    def __init__(self, settings: OcrSettings):
        try:
            import torch
            from transformers import AutoImageProcessor, AutoTokenizer, Qwen2VLForConditionalGeneration
        except ImportError as exc:
            raise MissingDependencyError("transformers and torch", "lexprep[gpu]") from exc
        self.settings = settings
        self._torch = torch
        self.device = settings.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        path = settings.qwen2vl_model
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.image_processor = AutoImageProcessor.from_pretrained(path)
        self.model = Qwen2VLForConditionalGeneration.from_pretrained(path, dtype=dtype)
        self.model.to(self.device).eval()
        self._lock = threading.Lock()  # one generation at a time per process (thread-safe recognize)
        self.merge = getattr(self.image_processor, "merge_size", None) or self.model.config.vision_config.spatial_merge_size

    def recognize(self, image) -> OcrResult:
        """Transcribe one page image (PIL, any mode). Thread-safe: generations run one at a time."""
        with self._lock:
            return self._recognize(image)

    def _recognize(self, image) -> OcrResult:
        torch = self._torch
        started = time.perf_counter()
        vision = self.image_processor(images=[image.convert("RGB")], return_tensors="pt")
        grid = vision["image_grid_thw"][0]
        pads = int(grid.prod().item()) // (self.merge ** 2)
        prompt = (f"<|im_start|>user\n<|vision_start|>{'<|image_pad|>' * pads}<|vision_end|>{PROMPT}<|im_end|>\n"
                  "<|im_start|>assistant\n")
        text = self.tokenizer([prompt], return_tensors="pt", add_special_tokens=False)
        inputs = {"input_ids": text["input_ids"], "attention_mask": text["attention_mask"],
                  "pixel_values": vision["pixel_values"], "image_grid_thw": vision["image_grid_thw"]}
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        with torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=self.settings.qwen2vl_max_new_tokens,
                do_sample=False,
                output_scores=True,
                return_dict_in_generate=True,
            )
        new_tokens = out.sequences[0, inputs["input_ids"].shape[1]:]
        text = self.tokenizer.decode(new_tokens, skip_special_tokens=True).strip()
        confidence = None
        if out.scores:
            logprobs = [torch.log_softmax(score[0].float(), dim=-1)[tok].item() for score, tok in zip(out.scores, new_tokens)]
            if logprobs:
                confidence = round(float(torch.tensor(logprobs).mean().exp()), 4)
        dpi = image.info.get("dpi")
        return OcrResult(text, confidence, self.name, dpi=int(round(dpi[0])) if dpi else None,
                         elapsed_s=time.perf_counter() - started)
