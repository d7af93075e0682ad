"""The main flow: a matter's files become cleaned text, chunks, entities and a relationship graph."""

from __future__ import annotations

import time
from typing import Annotated

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import Field

from lexprep import progress
from lexprep.errors import ConfigurationError
from lexprep.report import build_summary, run_state
from lexprep.settings import Profile
from lexprep_prefect.tasks.common import (
    RESULT_STORAGE,
    as_state,
    get_store,
    load_settings,
    send_lexprep_logs_to_runs,
)
from lexprep_prefect.cluster import (
    batch_size,
    batches,
    check_store,
    normalized_address,
    prefect_api,
    register_warm_up,
    worker_count,
    worker_settings,
)
from lexprep_prefect.cluster import task_runner as cluster_task_runner
from lexprep_prefect.tasks.documents import (
    DocumentOutcome,
    discover_sources,
    process_document,
    process_documents,
    unseen_children,
)
from lexprep_prefect.tasks.matter import build_graph, matter_status, publish_summary, quality_gates, resolve_entities

#: a parameter that cannot be left empty (the deployment form and ``enforce_parameter_schema`` refuse "")
NonEmpty = Annotated[str, Field(min_length=1, pattern=r"\S")]


def _store_url(settings, db: str | None) -> str:
    """The store's URL; a deployment run must name one (a relative default would write into the
    temporary directory the worker runs it in, and be deleted with it)."""
    from prefect.runtime import deployment

    if db is None and settings.db_url is None and deployment.id is not None:
        raise ConfigurationError(
            "no store for this deployment run: pass the db parameter, set LEXPREP_DB_URL in the worker's "
            "environment, or name a lexprep-settings block with a database (settings_block)")
    return settings.resolved_db_url()


@flow(name="process-matter", flow_run_name="{matter}",
      log_prints=False, validate_parameters=True, persist_result=True, result_serializer="json",
      result_storage=RESULT_STORAGE)
def process_matter(
    source: NonEmpty,
    matter: NonEmpty,
    db: str | None = None,
    profile: Profile | None = None,
    retry_failed: bool = False,
    settings_overrides: dict | None = None,
    settings_block: str | None = None,
    cluster: str | None = None,
) -> dict:
    """Process every file under ``source`` into the matter ``matter`` in the store at ``db``.

    Args:
        source: a local path or fsspec URL (a file or a folder, walked recursively); absolute on a worker.
        matter: the matter's name; documents are identified by (matter, sha256).
        db: SQLAlchemy URL; default LEXPREP_DB_URL, else (only when run outside a deployment, e.g. by
            ``lexprep run``) a SQLite file ``lexprep.db`` in the working directory. A URL with a password
            does not belong here (flow parameters are stored by Prefect, shown in its UI): give it through
            LEXPREP_DB_URL or a ``lexprep-settings`` block.
        profile: local | cloud | gpu; None keeps the block's or LEXPREP_PROFILE (default local).
        retry_failed: process again documents that failed, were partial, unsupported or skipped last time.
        settings_overrides: nested settings on top of the environment (e.g. {"chunk": {"size_tokens": 256}}).
        settings_block: the name of a ``lexprep-settings`` block (profile, overrides, database and API
            credentials as SecretStr) applied before ``settings_overrides``.
        cluster: where the per-document work runs (default ``cluster.address``, else this flow's threads):
            ``local`` starts a Dask LocalCluster of ``cluster.workers`` processes for the run,
            ``tcp://host:8786`` uses a running Dask scheduler (lexprep_prefect.cluster).

    Returns:
        The run summary (lexprep.report.build_summary): ``matter``, ``source``, ``status`` (Store.status),
        ``processed``/``skipped``/``failed`` counts, ``failures`` [{file_name, status, error, earlier_run}],
        ``incomplete``, ``stage_seconds`` (summed over documents), ``phase_seconds`` (wall time of
        discover, documents, resolve, graph, quality). The run ends Completed, or Completed named
        "Completed with failures" when documents failed (lexprep.report.run_state); its result is
        persisted (JSON), so ``run_deployment(...).state.result()`` returns this summary.

    Raises:
        ConfigurationError: the store cannot be reached, none is named for a deployment run, the
            source does not exist, or a remote cluster was given a SQLite store (nothing is written).
        MissingDependencyError: a cluster was asked for without prefect-dask installed.
    """
    t_flow = time.perf_counter()
    started_at = time.time()
    send_lexprep_logs_to_runs()
    logger = get_run_logger()
    first_document: list[float] = []

    def first_document_started(event) -> None:
        if event.kind == "document" and not first_document:
            first_document.append(time.time())

    unsubscribe = progress.subscribe(first_document_started)
    try:
        settings = load_settings(profile, settings_overrides, db, settings_block)
        url = _store_url(settings, db)
        address = normalized_address(cluster if cluster is not None else settings.cluster.address)
        if address is not None:
            check_store(address, url)
        phases: dict[str, float] = {}
        store = get_store(url)
        matter_id = store.ensure_matter(matter)
        logger.info("matter %r into the store at %s (profile %s)", matter, store.safe_url, settings.profile)

        t0 = time.perf_counter()
        refs = discover_sources(source, settings.limits.follow_external_symlinks)
        phases["discover"] = time.perf_counter() - t0
        logger.info("found %d file(s) under %s in %.2f s", len(refs), source, phases["discover"])
        progress.emit("discovered", total=len(refs))
        run_id = store.start_run(matter_id)

        t0 = time.perf_counter()
        stage_seconds: dict[str, float] = {}
        outcomes: list[DocumentOutcome] = []
        common = dict(matter_id=matter_id, matter=matter, db=url, settings=settings, retry_failed=retry_failed)

        def collect(outcome: DocumentOutcome) -> None:
            if outcome.status == "duplicate":
                return
            outcomes.append(outcome)
            _log_outcome(logger, outcome)
            for stage, seconds in outcome.timings.items():
                stage_seconds[stage] = stage_seconds.get(stage, 0.0) + seconds

        if address is None:
            _documents_in_threads(refs, common, collect)
        else:
            _documents_on_cluster(address, refs, common, collect, logger)
        phases["documents"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        progress.emit("matter", stage="resolve")
        resolved = resolve_entities(matter_id, matter, url, settings)
        phases["resolve"] = stage_seconds["resolve"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        progress.emit("matter", stage="graph")
        graph = build_graph(matter_id, url, settings)
        phases["graph"] = stage_seconds["graph"] = time.perf_counter() - t0
        logger.info("resolved %d mention(s) into %d entities in %.2f s; %d relationships in %.2f s",
                    resolved.get("mentions", 0), resolved.get("entities", 0), phases["resolve"],
                    graph.get("relationships", 0), phases["graph"])

        quality = None
        if settings.quality.enabled:
            t0 = time.perf_counter()
            progress.emit("matter", stage="quality")
            quality = quality_gates(matter_id, run_id, url, settings, matter)
            phases["quality"] = time.perf_counter() - t0

        summary = build_summary(
            matter, source, outcomes, matter_status(matter_id, url), stage_seconds=stage_seconds,
            phase_seconds=phases, resolution=resolved, graph=graph,
            quality=None if quality is None else {
                "success": quality["success"], "quarantined": {k: len(v) for k, v in quality["quarantined"].items()},
                "failed_tables": quality.get("failed_tables", []), "engine": quality.get("engine"),
                "seconds": quality.get("seconds"),
            },
            flow_started_at=started_at, first_document_at=first_document[0] if first_document else None,
            flow_seconds=time.perf_counter() - t_flow,
        )
        store.finish_run(run_id, summary)
        publish_summary(summary)
    finally:
        unsubscribe()
    state = run_state(summary)
    (logger.warning if summary["failures"] else logger.info)("%s: %s", state.name, state.message)
    return as_state(state, summary)


def _documents_in_threads(refs: list, common: dict, collect) -> None:
    """Every document in ``settings.document_workers`` threads of this process: one ``process-document`` task
    run each; an attachment's bytes come back in its parent's outcome and go out again as a task run of its
    own."""

    def submit(file_name, ref, loaded, parent_id) -> PrefectFuture:
        return runner.submit(process_document, parameters={
            "file_name": file_name, "ref": ref, "loaded": loaded, "parent_id": parent_id, **common})

    with ThreadPoolTaskRunner(max_workers=max(1, common["settings"].document_workers)) as runner:
        pending: list[PrefectFuture] = [submit(ref.file_name, ref, None, None) for ref in refs]
        seen: set[str] = set()
        while pending:
            submitted: list[PrefectFuture] = []
            for future in as_completed(pending):
                # a failed document's task run ends Failed with its outcome as data; a task that raised
                # (the store went away) still fails the run, as before
                outcome = future.result(raise_on_failure=False)
                if isinstance(outcome, BaseException):
                    raise outcome
                collect(outcome)
                if outcome.status == "duplicate":
                    continue
                for child, data in unseen_children(outcome, seen):
                    progress.emit("discovered", total=1)
                    submitted.append(submit(child.file_name, None, (child, data), outcome.document_id))
            pending = submitted


def _documents_on_cluster(address: str, refs: list, common: dict, collect, logger) -> None:
    """Every document on the Dask cluster at ``address`` (lexprep_prefect.cluster): batches of files as
    ``process-documents`` task runs, run with the workers' settings; progress is told as batches return."""
    settings = common["settings"]
    runner = cluster_task_runner(address, settings)
    t0 = time.perf_counter()
    with prefect_api(address), runner:
        workers = worker_count(runner)
        register_warm_up(runner, settings)
        size = batch_size(len(refs), workers, settings.cluster.batch_size)
        logger.info("Dask cluster %s: %d worker(s), %d document(s) a task (%.1f s to start)",
                    "LocalCluster" if address == "local" else address, workers, size, time.perf_counter() - t0)
        params = {**common, "settings": worker_settings(settings)}
        futures = [runner.submit(process_documents, parameters={
            "refs": batch, "first": batch[0].file_name, "more": len(batch) - 1, **params})
            for batch in batches(refs, size)]
        for future in as_completed(futures):
            batch_outcomes = future.result(raise_on_failure=False)
            if isinstance(batch_outcomes, BaseException):
                raise batch_outcomes
            for outcome in batch_outcomes:
                if outcome.parent_id is not None:
                    progress.emit("discovered", total=1)
                progress.emit("document", outcome.file_name, outcome.status, final=True)
                collect(outcome)


def _log_outcome(logger, outcome: DocumentOutcome) -> None:
    """One line per document: its file name, status and seconds; the reason when it did not finish
    (never its text)."""
    seconds = sum(outcome.timings.values())
    if outcome.skipped:
        logger.info("%s: skipped (already %s)", outcome.file_name, outcome.status)
    elif outcome.error:
        logger.warning("%s: %s in %.2f s: %s", outcome.file_name, outcome.status, seconds, outcome.error)
    else:
        logger.info("%s: %s in %.2f s (%d page(s), %d chunk(s), %d mention(s))", outcome.file_name, outcome.status,
                    seconds, outcome.pages, outcome.chunks, outcome.mentions)


if __name__ == "__main__":  # pragma: no cover - `python -m lexprep_prefect.flows.process_matter PATH MATTER`
    import sys

    print(process_matter(sys.argv[1], sys.argv[2]))
