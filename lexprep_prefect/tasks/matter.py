"""Matter-level tasks: entity resolution, the relationship graph, the run summary."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_table_artifact

from lexprep import pipeline
from lexprep.settings import Settings

from lexprep_prefect.tasks.common import STAGE_TASK_OPTIONS, get_store


@task(name="resolve-entities", **STAGE_TASK_OPTIONS)
def resolve_entities(matter_id: str, matter: str, db: str, settings: Settings) -> dict[str, int]:
    """Mentions -> canonical entities for the whole matter, with the merge log."""
    return pipeline.resolve_matter(get_store(db), matter_id, matter, settings)


@task(name="build-graph", **STAGE_TASK_OPTIONS)
def build_graph(matter_id: str, db: str, settings: Settings) -> dict[str, int]:
    """The matter's relationships, rebuilt from the store."""
    return pipeline.graph_matter(get_store(db), matter_id, settings)


@task(name="quality-gates", **STAGE_TASK_OPTIONS)
def quality_gates(matter_id: str, run_id: str, db: str, settings: Settings) -> dict:
    """Great Expectations suites over the matter's rows; results to the store and a table artifact.

    Returns the report as a dict. Raises QualityGateError when ``quality.on_failure`` is ``fail`` and
    a check failed (the run then fails, after the report is saved).
    """
    from lexprep.quality import quality_rows, run_quality_gates

    report = run_quality_gates(get_store(db), matter_id, settings, run_id=run_id)
    if report.enabled:
        create_table_artifact(
            table=quality_rows(report) or [{"table": "all", "status": "passed"}],
            key="lexprep-quality",
            description=report.summary(),
        )
    report.raise_for_failure()
    return report.to_dict()


@task(name="matter-status", **STAGE_TASK_OPTIONS)
def matter_status(matter_id: str, db: str) -> dict:
    """The store's counts for the matter (see Store.status)."""
    return get_store(db).status(matter_id)


def summary_rows(summary: dict) -> list[dict]:
    """The run summary as rows of (section, key, value) for a table artifact."""
    rows = []
    status = summary["status"]
    for section in ("documents_by_status", "pages_by_method", "mentions_by_label", "entities_by_label",
                    "relationships_by_type", "categories"):
        for key, value in sorted(status.get(section, {}).items()):
            rows.append({"section": section, "key": key, "value": value})
    for key in ("documents", "pages", "chunks", "mentions", "entities", "relationships"):
        rows.append({"section": "totals", "key": key, "value": status.get(key, 0)})
    for key, value in summary["stage_seconds"].items():
        rows.append({"section": "stage_seconds", "key": key, "value": round(value, 3)})
    for key, value in summary["phase_seconds"].items():
        rows.append({"section": "phase_seconds", "key": key, "value": round(value, 3)})
    return rows


@task(name="publish-summary", **STAGE_TASK_OPTIONS)
def publish_summary(summary: dict) -> None:
    """A Prefect table artifact (key ``lexprep-run-summary``) with the run's counts and timings."""
    create_table_artifact(
        table=summary_rows(summary),
        key="lexprep-run-summary",
        description=f"lexprep run of matter {summary['matter']!r}: counts by status, label and stage",
    )
