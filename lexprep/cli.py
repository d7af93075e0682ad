"""The ``lexprep`` command (typer + rich).

``lexprep run PATH --matter NAME`` processes a matter through the Prefect flow ``process-matter`` (on an
ephemeral Prefect server unless PREFECT_API_URL points at one); ``status`` prints the counts;
``export`` writes the RAG-ready JSONL files; ``demo-matter`` writes a small demo matter.

Exit codes: 0 when the run completed (per-file failures are recorded, not fatal); 2 when it could
not proceed (bad arguments, unreachable database, missing source); 3 when a data-quality gate failed
with ``quality.on_failure=fail``; 1 for an unexpected error; 130 / 143 when it was interrupted
(Ctrl-C / SIGTERM: the workers are ended, the documents caught mid-way are marked, and the next run
redoes them).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lexprep.errors import ConfigurationError, LexprepError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Legal matter files -> RAG-ready data.")
console = Console(stderr=False)
err = Console(stderr=True)

DB_HELP = "SQLAlchemy URL of the store (default: sqlite:///lexprep.db in the working directory)"
TERMINAL = {"done", "failed", "unsupported", "needs_ocr", "needs_transcription"}


def _settings(profile: str | None = None, db: str | None = None):
    from lexprep.settings import Settings

    data = {}
    if profile:
        data["profile"] = profile
    if db:
        data["db_url"] = db
    return Settings(**data)


def _open_store(db: str | None):
    from lexprep.store import Store

    return Store.open(_settings(db=db).resolved_db_url())


def _store_and_matter(db: str | None, matter: str):
    """The open store and the matter's id; exits 2 when the store is unreachable or the matter unknown."""
    try:
        store = _open_store(db)
    except ConfigurationError as exc:
        _fail(str(exc))
    matter_id = store.find_matter(matter)
    if matter_id is None:
        _fail(f"no matter named {matter!r} in this store")
    return store, matter_id


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _password_in(db: str | None) -> bool:
    """Whether the database URL carries a password (then it must not become a flow parameter)."""
    if not db:
        return False
    try:
        from sqlalchemy.engine import make_url

        return bool(make_url(db).password)
    except Exception:
        return "@" in db


def _child_pids() -> list[int]:
    """Process ids of this process's children (the Prefect server, worker processes), from /proc."""
    me, pids = os.getpid(), []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            if int(fields[1]) == me:
                pids.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return pids


def _end_children() -> None:
    """End every worker and child process now (SIGKILL: the workers hold nothing worth saving, and the
    Prefect server's SQLite database survives it; a graceful stop of the server prints tracebacks).
    multiprocessing's resource tracker is left to end when this process does (it then unlinks what the
    killed workers left; killed, it would be relaunched and complain)."""
    from lexprep import pipeline
    from lexprep.sandbox import kill_processes

    pipeline.stop_workers()
    kill_processes([pid for pid in _child_pids() if b"resource_tracker" not in _cmdline(pid)])


def _quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now with its stderr on /dev/null: when worker processes are
    killed under it (Ctrl-C, a budget) it prints tracebacks and leak warnings that mean nothing to a user."""
    from multiprocessing import resource_tracker

    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        resource_tracker.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""



@contextlib.contextmanager
def _sigint_ignored():
    """SIGINT ignored while processes are started: they inherit that (an ignored signal stays ignored
    across exec), so a terminal's Ctrl-C, sent to the whole process group, reaches only lexprep, which
    ends them itself (they would print tracebacks). Keep the window short: a Ctrl-C in it is lost."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start_ephemeral_api() -> None:
    """Start Prefect's ephemeral API server now (as the flow would on first use) when no PREFECT_API_URL
    is set, its process started with Ctrl-C ignored (see :func:`_sigint_ignored`; only the start of
    the process, not the wait for it to answer)."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    )

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    launch = getattr(server, "_run_uvicorn_command", None)
    if launch is not None and not server.running:
        def launch_ignoring_sigint():
            with _sigint_ignored():
                return launch()

        server._run_uvicorn_command = launch_ignoring_sigint
    # a first start migrates a fresh database: on a busy 2-core machine Prefect's default 20 s is short
    server.start(timeout=max(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value(), 60))


#: set once the run's summary is out (a signal then only hurries the exit)
_RUN_FINISHED = threading.Event()


def _on_interrupt(db_url: str, matter: str):
    """A SIGINT/SIGTERM handler for ``run``: end the workers, mark the documents caught mid-way, print
    one line and exit at once (a second signal exits without the marking)."""
    state = {"seen": False}

    def handler(signum, frame) -> None:
        if state["seen"]:
            os._exit(128 + signum)
        state["seen"] = True
        name = signal.Signals(signum).name
        _end_children()
        if _RUN_FINISHED.is_set():  # the summary is out: only the exit was left to do
            os._exit(128 + signum)
        marked = threading.Thread(target=_mark_interrupted, args=(db_url, matter, name), daemon=True)
        marked.start()
        marked.join(5.0)
        console.show_cursor(True)
        sys.stdout.flush()
        os.write(2, f"\ninterrupted ({name}): stopped; the next run redoes the documents that were in progress\n"
                 .encode())
        os._exit(128 + signum)

    return handler


def _mark_interrupted(db_url: str, matter: str, name: str) -> None:
    """Mark the documents caught mid-way; twice, the second time after a status write that was already
    under way when the run was stopped has landed (no new one starts: see sandbox.check_stopping)."""
    try:
        from lexprep.store import Store

        store = Store(db_url)
        try:
            matter_id = store.find_matter(matter)
            if matter_id is not None:
                reason = f"run interrupted ({name}) while in this status; redone by the next run"
                store.mark_interrupted(matter_id, reason)
                time.sleep(0.5)
                store.mark_interrupted(matter_id, reason)
        finally:
            store.close()
    except Exception:  # the database may be what is gone: the next run redoes them anyway
        pass


def _in_thread(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` in a helper thread, the main thread waiting: signals are then handled by
    lexprep's own handlers (Prefect installs its SIGTERM handler only in the main thread, and its
    graceful shutdown waits for every document in flight)."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="lexprep-flow", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.2)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _quiet_prefect(verbose: bool) -> None:
    """Keep Prefect's per-task INFO lines off the terminal unless asked (set before prefect imports)."""
    if not verbose:
        # per-file failures are in the summary table; Prefect's own "task failed" lines would repeat them
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
        # the ephemeral API server's own shutdown noise ("Error flushing 1 events" when it is stopped)
        os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
        # and the client's "Still processing items: N remaining..." while it drains at exit
        os.environ.setdefault("PREFECT_INTERNAL_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


class _ProgressView:
    """A rich progress display fed by lexprep.progress events: one bar for the matter, one line per
    document in flight showing its stage."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.total = 0
        self.overall = self.progress.add_task("documents", total=None)
        self.rows: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, event) -> None:
        with self.lock:
            if event.kind == "discovered":
                self.total += event.total
                self.progress.update(self.overall, total=self.total)
            elif event.kind == "document":
                row = self.rows.get(event.name)
                if row is None and not event.final:
                    row = self.rows[event.name] = self.progress.add_task(f"  {event.name[:48]}", total=1)
                if row is not None:
                    self.progress.update(row, description=f"  {event.name[:48]} [dim]{event.stage}[/]")
                if event.final:
                    if row is not None:
                        self.progress.remove_task(row)
                        del self.rows[event.name]
                    self.progress.advance(self.overall)
            elif event.kind == "matter":
                self.progress.update(self.overall, description=f"documents · {event.stage}")


def _counts_table(title: str, counts: dict) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False, min_width=34)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]) if isinstance(kv[1], (int, float)) else (0, kv[0])):
        table.add_row(str(key), f"{value:.2f} s" if isinstance(value, float) else str(value))
    return table


def _print_summary(summary: dict, startup_seconds: float | None = None) -> None:
    status = summary["status"]
    totals = Table(title=f"Matter {summary['matter']!r}", title_justify="left")
    for col in ("documents", "pages", "chunks", "mentions", "entities", "relationships"):
        totals.add_column(col, justify="right")
    totals.add_row(*(str(status.get(c, 0)) for c in ("documents", "pages", "chunks", "mentions", "entities", "relationships")))
    console.print(totals)
    grid = Table.grid(padding=(0, 4))
    grid.add_row(
        _counts_table("documents by status", status.get("documents_by_status", {})),
        _counts_table("pages by method", status.get("pages_by_method", {})),
        _counts_table("categories", status.get("categories", {})),
    )
    stages = dict(summary.get("stage_seconds", {}))
    times = {}
    if startup_seconds is not None:
        times["prefect start-up"] = startup_seconds
    times.update({f"{k} (wall)": v for k, v in summary.get("phase_seconds", {}).items()})
    grid.add_row(
        _counts_table("mentions by label", status.get("mentions_by_label", {})),
        _counts_table("entities by label", status.get("entities_by_label", {})),
        _counts_table("relationships by type", status.get("relationships_by_type", {})),
    )
    console.print(grid)
    grid2 = Table.grid(padding=(0, 4))
    grid2.add_row(
        _counts_table("seconds per stage (summed over documents)", {k: float(v) for k, v in stages.items()}),
        _counts_table("wall seconds", {k: float(v) for k, v in times.items()}),
    )
    console.print(grid2)
    console.print(f"processed {summary['processed']} documents, skipped {summary['skipped']} already done")
    if summary.get("failures"):
        fails = Table(title="not processed", title_justify="left")
        fails.add_column("file")
        fails.add_column("status")
        fails.add_column("reason")
        for f in summary["failures"]:
            fails.add_row(escape(f["file_name"]), f["status"], escape(f["error"] or ""))
        console.print(fails)


@app.command()
def run(
    path: str = typer.Argument(..., help="a folder (walked recursively), a file, or an fsspec URL"),
    matter: str = typer.Option(..., "--matter", "-m", help="the matter's name"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    profile: str = typer.Option("local", "--profile", help="local | cloud | gpu"),
    retry_failed: bool = typer.Option(
        False, "--retry-failed", help="process failed, partial, unsupported and skipped documents again"),
    json_out: bool = typer.Option(False, "--json", help="print the run summary as JSON instead of tables"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="show Prefect's task logs"),
    estimate_only: bool = typer.Option(False, "--estimate", help="print the expected work and cost, run nothing"),
) -> None:
    """Process every file under PATH into the matter's store, then print a summary."""
    t_start = time.perf_counter()
    if profile not in ("local", "cloud", "gpu"):
        _fail(f"unknown profile {profile!r} (local, cloud or gpu)")
    if "://" not in path and not Path(path).exists():
        _fail(f"source not found: {path}")
    if estimate_only:
        from dataclasses import asdict

        from lexprep.estimate import estimate

        try:
            est = estimate(path, _settings(profile, db))
        except LexprepError as exc:
            _fail(str(exc))
        if json_out:
            print(json.dumps(asdict(est), indent=2))
        else:
            settings = _settings(profile, db)
            table = Table(title=f"estimate: {settings.ocr_engine()} OCR, {settings.asr_engine()} transcription",
                          title_justify="left", show_header=False)
            for key, value in [("files", est.files), ("pages", est.pages),
                               *[(f"pages to OCR ({k})", v) for k, v in est.ocr_pages.items()],
                               ("audio seconds", f"{est.audio_seconds:.1f}"),
                               ("estimated cost (USD)", f"{est.estimated_cost_usd:.4f}")]:
                table.add_row(key, str(value))
            console.print(table)
            for line in est.unreadable:
                console.print(f"[yellow]unreadable:[/] {line}")
        return
    try:
        _open_store(db)  # fail fast and write nothing when the store cannot be reached
    except ConfigurationError as exc:
        _fail(str(exc))
    db_url = _settings(profile, db).resolved_db_url()
    if _password_in(db):
        # a flow parameter is stored by Prefect (its database, API and UI): the URL travels in the
        # environment instead, where the flow's settings read it
        os.environ["LEXPREP_DB_URL"] = db
        db = None
    _quiet_prefect(verbose)
    from lexprep import pipeline, progress

    # NER workers load their model while Prefect starts (the flow then finds the pool warm). They and the
    # Prefect server are started with Ctrl-C ignored (a terminal sends it to the whole process group, and
    # they would print tracebacks): this process ends them itself
    handler = _on_interrupt(db_url, matter)
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    with _sigint_ignored():
        _quiet_resource_tracker()
        pipeline.mention_pool(_settings(profile, db).ner).start(wait=False)

    from flows.process_matter import process_matter  # imports Prefect

    _start_ephemeral_api()

    if not verbose:  # Prefect's client services log "Still processing items..." on their own root-level loggers
        import logging

        for name in ("EventsWorker", "APILogWorker"):
            logging.getLogger(name).setLevel(logging.ERROR)

    view = None if json_out else _ProgressView()
    unsubscribe = progress.subscribe(view) if view else (lambda: None)
    t_flow = time.perf_counter()
    try:
        if view:
            with view.progress:
                summary = _in_thread(process_matter, path, matter, db=db, profile=profile, retry_failed=retry_failed)
        else:
            summary = _in_thread(process_matter, path, matter, db=db, profile=profile, retry_failed=retry_failed)
    except LexprepError as exc:
        from lexprep.quality import QualityGateError

        _fail(str(exc), code=3 if isinstance(exc, QualityGateError) else 2)
    finally:
        unsubscribe()
        _RUN_FINISHED.set()
    flow_wall = time.perf_counter() - t_flow
    # Prefect start-up: importing Prefect and starting the (ephemeral) API, until the flow body ran,
    # plus the flow engine's own overhead around it
    startup = (t_flow - t_start) + max(0.0, flow_wall - summary["flow_seconds"])
    summary["startup_seconds"] = startup
    summary["wall_seconds"] = time.perf_counter() - t_start
    if json_out:
        print(json.dumps(summary, indent=2, default=str))
    else:
        _print_summary(summary, startup)
        console.print(f"total wall time {summary['wall_seconds']:.1f} s")


@app.command()
def status(
    matter: str = typer.Option(..., "--matter", "-m"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="one JSON object"),
) -> None:
    """Counts for a matter: documents by status, pages by method, chunks, mentions, entities, relationships."""
    store, matter_id = _store_and_matter(db, matter)
    counts = store.status(matter_id)
    if json_out:
        print(json.dumps(counts, indent=2, sort_keys=True))
        return
    _print_summary({"matter": matter, "status": counts, "processed": counts.get("documents", 0), "skipped": 0})


@app.command()
def export(
    matter: str = typer.Option(..., "--matter", "-m"),
    out: Path = typer.Option(..., "--out", help="folder for documents/chunks/entities/relationships.jsonl"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Write the matter as RAG-ready JSONL files."""
    store, matter_id = _store_and_matter(db, matter)
    out.mkdir(parents=True, exist_ok=True)
    written = store.export(matter_id, out)
    for name, n in written.items():
        console.print(f"{out / name}: {n} rows")


@app.command()
def forget(
    key: str = typer.Argument(..., help="a document's sha256, its source path/URI, or its file name"),
    matter: str = typer.Option(..., "--matter", "-m"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Delete a document (and its attachments) with everything derived from it; re-resolve entities."""
    from lexprep import pipeline

    store, matter_id = _store_and_matter(db, matter)
    if "://" not in key and Path(key).exists():
        key = str(Path(key).resolve())
    result = pipeline.forget(store, matter_id, matter, key, _settings(db=db))
    if not result["documents"]:
        _fail(f"no document of matter {matter!r} matches {key!r}", code=1)
    console.print(f"forgot {result['documents']} document(s); the matter now has {result['entities']} entities "
                  f"and {result['relationships']} relationships")


@app.command("demo-matter")
def demo_matter(out: Path = typer.Argument(Path("demo_matter"), help="folder to write the demo matter into")) -> None:
    """Write a small demo matter (PDF opinion, DOCX contract, e-mail with attachment, text filing)."""
    from lexprep.demo import write_demo_matter

    for path in write_demo_matter(out):
        console.print(str(path))


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
