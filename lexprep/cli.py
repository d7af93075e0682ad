"""The ``lexprep`` command (typer + rich).

``lexprep run PATH --matter NAME`` processes a matter through the Prefect flow ``process-matter`` (on the
Prefect API lexprep_prefect.server.resolve_api picks: PREFECT_API_URL, the Prefect profile's, a server
``lexprep server start`` left running, else an ephemeral one); ``status`` prints the counts (``--watch``:
live); ``export`` writes the RAG-ready JSONL files; ``notify`` emits the event that triggers the
deployment; ``server start|stop|status`` manages a long-lived local Prefect server; ``entities merges|show|split|merge``
audits the entity merges and undoes or forces one (lexprep.cli_entities); ``demo-matter`` writes a small
demo matter.

Exit codes: 0 when the run completed (per-file failures are recorded, not fatal); 2 when it could
not proceed (bad arguments, unreachable database, missing source); 3 when a data-quality gate failed
with ``quality.on_failure=fail``; 1 for an unexpected error; 130 / 143 when it was interrupted
(Ctrl-C / SIGTERM: the workers are ended, the documents caught mid-way are marked, and the next run
redoes them).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Optional

#: when this command started (epoch seconds), before its third-party imports
_STARTED_AT = time.time()

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402
from rich.table import Table  # noqa: E402

from lexprep.errors import ConfigurationError, LexprepError, MissingDependencyError  # noqa: E402

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Legal matter files -> RAG-ready data.")
console = Console(stderr=False)
err = Console(stderr=True)

DB_HELP = "SQLAlchemy URL of the store (default: sqlite:///lexprep.db in the working directory)"


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
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
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


class _ApiStartError(Exception):
    """The temporary Prefect server did not come up (message: one line, the reason)."""


def _start_ephemeral_api() -> None:
    """Start Prefect's ephemeral API server now (as the flow would on first use) when no PREFECT_API_URL
    is set, its process started with Ctrl-C ignored (see :func:`_sigint_ignored`; only the start of
    the process, not the wait for it to answer).

    The wait is our own, against the wall clock: Prefect's (``SubprocessASGIServer.start``) counts only its
    0.1 s sleeps, so on a loaded machine it waits far longer than its timeout, and it keeps probing a
    server process that has already exited. The limit is PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS
    (``lexprep run`` sets 180 s unless the environment says otherwise).

    Raises:
        _ApiStartError: the server process exited (port conflicts aside) or did not answer in time.
    """
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    )

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return
    from prefect.server.api.server import SubprocessASGIServer

    from lexprep_prefect.server import wait_healthy

    server = SubprocessASGIServer()
    if server.running:
        return
    timeout = float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())

    def launch():
        with _sigint_ignored():
            return SubprocessASGIServer._run_uvicorn_command(server)

    server._run_uvicorn_command = launch  # a later start() by Prefect (after a stop) also ignores Ctrl-C
    if server.port is None:
        server.port = server.find_available_port()
    server.running = True
    server.server_process = launch()
    atexit.register(server.stop)
    deadline = time.monotonic() + timeout
    try:
        while not wait_healthy(server.api_url, max(0.0, deadline - time.monotonic()), server.server_process):
            code = server.server_process.poll()
            if code == 3 and time.monotonic() < deadline:  # uvicorn: the port was taken meanwhile
                server.port = server.find_available_port()
                server.server_process = launch()
            elif code is not None:
                raise _ApiStartError(f"its process exited with code {code} (run with --verbose, or try "
                                     "`prefect server start`, to see why)")
            else:
                raise _ApiStartError(f"it did not answer within {timeout:g} s "
                                     "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)")
    except BaseException:
        server.running = False
        server.stop()
        raise


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
    """Keep Prefect's per-task INFO lines off the terminal unless asked (set before prefect imports).

    Only the terminal handler is quieted: the run's logs (Prefect's and lexprep's own, at INFO) still go
    to the Prefect API, where the UI shows them.
    """
    if not verbose:
        # per-file failures are in the summary table; Prefect's own "task failed" lines would repeat them
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
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
    columns = ("documents", "pages", "chunks", "mentions", "entities", "relationships", "facts")
    for col in columns:
        totals.add_column(col, justify="right")
    totals.add_row(*(str(status.get(c, 0)) for c in columns))
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
    facts = dict(status.get("facts_by_kind", {}))
    if status.get("facts_rejected"):
        facts["(rejected: evidence not in the text)"] = status["facts_rejected"]
    grid2.add_row(
        _counts_table("facts by kind", facts),
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


def _cluster_address(cluster: str | None, settings, db_url: str) -> str | None:
    """The cluster the run uses (lexprep_prefect.cluster), checked before anything starts: one line and exit 2
    for an address that is not one, a remote cluster with a SQLite store, or prefect-dask not installed."""
    from lexprep_prefect.cluster import check_store, normalized_address

    try:
        address = normalized_address(cluster if cluster is not None else settings.cluster.address)
        if address is not None:
            check_store(address, db_url)
            if importlib.util.find_spec("prefect_dask") is None:  # not imported: Prefect is imported later
                raise MissingDependencyError("prefect-dask (for --cluster)", "lexprep[cluster]")
    except LexprepError as exc:
        _fail(str(exc))
    return address


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
    cluster: Optional[str] = typer.Option(
        None, "--cluster", help="run the documents on a Dask cluster: 'local' (a LocalCluster of cluster.workers "
        "processes) or a scheduler's tcp://host:8786 (its workers need a Postgres store); default "
        "LEXPREP_CLUSTER__ADDRESS, else this process's threads"),
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

        settings = _settings(profile, db)
        try:
            est = estimate(path, settings)
        except LexprepError as exc:
            _fail(str(exc))
        if json_out:
            print(json.dumps(asdict(est), indent=2))
        else:
            table = Table(title=f"estimate: {settings.ocr_engine()} OCR, {settings.asr_engine()} transcription",
                          title_justify="left", show_header=False)
            for key, value in [("files", est.files), ("pages", est.pages),
                               *[(f"pages to OCR ({k})", v) for k, v in est.ocr_pages.items()],
                               ("audio seconds", f"{est.audio_seconds:.1f}"),
                               *([("LLM fact calls", est.llm_calls), ("LLM tokens in / out",
                                   f"{est.llm_tokens_in:,} / {est.llm_tokens_out:,}")] if est.llm_calls else []),
                               ("estimated cost (USD)", f"{est.estimated_cost_usd:.4f}")]:
                table.add_row(key, str(value))
            console.print(table)
            for line in est.unreadable:
                console.print(f"[yellow]unreadable:[/] {line}")
        return
    settings = _settings(profile, db)
    db_url = settings.resolved_db_url()
    address = _cluster_address(cluster, settings, db_url)
    try:  # fail fast and write nothing when the store cannot be reached
        from lexprep.store import Store

        Store.open(db_url).close()
    except ConfigurationError as exc:
        _fail(str(exc))
    if _password_in(db):
        # a flow parameter is stored by Prefect (its database, API and UI): the URL travels in the
        # environment instead, where the flow's settings read it
        os.environ["LEXPREP_DB_URL"] = db
        db = None
    _quiet_prefect(verbose)
    api = _use_prefect_api()
    from lexprep import pipeline, progress

    from lexprep_prefect.flows.process_matter import process_matter  # imports Prefect

    # Ctrl-C / SIGTERM: this process ends its workers and the Prefect server itself (they are started with
    # Ctrl-C ignored: a terminal sends it to the whole process group, and they would print tracebacks)
    handler = _on_interrupt(db_url, matter)
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)

    # NER workers load their model while the flow run starts and the first documents are extracted (the
    # mentions stage then finds the pool warm). Not before Prefect's import: on 2 busy cores the workers'
    # model loading slowed that import down more than it saved (bench_startup: 7-11 s -> 3-4 s before
    # the first document under load, total wall no worse)
    with _sigint_ignored():
        _quiet_resource_tracker()
        if not settings.deployments.entities and address is None:  # else the deployment or the cluster loads it
            pipeline.mention_pool(settings.ner_settings()).start(wait=False)

    try:
        _start_ephemeral_api()
    except _ApiStartError as exc:
        _fail(f"the temporary Prefect server did not start: {exc}")

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
                summary = _in_thread(process_matter, path, matter, db=db, profile=profile, retry_failed=retry_failed,
                                     cluster=address)
        else:
            summary = _in_thread(process_matter, path, matter, db=db, profile=profile, retry_failed=retry_failed,
                                 cluster=address)
    except LexprepError as exc:
        from lexprep.quality import QualityGateError

        _fail(str(exc), code=3 if isinstance(exc, QualityGateError) else 2)
    except Exception as exc:
        reason = _api_failure(exc, api)
        if reason is None:
            raise
        _fail(reason)
    finally:
        unsubscribe()
        _RUN_FINISHED.set()
    flow_wall = time.perf_counter() - t_flow
    # Prefect start-up: importing Prefect and starting the (ephemeral) API, until the flow body ran,
    # plus the flow engine's own overhead around it
    startup = (t_flow - t_start) + max(0.0, flow_wall - summary["flow_seconds"])
    summary["startup_seconds"] = startup
    summary["wall_seconds"] = time.perf_counter() - t_start
    summary["prefect_api"] = api.origin
    if summary.get("first_document_at"):
        # from the start of this command (its imports included) to the first document's first stage
        summary["seconds_before_first_document"] = summary["first_document_at"] - _STARTED_AT
    if json_out:
        print(json.dumps(summary, indent=2, default=str))
    else:
        _print_summary(summary, startup)
        console.print(f"total wall time {summary['wall_seconds']:.1f} s (Prefect API: {api.origin})", soft_wrap=True)
        if api.url is None and startup > 5:
            console.print(f"[dim]{startup:.0f} s went to starting a temporary Prefect server: "
                          "`lexprep server start` keeps one running for the next runs[/]", soft_wrap=True)


def _use_prefect_api():
    """Choose the Prefect API (lexprep_prefect.server.resolve_api) and put it in PREFECT_API_URL before
    Prefect is imported; exits 2 with one line when a configured API does not answer."""
    from lexprep_prefect.server import ApiUnreachable, resolve_api

    try:
        api = resolve_api()
    except ApiUnreachable as exc:
        _fail(str(exc))
    if api.url is not None:
        os.environ["PREFECT_API_URL"] = api.url
    else:
        # the ephemeral server's start-up on a loaded 2-core machine can take 30-60 s (Prefect's default: 20)
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    return api


def _api_failure(exc: BaseException, api) -> str | None:
    """A one-line reason when ``exc`` means the Prefect API could not be reached or started, else None."""
    import httpx

    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, RuntimeError) and "ephemeral" in text.lower():
        return f"the temporary Prefect server did not start: {text[:300]}"
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)):
        return f"the Prefect API at {api.url or '(temporary server)'} stopped answering: {text[:300]}"
    return None


@app.command()
def status(
    matter: str = typer.Option(..., "--matter", "-m"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="one JSON object"),
    watch: bool = typer.Option(False, "--watch", "-w", help="a live view of the matter's documents until Ctrl-C"),
    interval: float = typer.Option(1.0, "--interval", help="seconds between refreshes of --watch", min=0.1),
    until_done: bool = typer.Option(False, "--until-done",
                                    help="with --watch: stop once a run has happened and none is in progress"),
) -> None:
    """Counts for a matter: documents by status, pages by method, chunks, mentions, entities, relationships.

    With --watch, a live view (from the store, so it follows a run wherever it executes): documents by
    status, the documents in a stage and which stage, and failures with their reasons as they happen.
    """
    if watch:
        _watch(matter, db, interval, until_done, json_out)
        return
    store, matter_id = _store_and_matter(db, matter)
    counts = store.status(matter_id)
    if json_out:
        print(json.dumps(counts, indent=2, sort_keys=True))
        return
    _print_summary({"matter": matter, "status": counts, "processed": counts.get("documents", 0), "skipped": 0})


def _watch_view(matter: str, snap, events: list[str]):
    """The rich renderable of ``lexprep status --watch``."""
    from rich.console import Group

    head = Table.grid(padding=(0, 2))
    state = "running" if snap.running else ("finished" if snap.run_finished_at else "idle")
    head.add_row(f"[bold]matter {matter!r}[/]", f"[{'yellow' if snap.running else 'green'}]{state}[/]",
                 f"{sum(snap.by_status.values())} documents")
    counts = _counts_table("documents by status", snap.by_status)
    stages = Table(title="in progress", title_justify="left", show_header=False, box=None, min_width=40)
    stages.add_column(style="bold")
    stages.add_column()
    for row in snap.in_progress[:12]:
        stages.add_row(row.file_name[:60], row.status)
    if len(snap.in_progress) > 12:
        stages.add_row(f"... {len(snap.in_progress) - 12} more", "")
    fails = Table(title=f"failures ({len(snap.failures)})", title_justify="left", show_header=False, box=None)
    fails.add_column(style="red")
    fails.add_column()
    for row in snap.failures[:10]:
        fails.add_row(row.file_name[:60], (row.error or row.status)[:100])
    grid = Table.grid(padding=(0, 4))
    grid.add_row(counts, stages)
    recent = "\n".join(f"[dim]{line}[/]" for line in events[-6:])
    return Group(head, grid, fails, recent)


def _watch(matter: str, db: str | None, interval: float, until_done: bool, json_out: bool) -> None:
    """``lexprep status --watch``: redraw in a terminal; elsewhere (a pipe, a log) one line per change."""
    from lexprep.watch import changes, take_snapshot

    try:
        store = _open_store(db)
    except ConfigurationError as exc:
        _fail(str(exc))
    matter_id = store.find_matter(matter)
    if matter_id is None:
        err.print(f"waiting for matter {matter!r} to appear in the store...")
        while matter_id is None:
            time.sleep(interval)
            matter_id = store.find_matter(matter)
    live = console.is_terminal and not json_out
    before = None
    events: list[str] = []
    try:
        if live:
            from rich.live import Live

            snap = take_snapshot(store, matter_id)
            with Live(_watch_view(matter, snap, events), console=console, refresh_per_second=4) as view:
                while True:
                    events += changes(before, snap)
                    view.update(_watch_view(matter, snap, events))
                    if until_done and snap.done:
                        break
                    time.sleep(interval)
                    before, snap = snap, take_snapshot(store, matter_id)
            return
        def say(line: str) -> None:
            print(json.dumps({"event": line}) if json_out else f"{time.strftime('%H:%M:%S')} {line}", flush=True)

        while True:
            snap = take_snapshot(store, matter_id)
            if before is None:
                say(f"matter {matter!r}: " + ", ".join(f"{n} {k}" for k, n in sorted(snap.by_status.items()))
                    + (f"; in progress: {', '.join(f'{r.file_name} ({r.status})' for r in snap.in_progress[:5])}"
                       if snap.in_progress else ""))
            for line in changes(before, snap) if before is not None else []:
                say(line)
            if until_done and snap.done:
                if json_out:
                    print(json.dumps(snap.to_dict()), flush=True)
                break
            before = snap
            time.sleep(interval)
    except KeyboardInterrupt:
        pass


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


from lexprep.cli_entities import entities_app  # noqa: E402

app.add_typer(entities_app, name="entities")

server_app = typer.Typer(add_completion=False, no_args_is_help=True,
                         help="A long-lived local Prefect server that `lexprep run` reuses (no start-up per run).")
app.add_typer(server_app, name="server")


@server_app.command("start")
def server_start(
    port: int = typer.Option(4200, "--port", help="port to listen on (0: a free one)"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    timeout: float = typer.Option(120.0, "--timeout", help="seconds to wait for it to answer"),
) -> None:
    """Start a Prefect server that keeps running after this command (its UI at the printed address).

    `lexprep run` then uses it instead of starting a temporary server each time. State and log in
    PREFECT_HOME (lexprep-server.json, lexprep-server.log). Exit 2 when it cannot start.
    """
    from lexprep_prefect.server import start_server

    try:
        state = start_server(host=host, port=port or None, timeout=timeout)
    except ConfigurationError as exc:
        _fail(str(exc))
    verb = "already running" if state.get("already_running") else "started"
    console.print(f"Prefect server {verb} (pid {state['pid']}): API {state['api_url']}, UI {state['ui_url']}",
                  soft_wrap=True)
    console.print(f"log: {state['log']}; stop it with `lexprep server stop`", soft_wrap=True)


@server_app.command("stop")
def server_stop() -> None:
    """Stop the server `lexprep server start` started."""
    from lexprep_prefect.server import stop_server

    state = stop_server()
    console.print("no lexprep Prefect server is running" if state is None else
                  f"stopped the Prefect server at {state['api_url']} (pid {state['pid']})", soft_wrap=True)


@server_app.command("status")
def server_status_cmd(json_out: bool = typer.Option(False, "--json", help="one JSON object")) -> None:
    """Whether the server is running and answering, and where. Exit 0 when it answers, 1 otherwise."""
    from lexprep_prefect.server import server_status

    state = server_status()
    if json_out:
        print(json.dumps(state, indent=2, default=str))
    elif state["running"]:
        console.print(f"running (pid {state['pid']}), {'answering' if state['healthy'] else 'NOT answering'} at "
                      f"{state['api_url']}; UI {state['ui_url']}; log {state['log']}", soft_wrap=True)
    else:
        console.print("not running" + (" (removed a stale record)" if state.get("stale") else ""), soft_wrap=True)
    raise typer.Exit(0 if state["running"] and state["healthy"] else 1)


@app.command()
def notify(
    path: str = typer.Argument(..., help="where the files landed: a folder or fsspec URL the workers can read"),
    matter: str = typer.Option(..., "--matter", "-m", help="the matter's name"),
) -> None:
    """Tell Prefect that files landed for a matter: emits the event `lexprep.files.landed`, which the
    `process-matter/local` deployment's trigger (prefect.yaml) turns into a run over PATH.

    Needs a Prefect API (PREFECT_API_URL, the Prefect profile's, or `lexprep server start`): exit 2
    when there is none or it does not answer.
    """
    if not path.strip() or not matter.strip():
        _fail("PATH and --matter must not be empty")
    if "://" not in path:
        if not Path(path).exists():
            _fail(f"source not found: {path}")
        path = str(Path(path).resolve())  # a worker runs elsewhere: never a relative path
    from lexprep_prefect.server import ApiUnreachable, resolve_api

    try:
        api = resolve_api()
    except ApiUnreachable as exc:
        _fail(str(exc))
    if api.url is None:
        _fail("no Prefect API to notify: set PREFECT_API_URL or run `lexprep server start`")
    os.environ["PREFECT_API_URL"] = api.url
    from lexprep_prefect.events import emit_files_landed

    try:
        event_id = emit_files_landed(path, matter)
    except Exception as exc:  # the websocket to the API failed
        _fail(f"could not send the event to {api.url}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    console.print(f"sent lexprep.files.landed for matter {matter!r} ({path}) to {api.url} (event {event_id})",
                  soft_wrap=True)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
