"""Matter-level tasks: entity resolution, the relationship graph, the quality gates, the run's artifacts."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from lexprep import pipeline
from lexprep.report import artifact_key, failure_rows, run_state, summary_markdown
from lexprep.settings import Settings

from lexprep_prefect.tasks.common import STAGE_TASK_OPTIONS, get_store


@task(name="resolve-entities", **STAGE_TASK_OPTIONS)
def resolve_entities(matter_id: str, matter: str, db: str, settings: Settings) -> dict:
    """Mentions -> canonical entities for the whole matter, with the merge log and the matter's overrides
    replayed; LLM-assisted resolution (cloud profile) takes a slot of the ``openai-api`` rate limit before
    each request."""
    def throttle() -> None:
        from prefect.concurrency.sync import rate_limit

        rate_limit("openai-api", strict=False)

    return pipeline.resolve_matter(get_store(db), matter_id, matter, settings, throttle=throttle)


@task(name="build-graph", **STAGE_TASK_OPTIONS)
def build_graph(matter_id: str, db: str, settings: Settings) -> dict[str, int]:
    """The matter's relationships, rebuilt from the store."""
    return pipeline.graph_matter(get_store(db), matter_id, settings)


@task(name="quality-gates", **STAGE_TASK_OPTIONS)
def quality_gates(matter_id: str, run_id: str, db: str, settings: Settings, matter: str = "") -> dict:
    """The quality gates over the matter's rows; results to the store and a table artifact
    (key ``lexprep-quality-<matter>``, see lexprep.report.artifact_key).

    Returns the report as a dict. Raises QualityGateError when ``quality.on_failure`` is ``fail`` and
    a check failed (the run then fails, after the report is saved).
    """
    from lexprep.quality import quality_rows, run_quality_gates

    report = run_quality_gates(get_store(db), matter_id, settings, run_id=run_id)
    if report.enabled:
        create_table_artifact(
            table=quality_rows(report) or [{"table": "all", "status": "passed"}],
            key=artifact_key("quality", matter or matter_id),
            description=report.summary(),
        )
    report.raise_for_failure()
    return report.to_dict()


@task(name="matter-status", **STAGE_TASK_OPTIONS)
def matter_status(matter_id: str, db: str) -> dict:
    """The store's counts for the matter (see Store.status)."""
    return get_store(db).status(matter_id)


@task(name="publish-summary", **STAGE_TASK_OPTIONS)
def publish_summary(summary: dict) -> None:
    """Two artifacts keyed per matter (lexprep.report.artifact_key), so each matter has its own history
    in the UI's Artifacts page: ``lexprep-summary-<matter>`` (Markdown: source, processed, skipped,
    failed with file and reason, documents by status, seconds per stage and phase) and
    ``lexprep-failures-<matter>`` (a table: file, status, reason, run; empty when nothing failed)."""
    matter = summary["matter"]
    state = run_state(summary)
    create_markdown_artifact(markdown=summary_markdown(summary), key=artifact_key("summary", matter),
                             description=f"lexprep run of matter {matter!r}: {state.message}"[:1000])
    create_table_artifact(
        table=failure_rows(summary) or {"file": [], "status": [], "reason": [], "run": []},
        key=artifact_key("failures", matter),
        description=(f"{len(summary['failures'])} document(s) of matter {matter!r} failed" if summary["failures"]
                     else f"no failed documents in matter {matter!r}"),
    )
