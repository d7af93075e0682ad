"""Scanned-PDF OCR: lexprep's page runner vs ``ocrmypdf --force-ocr``, side by side on the same file.

The 30-page born-digital slip opinion ../shared/corpus/court/vector-pdf.pdf is rasterised (pypdfium2,
grayscale, 200 dpi by default) into an image-only PDF in a temporary folder (Pillow, one full-page image
per page, ``resolution=200``). Then, in one run:

- lexprep: ``ocr_pages(data, "pdf", pages, Settings())`` in this process, wall clock from the call to the
  return plus the pool's shutdown (the worker pool is started inside the timed span every repetition);
- ocrmypdf: ``ocrmypdf --force-ocr in.pdf out.pdf`` as a subprocess (wall clock from exec to exit), then
  its output's text layer is read with pypdfium2 (not timed).

Each is reported with its wall time, its CPU time (user + system of this process and its waited-for
children: the pool's workers and their tesseract processes, or ocrmypdf and everything it runs; a steadier
figure than wall time on a shared machine) and its CER (Levenshtein distance / reference length, summed
over pages, on whitespace-normalised text with line-end hyphens joined, see :func:`normalise`) against the
born-digital text layer of vector-pdf.pdf page by page. Pages whose original
has no text layer (29 and 30 are images in the original too) are OCRed and timed but left out of the CER:
there is no reference for them.

Goal: lexprep <= 0.5x ocrmypdf's wall time at equal or better CER (2 cores).

Usage::

    python bench/bench_ocr.py [-n 1] [--pages 30] [--raster-dpi 200]
        [--variant "tesseract_psm=6" --variant "dpi=300,use_embedded_resolution=false" ...] [--no-ocrmypdf]

Each ``--variant`` is a comma-separated list of OcrSettings fields over the defaults; without any, the
defaults alone are measured. The process's OCR settings come from ``Settings()`` (LEXPREP_* environment
variables apply).
"""

from __future__ import annotations

import argparse
import os
import resource
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LEXPREP_SHARED_DIR", REPO.parent / "shared"))
SOURCE = SHARED / "corpus" / "court" / "vector-pdf.pdf"
#: pages with less born-digital text than this have no usable reference (images in the original)
MIN_REFERENCE_CHARS = 50


def normalise(text: str) -> str:
    """Whitespace collapsed to single spaces, and line-end hyphens joined to the next line's word.

    pdfium's text extraction turns a hyphen that ends a line into U+FFFE (and may drop the line break)
    in the born-digital reference and in ocrmypdf's text layer alike, while OCR text keeps "-" and a
    newline; both sides are brought to "word-part" so a line break is not counted as an error.
    """
    text = text.replace("\ufffe", "-\n")
    text = re.sub(r"-[ \t]*\r?\n\s*", "-", text)
    return re.sub(r"\s+", " ", text).strip()


def text_layer(path: Path, pages: list[int]) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        out = []
        for n in pages:
            page = pdf[n - 1]
            textpage = page.get_textpage()
            out.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return out
    finally:
        pdf.close()


def rasterise(source: Path, target: Path, pages: list[int], dpi: int) -> None:
    """An image-only PDF: each page rendered grayscale at ``dpi`` and saved by Pillow as one full-page image."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(source))
    images = []
    try:
        for n in pages:
            page = pdf[n - 1]
            bitmap = page.render(scale=dpi / 72.0, grayscale=True)
            images.append(bitmap.to_pil().convert("L"))
            bitmap.close()
            page.close()
    finally:
        pdf.close()
    images[0].save(target, format="PDF", save_all=True, append_images=images[1:], resolution=float(dpi))


def cer(hypotheses: list[str], references: list[str]) -> tuple[float, int]:
    """(CER over the pages that have a reference, how many pages were scored)."""
    from rapidfuzz.distance import Levenshtein

    dist = total = scored = 0
    for hyp, ref in zip(hypotheses, references):
        ref = normalise(ref)
        if len(ref) < MIN_REFERENCE_CHARS:
            continue
        dist += Levenshtein.distance(normalise(hyp), ref)
        total += len(ref)
        scored += 1
    return (dist / total if total else float("nan")), scored


def parse_variant(text: str) -> dict:
    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, _, value = item.partition("=")
        out[key.strip()] = value.strip()
    return out


def cpu_seconds(*who: int) -> float:
    """User + system CPU seconds of ``resource.getrusage`` for each of ``who`` (RUSAGE_SELF, RUSAGE_CHILDREN)."""
    total = 0.0
    for w in who:
        usage = resource.getrusage(w)
        total += usage.ru_utime + usage.ru_stime
    return total


def run_lexprep(data: bytes, pages: list[int], overrides: dict) -> tuple[float, float, list[str], list]:
    from lexprep.ocr.runner import close_pools, ocr_pages
    from lexprep.settings import OcrSettings, Settings

    base = Settings()
    settings = base.model_copy(update={"ocr": OcrSettings(**{**base.ocr.model_dump(), **overrides})})
    close_pools()
    c0, t0 = cpu_seconds(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN), time.perf_counter()
    outcomes = ocr_pages(data, "pdf", pages, settings)
    close_pools()  # joins the workers, so their CPU (and their tesseract children's) is counted
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) - c0
    errors = [(o.number, o.error) for o in outcomes if o.error]
    if errors:
        print(f"  lexprep page errors: {errors}", file=sys.stderr)
    return wall, cpu, [o.text for o in outcomes], outcomes


def run_ocrmypdf(src: Path, workdir: Path, pages: list[int]) -> tuple[float, float, list[str]]:
    out = workdir / "ocrmypdf-out.pdf"
    if out.exists():
        out.unlink()
    c0, t0 = cpu_seconds(resource.RUSAGE_CHILDREN), time.perf_counter()
    proc = subprocess.run(["ocrmypdf", "--force-ocr", str(src), str(out)], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - c0
    if proc.returncode != 0:
        raise SystemExit(f"ocrmypdf failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, cpu, text_layer(out, list(range(1, len(pages) + 1)))


def describe(overrides: dict) -> str:
    from lexprep.settings import Settings

    ocr = Settings().ocr.model_copy(update={})
    merged = {**ocr.model_dump(), **overrides}
    dpi = f"embedded(<= {merged['max_dpi']})/{merged['dpi']}" if str(merged["use_embedded_resolution"]).lower() in (
        "true", "1") else f"{merged['dpi']}"
    return (f"lexprep {ocr.engine or 'tesseract'} dpi={dpi} psm={merged['tesseract_psm']} "
            f"workers={merged['workers']} threads={merged['tesseract_threads']}"
            + (f"  [{','.join(f'{k}={v}' for k, v in overrides.items())}]" if overrides else "  [defaults]"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--runs", type=int, default=1, help="repetitions of each system (median wall time)")
    parser.add_argument("--pages", type=int, default=30, help="OCR only the first N pages (default 30: all)")
    parser.add_argument("--raster-dpi", type=int, default=200, help="resolution of the image-only input PDF")
    parser.add_argument("--variant", action="append", default=[],
                        help="OcrSettings overrides, e.g. 'tesseract_psm=6' or 'dpi=300,use_embedded_resolution=false'")
    parser.add_argument("--no-ocrmypdf", action="store_true", help="measure lexprep only")
    args = parser.parse_args()

    if not SOURCE.exists():
        raise SystemExit(f"{SOURCE} not found (set LEXPREP_SHARED_DIR)")
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(SOURCE))
    pages = list(range(1, min(args.pages, len(doc)) + 1))
    doc.close()
    references = text_layer(SOURCE, pages)
    variants = [parse_variant(v) for v in args.variant] or [{}]
    if not args.no_ocrmypdf and shutil.which("ocrmypdf") is None:
        raise SystemExit("ocrmypdf is not installed (apt-get install ocrmypdf), or pass --no-ocrmypdf")

    rows = []  # (label, walls, cer, scored)
    with tempfile.TemporaryDirectory(prefix="lexprep-bench-ocr-") as tmp:
        workdir = Path(tmp)
        src = workdir / "scan.pdf"
        rasterise(SOURCE, src, pages, args.raster_dpi)
        data = src.read_bytes()
        print(f"input: {len(pages)} pages of {SOURCE.name} rasterised at {args.raster_dpi} dpi "
              f"({len(data) / 1e6:.1f} MB); {os.cpu_count()} CPUs; {args.runs} run(s) each", flush=True)
        # alternate the systems run by run, so neither is favoured by a warm cache or a busy machine
        walls: dict[int, list[float]] = {i: [] for i in range(len(variants) + 1)}
        cpus: dict[int, list[float]] = {i: [] for i in range(len(variants) + 1)}
        texts: dict[int, list[str]] = {}
        for run in range(args.runs):
            for i, overrides in enumerate(variants):
                wall, cpu, hyp, _ = run_lexprep(data, pages, overrides)
                walls[i].append(wall)
                cpus[i].append(cpu)
                texts[i] = hyp
                print(f"  run {run + 1} {describe(overrides)}: {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
            if not args.no_ocrmypdf:
                wall, cpu, hyp = run_ocrmypdf(src, workdir, pages)
                walls[len(variants)].append(wall)
                cpus[len(variants)].append(cpu)
                texts[len(variants)] = hyp
                print(f"  run {run + 1} ocrmypdf --force-ocr: {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
        for i, overrides in enumerate(variants):
            rows.append((describe(overrides), walls[i], cpus[i], *cer(texts[i], references)))
        if not args.no_ocrmypdf:
            rows.append(("ocrmypdf --force-ocr (defaults)", walls[len(variants)], cpus[len(variants)],
                         *cer(texts[len(variants)], references)))

    base = statistics.median(rows[-1][1]) if not args.no_ocrmypdf else None
    base_cpu = statistics.median(rows[-1][2]) if not args.no_ocrmypdf else None
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'system':<{width}} | wall s | pages/s | x ocrmypdf | CPU s | CPU x ocrmypdf | CER (pages scored)")
    print(f"{'-' * width}-|--------|---------|------------|-------|----------------|-------------------")
    for label, w, cpu, c, scored in rows:
        med, med_cpu = statistics.median(w), statistics.median(cpu)
        ratio = f"{med / base:.2f}" if base else "-"
        cpu_ratio = f"{med_cpu / base_cpu:.2f}" if base_cpu else "-"
        print(f"{label:<{width}} | {med:6.1f} | {len(pages) / med:7.2f} | {ratio:>10} | {med_cpu:5.1f} | "
              f"{cpu_ratio:>14} | {c:.2%} ({scored})")
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          "(other processes on the machine slow both systems)")
    unscored = [n for n, r in zip(pages, references) if len(normalise(r)) < MIN_REFERENCE_CHARS]
    if unscored:
        print(f"\npages {unscored} have no born-digital text (images in the original): OCRed and timed, not scored")


if __name__ == "__main__":
    main()
