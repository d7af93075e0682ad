"""The main flow: a matter's files become cleaned text, chunks, entities and a relationship graph."""

from __future__ import annotations

import logging
import time

from prefect import flow
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from lexprep import progress
from lexprep.models import DocStatus
from tasks.common import get_store, load_settings
from tasks.documents import DocumentOutcome, discover_sources, process_document
from tasks.matter import build_graph, matter_status, publish_summary, quality_gates, resolve_entities

log = logging.getLogger("lexprep.flows")


@flow(name="process-matter", task_runner=ThreadPoolTaskRunner(max_workers=4), log_prints=False, validate_parameters=False)
def process_matter(
    source: str,
    matter: str,
    db: str | None = None,
    profile: str | None = None,
    retry_failed: bool = False,
    settings_overrides: dict | None = None,
    settings_block: str | None = None,
) -> dict:
    """Process every file under ``source`` into the matter ``matter`` in the store at ``db``.

    Args:
        source: a local path or fsspec URL (a file or a folder, walked recursively).
        matter: the matter's name; documents are identified by (matter, sha256).
        db: SQLAlchemy URL; default a SQLite file ``lexprep.db`` in the working directory. A URL with a
            password does not belong here (flow parameters are stored by Prefect, shown in its UI):
            give it through LEXPREP_DB_URL or a ``lexprep-settings`` block.
        profile: local | cloud | gpu; None keeps the block's or LEXPREP_PROFILE (default local).
        retry_failed: process again documents that failed, were partial, unsupported or skipped last time.
        settings_overrides: nested settings on top of the environment (e.g. {"chunk": {"size_tokens": 256}}).
        settings_block: the name of a ``lexprep-settings`` block (profile, overrides, database and API
            credentials as SecretStr) applied before ``settings_overrides``.

    Returns:
        The run summary: ``matter``, ``status`` (Store.status), ``processed``/``skipped`` counts,
        ``failures`` [{file_name, status, error}] (failed, unsupported, skipped), ``stage_seconds`` (summed over documents) and
        ``phase_seconds`` (wall time of discover, documents, resolve, graph).

    Raises:
        ConfigurationError: the store cannot be reached or the source does not exist (nothing is written).
    """
    t_flow = time.perf_counter()
    started_at = time.time()
    settings = load_settings(profile, settings_overrides, db, settings_block)
    url = settings.resolved_db_url()
    phases: dict[str, float] = {}
    store = get_store(url)
    matter_id = store.ensure_matter(matter)

    t0 = time.perf_counter()
    refs = discover_sources(source, settings.limits.follow_external_symlinks)
    phases["discover"] = time.perf_counter() - t0
    progress.emit("discovered", total=len(refs))
    run_id = store.start_run(matter_id)

    t0 = time.perf_counter()
    stage_seconds: dict[str, float] = {}
    outcomes: list[DocumentOutcome] = []
    common = dict(matter_id=matter_id, matter=matter, db=url, settings=settings, retry_failed=retry_failed)
    pending: list[PrefectFuture] = [
        process_document.submit(ref.file_name, ref, None, None, **common) for ref in refs
    ]
    seen: set[str] = set()
    while pending:
        submitted: list[PrefectFuture] = []
        for future in as_completed(pending):
            outcome: DocumentOutcome = future.result()
            if outcome.status == "duplicate":
                continue
            outcomes.append(outcome)
            for stage, seconds in outcome.timings.items():
                stage_seconds[stage] = stage_seconds.get(stage, 0.0) + seconds
            for child, data in outcome.children:
                key = f"{outcome.document_id}/{child.sha256}"
                if key in seen:
                    continue
                seen.add(key)
                progress.emit("discovered", total=1)
                submitted.append(process_document.submit(child.file_name, None, (child, data), outcome.document_id, **common))
        pending = submitted
    phases["documents"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    progress.emit("matter", stage="resolve")
    resolved = resolve_entities(matter_id, matter, url, settings)
    phases["resolve"] = time.perf_counter() - t0
    stage_seconds["resolve"] = phases["resolve"]
    t0 = time.perf_counter()
    progress.emit("matter", stage="graph")
    graph = build_graph(matter_id, url, settings)
    phases["graph"] = time.perf_counter() - t0
    stage_seconds["graph"] = phases["graph"]

    t0 = time.perf_counter()
    quality = None
    if settings.quality.enabled:
        progress.emit("matter", stage="quality")
        quality = quality_gates(matter_id, run_id, url, settings)
        phases["quality"] = time.perf_counter() - t0

    status = matter_status(matter_id, url)
    summary = {
        "matter": matter,
        "source": source,
        "status": status,
        "processed": sum(1 for o in outcomes if not o.skipped),
        "skipped": sum(1 for o in outcomes if o.skipped),
        "pages_processed": sum(o.pages for o in outcomes),
        "failures": [
            {"file_name": o.file_name, "status": o.status, "error": o.error}
            for o in outcomes
            if o.status in (DocStatus.failed.value, DocStatus.unsupported.value, DocStatus.skipped.value)
        ],
        "resolution": resolved,
        "graph": graph,
        "quality": None if quality is None else {
            "success": quality["success"], "quarantined": {k: len(v) for k, v in quality["quarantined"].items()},
            "failed_tables": quality.get("failed_tables", []),
        },
        "stage_seconds": stage_seconds,
        "phase_seconds": phases,
        "flow_started_at": started_at,
        "flow_seconds": time.perf_counter() - t_flow,
    }
    store.finish_run(run_id, summary)
    publish_summary(summary)
    return summary


if __name__ == "__main__":  # pragma: no cover - `python -m flows.process_matter PATH MATTER`
    import sys

    print(process_matter(sys.argv[1], sys.argv[2]))
