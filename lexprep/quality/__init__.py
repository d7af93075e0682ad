"""Data-quality gates: Great Expectations suites over a matter's stored rows.

:func:`run_quality_gates` loads the matter's documents, pages, chunks, mentions and entities into
pandas DataFrames (one read transaction; no document text, only lengths computed by the database),
validates one suite per table in one batch per table, saves the :class:`QualityReport` in the store's ``quality_results`` table and acts on
failures per ``settings.quality.on_failure``:

- ``fail``: nothing is flagged; ``report.should_fail`` is True and :meth:`QualityReport.raise_for_failure`
  raises :class:`QualityGateError` (the flow calls it to fail the run).
- ``quarantine`` (default): the matter's earlier flags are cleared, and the rows that fail a check are
  flagged ``quarantined`` (a failing page flags its document; entity failures are recorded only) and
  left out of the export.
- ``warn``: recorded only.

``report.success`` is always the validation outcome (False when any check failed, whatever the mode).

Two engines evaluate the same checks (:func:`choose_engine`): Great Expectations (an ephemeral GX
context, nothing written to disk; imported on first use, 3-5 s once per process, never at import
time) and :mod:`lexprep.quality.builtin` (the same expectations with GX's semantics, in pandas: no
fixed cost). By default (``quality.engine=auto``) a matter below ``quality.gx_min_rows`` rows is
checked by the built-in engine, so a small run does not pay GX's import; tests/unit/test_quality.py
checks that both engines report the same failures on the same rows.

The checks themselves are in :mod:`lexprep.quality.suites`; :func:`quality_rows` flattens a report
into rows for a Prefect table artifact.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from lexprep.errors import LexprepError, MissingDependencyError, TransientError
from lexprep.quality.builtin import expectation_type, validate_builtin
from lexprep.quality.frames import load_frames
from lexprep.quality.suites import DOC_STATUSES, LABELS, PAGE_METHODS, TABLES, Check, checks
from lexprep.settings import Settings
from lexprep.store import schema as t
from lexprep.store.db import error_reason

if TYPE_CHECKING:
    import pandas as pd

    from lexprep.store import Store

__all__ = [
    "DOC_STATUSES",
    "LABELS",
    "PAGE_METHODS",
    "SAMPLE_IDS",
    "TABLES",
    "Check",
    "CheckResult",
    "QualityGateError",
    "QualityReport",
    "checks",
    "choose_engine",
    "quality_rows",
    "run_quality_gates",
]

log = logging.getLogger(__name__)

#: ids kept per failed expectation in the report (``sample_ids``); every failing id is in ``quarantined``
SAMPLE_IDS = 20

_CHECK_KEY = "lexprep_check"


class QualityGateError(LexprepError):
    """The quality gates failed and ``quality.on_failure`` is ``fail`` (the message names tables and counts)."""


@dataclass
class QualityReport:
    """The outcome of :func:`run_quality_gates`.

    Attributes:
        success: every check of every table passed.
        suites: ``{table: {"success", "evaluated" (expectations run), "rows" (rows validated),
            "seconds", "failed_expectations": [{"expectation" (GX type), "check" (in words),
            "column", "unexpected_count", "sample_ids" (at most SAMPLE_IDS), "error" (if the
            expectation raised)}]}}``.
        quarantined: ``{"documents"|"chunks"|"mentions"|"facts": [ids flagged]}`` (quarantine mode only;
            empty lists otherwise).
        matter_id, run_id: what was validated, and the store run it belongs to (if any).
        on_failure: the mode in force (fail | quarantine | warn).
        enabled: False when ``quality.enabled`` is off (nothing was validated or saved).
        result_id: the ``quality_results`` row the report was saved as.
        seconds: wall time of the whole gate (loading, validation, quarantine, saving).
        gx_version: the Great Expectations version used (None with the built-in engine).
        failed_tables: the tables with a failed check, in TABLES order.
        engine: ``gx`` (Great Expectations) or ``builtin`` (:mod:`lexprep.quality.builtin`: the same
            checks, evaluated with pandas; see :func:`choose_engine`).
    """

    success: bool
    suites: dict[str, dict[str, Any]]
    quarantined: dict[str, list[str]]
    matter_id: str
    on_failure: str
    run_id: str | None = None
    enabled: bool = True
    result_id: str | None = None
    seconds: float = 0.0
    gx_version: str | None = None
    failed_tables: list[str] = field(default_factory=list)
    engine: str = "gx"

    @property
    def should_fail(self) -> bool:
        """The run must fail: a check failed and ``on_failure`` is ``fail``."""
        return self.enabled and not self.success and self.on_failure == "fail"

    def summary(self) -> str:
        """One line without data values, e.g. ``chunks: 1 check failed (3 rows); mentions: ...``."""
        if not self.enabled:
            return "quality gates disabled"
        if self.success:
            return f"quality gates passed ({sum(s['rows'] for s in self.suites.values())} rows)"
        parts = []
        for table in self.failed_tables:
            failed = self.suites[table]["failed_expectations"]
            rows = sum(f["unexpected_count"] or 0 for f in failed)
            parts.append(f"{table}: {len(failed)} check{'s' if len(failed) != 1 else ''} failed ({rows} rows)")
        return "; ".join(parts)

    def raise_for_failure(self) -> None:
        """Raise :class:`QualityGateError` when :attr:`should_fail`."""
        if self.should_fail:
            raise QualityGateError(f"quality gates failed for matter {self.matter_id}: {self.summary()}")

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON data (what is stored in ``quality_results.report``)."""
        return asdict(self)


def _import_gx() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import great_expectations as gx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("great-expectations", "great-expectations>=1.3,<2") from exc
    return gx


def _condition(condition: Any) -> Any:
    from great_expectations.expectations.row_conditions import Column

    result = None
    for column, op, value in condition:
        col = Column(column)
        term = {
            "==": col.__eq__, "!=": col.__ne__, "<": col.__lt__, "<=": col.__le__, ">": col.__gt__, ">=": col.__ge__,
        }[op](value)
        result = term if result is None else result & term
    return result


def _expectation(gx: Any, index: int, check: Check) -> Any:
    cls = getattr(gx.expectations, check.expectation)
    kwargs = dict(check.kwargs)
    if check.condition:
        kwargs["row_condition"] = _condition(check.condition)
    return cls(**kwargs, meta={_CHECK_KEY: index})


def _raised(exception_info: Any) -> str | None:
    """The message of an exception GX caught while evaluating an expectation, if any."""
    if not exception_info:
        return None
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            return str(info.get("exception_message") or "expectation raised an exception").splitlines()[0]
    return None


def _context(gx: Any) -> Any:
    """An ephemeral GX context: in-memory stores, no docs site, no progress bars, no analytics."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@dataclass
class CheckResult:
    """One check evaluated on one table's frame (by either engine).

    ``positions`` are the failing rows' positions in the frame (in frame order); ``error`` is set
    when evaluating the check raised.
    """

    index: int
    success: bool
    unexpected_count: int | None
    positions: list[int]
    error: str | None = None


def _validate_gx(gx: Any, context: Any, table: str, df: pd.DataFrame,
                 table_checks: list[tuple[int, Check]]) -> list[CheckResult]:
    """Validate one table's frame with Great Expectations, in one batch.

    The suite is validated on the batch directly (``Batch.validate``): ``ValidationDefinition.run``
    would also serialise every result into the context's results store, which doubles the time when
    many rows fail. GX reports failing rows by the frame's index (a RangeIndex, so positions): asking
    it for ``unexpected_index_column_names`` makes it look every failing row up one at a time.
    """
    asset = context.data_sources.get("lexprep").add_dataframe_asset(name=table)
    batch_definition = asset.add_batch_definition_whole_dataframe(f"{table}_all")
    suite = context.suites.add(
        gx.ExpectationSuite(name=table, expectations=[_expectation(gx, i, c) for i, c in table_checks])
    )
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(
        suite,
        result_format={
            "result_format": "COMPLETE",
            "return_unexpected_index_query": False,
            # positions only: the failing values are not needed, and serialising them dominates the
            # run time when many rows fail
            "exclude_unexpected_values": True,
        },
    )
    out = []
    for r in result.results:
        res = r.result or {}
        out.append(CheckResult(
            index=int(r.expectation_config.meta[_CHECK_KEY]),
            success=bool(r.success),
            unexpected_count=res.get("unexpected_count"),
            positions=[int(i) for i in res.get("unexpected_index_list") or []],
            error=_raised(r.exception_info),
        ))
    return out


def _summarize(df: pd.DataFrame, table_checks: list[tuple[int, Check]], results: list[CheckResult],
               started: float) -> tuple[dict[str, Any], dict[str, set[str]]]:
    """A table's suite summary and its failing ids by target table, from either engine's results.

    Positions are mapped to ids with numpy (one array per id column).
    """
    columns = {name: df[name].to_numpy(dtype=object) for name in ["id", *{c.quarantine[1] for _, c in table_checks
                                                                         if c.quarantine}]}
    by_index = dict(table_checks)
    failed: list[dict[str, Any]] = []
    flagged: dict[str, set[str]] = {}
    for r in results:
        if r.success:
            continue
        check = by_index[r.index]
        entry: dict[str, Any] = {
            "expectation": expectation_type(check.expectation),
            "check": check.name,
            "column": check.column,
            "unexpected_count": r.unexpected_count,
            "sample_ids": [str(columns["id"][i]) for i in r.positions[:SAMPLE_IDS]],
        }
        if r.error is not None:
            entry["error"] = r.error
        failed.append(entry)
        if check.quarantine is not None and r.positions:
            target, column = check.quarantine
            flagged.setdefault(target, set()).update(str(v) for v in columns[column][r.positions] if v is not None)
    suite_summary = {
        "success": all(r.success for r in results),
        "evaluated": len(results),
        "rows": len(df),
        "seconds": round(time.perf_counter() - started, 3),
        "failed_expectations": failed,
    }
    return suite_summary, flagged


def choose_engine(settings: Settings, rows: int) -> str:
    """``gx`` or ``builtin`` for a matter of ``rows`` rows (all tables): ``quality.engine``, or with
    ``auto`` the built-in evaluator below ``quality.gx_min_rows`` rows (no Great Expectations import,
    a few seconds of fixed cost per process) and Great Expectations from there on."""
    engine = settings.quality.engine
    if engine != "auto":
        return engine
    return "gx" if rows >= settings.quality.gx_min_rows else "builtin"


def run_quality_gates(
    store: Store, matter_id: str, settings: Settings, *, run_id: str | None = None
) -> QualityReport:
    """Validate the matter's stored rows, save the report, and act per ``settings.quality.on_failure``.

    Never raises for bad data (see :meth:`QualityReport.raise_for_failure`); with
    ``quality.enabled`` off it returns a successful, disabled report and touches nothing.

    Args:
        store: an open store.
        matter_id: the matter to validate.
        settings: ``quality`` (mode) and ``chunk.size_tokens`` (the token bound) are used.
        run_id: the store run (:meth:`Store.start_run`) the result belongs to, if any.

    Raises:
        KeyError: no such matter (or no such run).
        TransientError: the database could not be read (locked, connection lost).
        MissingDependencyError: Great Expectations is not installed (and the GX engine was chosen).
    """
    mode = settings.quality.on_failure
    if not settings.quality.enabled:
        return QualityReport(True, {}, {}, matter_id, mode, run_id=run_id, enabled=False)
    started = time.perf_counter()
    try:
        with store.engine.connect() as conn, conn.begin():
            if conn.execute(select(t.matters.c.id).where(t.matters.c.id == matter_id)).first() is None:
                raise KeyError(f"unknown matter {matter_id}")
            if run_id is not None and conn.execute(select(t.runs.c.id).where(t.runs.c.id == run_id)).first() is None:
                raise KeyError(f"unknown run {run_id}")  # before anything is flagged
            frames = load_frames(conn, matter_id)
    except OperationalError as exc:
        raise TransientError(f"database error on {store.safe_url}: {error_reason(exc, store.url)}") from None

    engine = choose_engine(settings, sum(len(df) for df in frames.values()))
    gx = context = None
    if engine == "gx":
        gx = _import_gx()
        context = _context(gx)
        context.data_sources.add_pandas(name="lexprep")
    all_checks = list(enumerate(checks(settings)))
    suites: dict[str, dict[str, Any]] = {}
    failing: dict[str, set[str]] = {}
    for table in TABLES:
        table_checks = [(i, c) for i, c in all_checks if c.table == table]
        t0 = time.perf_counter()
        df = frames[table].reset_index(drop=True)
        results = (_validate_gx(gx, context, table, df, table_checks) if engine == "gx"
                   else validate_builtin(df, table_checks))
        summary, flagged = _summarize(df, table_checks, results, t0)
        suites[table] = summary
        for target, ids in flagged.items():
            failing.setdefault(target, set()).update(ids)
    failed_tables = [table for table in TABLES if not suites[table]["success"]]
    success = not failed_tables

    quarantined: dict[str, list[str]] = {"documents": [], "chunks": [], "mentions": [], "facts": []}
    if mode == "quarantine":
        store.clear_quarantine(matter_id)
        for target in quarantined:
            ids = sorted(failing.get(target, ()))
            if ids:
                store.quarantine(target, ids)
            quarantined[target] = ids
    report = QualityReport(
        success=success,
        suites=suites,
        quarantined=quarantined,
        matter_id=matter_id,
        on_failure=mode,
        run_id=run_id,
        gx_version=str(gx.__version__) if gx is not None else None,
        failed_tables=failed_tables,
        engine=engine,
    )
    report.seconds = round(time.perf_counter() - started, 3)
    report.result_id = store.save_quality(matter_id, run_id, report.to_dict())
    if success:
        log.info("matter %s: quality gates passed in %.2fs (%s)", matter_id, report.seconds, engine)
    else:
        log.warning("matter %s: %s (on_failure=%s, %.2fs, %s)", matter_id, report.summary(), mode, report.seconds,
                    engine)
    return report


def quality_rows(report: QualityReport | dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for a Prefect table artifact: one per failed expectation, one per table that passed.

    Each row: ``table``, ``status`` (passed | failed), ``check``, ``expectation``, ``column``,
    ``unexpected`` (rows failing), ``rows`` (rows validated), ``quarantined`` (rows of that table
    flagged; for pages and entities, empty), ``sample_ids`` (the first five, comma-separated).
    """
    data = report.to_dict() if isinstance(report, QualityReport) else report
    quarantined = data.get("quarantined") or {}
    rows: list[dict[str, Any]] = []
    for table, suite in (data.get("suites") or {}).items():
        flagged = len(quarantined[table]) if table in quarantined else ""
        base = {"table": table, "rows": suite.get("rows", ""), "quarantined": flagged}
        failed = suite.get("failed_expectations") or []
        if not failed:
            rows.append({**base, "status": "passed", "check": f"all {suite.get('evaluated', 0)} checks passed",
                         "expectation": "", "column": "", "unexpected": 0, "sample_ids": ""})
            continue
        for f in failed:
            rows.append({
                **base,
                "status": "failed",
                "check": f.get("check", "") + (f" (error: {f['error']})" if f.get("error") else ""),
                "expectation": f.get("expectation", ""),
                "column": f.get("column", ""),
                "unexpected": f.get("unexpected_count") if f.get("unexpected_count") is not None else "",
                "sample_ids": ", ".join(f.get("sample_ids", [])[:5]),
            })
    order = ["table", "status", "check", "expectation", "column", "unexpected", "rows", "quarantined", "sample_ids"]
    return [{k: row[k] for k in order} for row in rows]
