"""NER backend throughput in one run: the spaCy backend and the transformers backend (a tiny BERT built
here, bench/tiny_ner_model.py; random weights, so a figure for the machinery, not for BERT-large) on the
same chunks, on CPU (CUDA when torch sees one and --device allows).

Chunks: the born-digital court PDFs of ../shared/corpus when present (else the demo matter), extracted,
cleaned and chunked by lexprep's own stages (``chunk.size_tokens`` 512, as a run makes them). For each
backend, after one warm-up pass:

- ``model``: the backend's spans of every chunk (``backend.spans(chunks)``, batched as the pool batches),
- ``mentions``: the whole mention path per chunk (``document_mentions``: backend, eyecite, rules,
  filters, document links),

each as chunks/s (median of ``-n`` repetitions), in the calling process with 1 torch/BLAS thread unless
``--threads``. Usage: ``python bench/bench_ner_backends.py [-n 3] [--max-chunks 300] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LEXPREP_SHARED_DIR", REPO.parent / "shared"))
sys.path.insert(0, str(REPO))


def corpus_chunks(max_chunks: int) -> tuple[list[str], str]:
    """Chunk texts of the shared court PDFs (or the demo matter), and where they came from."""
    from lexprep import pipeline
    from lexprep.settings import Settings
    from lexprep.sources import describe

    settings = Settings(ner={"workers": 0}, limits={"workers": 0})
    files = sorted((SHARED / "corpus" / "court").glob("*.pdf")) if (SHARED / "corpus").is_dir() else []
    origin = f"{len(files)} born-digital court PDFs of {SHARED / 'corpus' / 'court'}"
    tmp = None
    if not files:
        from lexprep.demo import write_demo_matter

        tmp = Path(tempfile.mkdtemp(prefix="lexprep-bench-"))
        files = [p for p in write_demo_matter(tmp) if p.suffix in (".pdf", ".docx", ".txt")]
        origin = "the demo matter (../shared not found)"
    chunks: list[str] = []
    for path in files:
        data = path.read_bytes()
        source = describe(str(path), path.name, data)
        extracted = pipeline.extract_stage(source, data, settings)
        clean = pipeline.clean_stage(extracted, settings)
        chunks.extend(c.text for c in pipeline.chunk_stage(clean, settings))
        if len(chunks) >= max_chunks:
            break
    return chunks[:max_chunks], origin


def timed(fn, repeat: int) -> float:
    """Median seconds of ``fn()`` over ``repeat`` runs, after one warm-up run."""
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=3, help="timed repetitions (median reported)")
    ap.add_argument("--max-chunks", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1, help="torch and BLAS threads")
    ap.add_argument("--device", default="cpu", help="torch device of the transformers backend (cpu, cuda)")
    ap.add_argument("--json", action="store_true", help="one JSON object")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    from bench.tiny_ner_model import build_tiny_ner_model
    from lexprep.ner import document_mentions
    from lexprep.ner.backends import get_backend
    from lexprep.settings import NerSettings

    chunks, origin = corpus_chunks(args.max_chunks)
    model_dir = build_tiny_ner_model(Path(tempfile.mkdtemp(prefix="lexprep-tiny-bert-")), max_positions=512)
    configs = {
        "spacy": NerSettings(backend="spacy", workers=0),
        "transformers (tiny BERT)": NerSettings(backend="transformers", transformers_model=str(model_dir), workers=0,
                                                device=args.device),
    }
    results = {}
    for name, ns in configs.items():
        backend = get_backend(ns)
        model_s = timed(lambda: backend.spans(chunks), args.n)
        mentions_s = timed(lambda: [document_mentions(c, ns) for c in chunks], args.n)
        results[name] = {"model_chunks_per_s": round(len(chunks) / model_s, 1),
                         "mentions_chunks_per_s": round(len(chunks) / mentions_s, 1),
                         "model_s": round(model_s, 3), "mentions_s": round(mentions_s, 3)}
    report = {"chunks": len(chunks), "chars": sum(map(len, chunks)), "from": origin, "threads": args.threads,
              "device": args.device, "torch": torch.__version__, "repetitions": args.n, "backends": results}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{len(chunks)} chunks ({report['chars']:,} characters) from {origin}; {args.threads} thread(s), "
          f"transformers on {args.device}, median of {args.n}")
    print(f"{'backend':28} {'model chunks/s':>15} {'mentions chunks/s':>18}")
    for name, r in results.items():
        print(f"{name:28} {r['model_chunks_per_s']:>15} {r['mentions_chunks_per_s']:>18}")


if __name__ == "__main__":
    main()
