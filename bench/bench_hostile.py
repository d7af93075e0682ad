"""Hostile input at full size: wall time and peak resident memory of one document's processing.

Inputs (made here, in a temporary folder, by tests/hostile.py):

- ``blank``: a PDF of 2,000 blank pages (the issue saw 200 s: every page rendered for the OCR check);
- ``text``: a 300 MB text file on a single line (the issue saw no end after 600 s, 7.4 GB resident).

Each input runs in a fresh process (``--one``) that reads it as the flow does (``lexprep.sources.load``,
limits from the environment, LEXPREP_LIMITS__* included) and runs every per-document stage
(``lexprep.pipeline.run_document``: extraction in its worker process, OCR, cleaning, chunking, mentions
in the NER workers), without Prefect and without a store. Reported per input:

- wall seconds of the whole process (start, imports and model loading included) and per stage;
- peak RSS: the document's own process, its extraction worker (the sandbox's account), and the largest
  process of the whole tree (``os.wait4`` rusage: the NER and OCR workers are counted there);
- the outcome: status, the reason, pages by method, characters of text kept.

Usage: ``python bench/bench_hostile.py [--only blank|text] [--text-mb 300] [--pages 2000]``;
``--all`` runs every hostile input of issue 12 (each alone, at the issue's size) and prints one table row
each: status, reason, wall seconds, the document's stage seconds and the largest process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GiB, MiB = 1 << 30, 1 << 20


def run_one(path: Path) -> dict:
    """In the child process: the one path under ``path`` (a folder, or the file) through every per-document
    stage, as the flow takes it (a path that is not read, or cannot be, is reported with its reason)."""
    from lexprep import pipeline
    from lexprep.errors import InputError, LimitExceededError, TransientError
    from lexprep.settings import Settings
    from lexprep.sources import list_sources, load

    settings = Settings()
    [ref] = list_sources(str(path))
    worker: dict = {}
    extract_stage = pipeline.extract_stage
    pipeline.extract_stage = lambda s, d, st, stats=None: extract_stage(s, d, st, worker)  # the worker's stats
    t0 = time.perf_counter()
    source = data = None
    if ref.status is not None:
        result = pipeline.unread_result(ref, ref.status, ref.reason or ref.status)
    else:
        try:
            source, data = load(ref, int(settings.limits.max_file_bytes))
        except (InputError, TransientError) as exc:
            result = pipeline.unread_result(ref, getattr(exc, "status", "failed"), str(exc))
    read_s = time.perf_counter() - t0
    if source is not None and data is None:  # over limits.max_file_bytes: hashed as a stream
        try:
            pipeline.check_size(source.size, settings.limits)
        except LimitExceededError as exc:
            result = pipeline.failure(source, exc)
    elif source is not None:
        result = pipeline.run_document(source, data, settings)
    del data
    methods: dict[str, int] = {}
    for page in result.extracted.pages if result.extracted else []:
        methods[page.method] = methods.get(page.method, 0) + 1
    return {
        "status": result.status,
        "error": result.error,
        "pages_by_method": methods,
        "text_chars": len(result.clean.text) if result.clean else 0,
        "chunks": len(result.chunks),
        "mentions": len(result.mentions),
        "stage_seconds": {"read": read_s, **result.timings},
        "process_peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "extraction_worker_peak_rss": worker.get("peak_rss", 0),
    }


def corpus(folder: Path) -> list[tuple[str, Path]]:
    """Every hostile input of the issue, each alone in a folder under ``folder`` (at the issue's sizes)."""
    from tests import hostile

    files = {
        "300 MB text on one line": ("one-line.txt", None),
        "HTML, 200,000 nested tags": ("nested.html", hostile.nested_html(200_000)),
        "PDF page of 20,000 x 20,000 pt": ("huge-page.pdf", hostile.huge_page_pdf(20_000)),
        "DOCX zip bomb (5 GiB inflated)": ("bomb.docx", hostile.docx_bomb(5 << 30)),
        "e-mail nested 60 levels (message/rfc822)": ("nested.eml", hostile.nested_eml(60)),
        "e-mail forwarding a message inline": ("forward.eml", hostile.forwarded_inline_eml()),
        "1 KB PDF claiming 1,000,000 pages": ("million.pdf", hostile.claimed_pages_pdf()),
        "e-mail with a 2 MB To: header": ("huge-to.eml", hostile.huge_header_eml(2_000_000)),
        "valid PDF with an empty page tree": ("empty-tree.pdf", hostile.empty_tree_pdf()),
        "PDF of 2,000 blank pages": ("blank.pdf", hostile.blank_pages_pdf(2000)),
        "text with a few NUL bytes": ("nuls.txt", hostile.text_with_nuls()),
        "DOCX without word/document.xml": ("nomain.docx", hostile.docx_without_main_part()),
        "truncated .doc": ("cut.doc", hostile.truncated_doc()),
        "truncated .msg": ("cut.msg", hostile.truncated_msg()),
        "named pipe (FIFO)": ("pipe", "fifo"),
        "file that cannot be read (mode 000)": ("secret.txt", "unreadable"),
        "name with bytes that are not UTF-8": (os.fsdecode(b"caf\xe9.txt"), b"Bluewater Capital LLC.\n"),
        "file at a very deep path": ("deep", "deep"),
        "3 GB sparse file": ("sparse.bin", "sparse"),
        "symlink to /etc/shadow": ("shadow-link", "/etc/shadow"),
    }
    out = []
    for i, (label, (name, content)) in enumerate(files.items()):
        where = folder / f"{i:02d}"
        where.mkdir()
        path = where / name
        if content is None:
            hostile.write_single_line_text(path, 300_000_000)
        elif content == "fifo":
            os.mkfifo(path)
        elif content == "unreadable":
            path.write_text("secret")
            path.chmod(0)
        elif content == "deep":
            hostile.deep_file(where, b"Deep file about Ironwood Holdings Corp.\n")
        elif content == "sparse":
            with open(path, "wb") as fh:
                fh.truncate(3 << 30)
        elif isinstance(content, str):
            os.symlink(content, path)
        else:
            path.write_bytes(content)
        out.append((label, where))
    return out


def measure(path: Path) -> dict:
    """Run ``--one path`` in a fresh process; its report plus wall time and the tree's peak RSS."""
    t0 = time.perf_counter()
    prefix = []
    if os.geteuid() == 0 and shutil.which("setpriv"):  # file permissions apply to root too
        prefix = [shutil.which("setpriv"), "--bounding-set=-dac_override,-dac_read_search", "--"]
    proc = subprocess.Popen([*prefix, sys.executable, __file__, "--one", str(path)], stdout=subprocess.PIPE, cwd=REPO)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{path.name}: the run failed (exit {os.waitstatus_to_exitcode(status)})")
    report = json.loads(out.decode().strip().splitlines()[-1])
    report.update(wall_s=wall, tree_peak_rss=usage.ru_maxrss * 1024)
    return report


def show(name: str, size: int, report: dict) -> None:
    from lexprep.sandbox import format_bytes

    print(f"\n{name}: {format_bytes(size)} on disk")
    print(f"  outcome        {report['status']}" + (f" ({report['error']})" if report["error"] else ""))
    print(f"  pages          {report['pages_by_method'] or '-'}; text kept {report['text_chars']:,} characters, "
          f"{report['chunks']:,} chunks, {report['mentions']:,} mentions")
    print(f"  wall           {report['wall_s']:.1f} s (whole process, start-up and model loading included)")
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in report["stage_seconds"].items() if v >= 0.05)
    print(f"  stages         {stages}")
    print(f"  peak RSS       process {format_bytes(report['process_peak_rss'])}, extraction worker "
          f"{format_bytes(report['extraction_worker_peak_rss'])}, largest process of the tree "
          f"{format_bytes(report['tree_peak_rss'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["blank", "text"], help="run one input only")
    parser.add_argument("--all", action="store_true", help="every hostile input of issue 12, one line each")
    parser.add_argument("--pages", type=int, default=2000, help="blank pages of the PDF (default 2000)")
    parser.add_argument("--text-mb", type=int, default=300, help="size of the one-line text file in MB (default 300)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(Path(args.one))))
        return
    from tests import hostile

    if args.all:
        from lexprep.sandbox import format_bytes

        with tempfile.TemporaryDirectory(prefix="lexprep-bench-hostile-") as tmp:
            print("| input | status | reason | wall (s) | document stages (s) | peak RSS (largest process) |")
            print("|---|---|---|---|---|---|")
            for label, folder in corpus(Path(tmp)):
                r = measure(folder)
                reason = (r["error"] or "").replace("|", "/")
                print(f"| {label} | {r['status']} | {reason} | {r['wall_s']:.1f} | "
                      f"{sum(r['stage_seconds'].values()):.1f} | {format_bytes(r['tree_peak_rss'])} |", flush=True)
        return
    with tempfile.TemporaryDirectory(prefix="lexprep-bench-hostile-") as tmp:
        inputs = []
        if args.only in (None, "blank"):
            path = Path(tmp) / "blank" / "blank-pages.pdf"
            path.parent.mkdir()
            path.write_bytes(hostile.blank_pages_pdf(args.pages))
            inputs.append((f"{args.pages:,}-page PDF of blank pages", path))
        if args.only in (None, "text"):
            path = Path(tmp) / "text" / "one-line.txt"
            path.parent.mkdir()
            hostile.write_single_line_text(path, args.text_mb * 1_000_000)
            inputs.append((f"{args.text_mb} MB text file on one line", path))
        for name, path in inputs:
            show(name, path.stat().st_size, measure(path))


if __name__ == "__main__":
    main()
