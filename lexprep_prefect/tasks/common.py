"""What every lexprep task shares: the retry policy, the per-process store, states and run logs."""

from __future__ import annotations

import logging
import os
import threading

from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from lexprep.errors import TransientError
from lexprep.settings import Settings
from lexprep.store import Store


def retry_only_transient(task, task_run, state) -> bool:
    """Prefect ``retry_condition_fn``: retry only when the task failed with a TransientError."""
    try:
        state.result()
    except TransientError:
        return True
    except BaseException:
        return False
    return False


#: keyword arguments of every stage task
STAGE_TASK_OPTIONS = dict(
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_only_transient,
    cache_policy=NO_CACHE,
    persist_result=False,
)

#: a Prefect storage block (slug, e.g. ``s3-bucket/lexprep-results``) every machine of a deployment reaches,
#: from LEXPREP_RESULT_STORAGE where a flow runs; the flows persist their results there, so a caller on
#: another machine can read them (``run_deployment(...).state.result()``). Unset: Prefect's default
#: local storage (caller and worker on one machine).
RESULT_STORAGE: str | None = os.environ.get("LEXPREP_RESULT_STORAGE", "").strip() or None

_stores: dict[str, Store] = {}
_lock = threading.Lock()


def get_store(url: str) -> Store:
    """The process's Store for ``url``, migrated on first use.

    Raises:
        ConfigurationError: the database cannot be reached.
    """
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = _stores[url] = Store.open(url)
        return store


def load_settings(profile: str | None = None, overrides: dict | None = None, db: str | None = None,
                  settings_block: str | None = None) -> Settings:
    """Settings from the environment, then a LexprepSettingsBlock (database and API credentials live
    there, never in flow parameters), then the flow's parameters on top."""
    data: dict = dict(overrides or {})
    if profile:
        data["profile"] = profile
    if db:
        data["db_url"] = db
    if settings_block:
        from lexprep_prefect.blocks import LexprepSettingsBlock

        return LexprepSettingsBlock.load(settings_block).to_settings(**data)
    return Settings(**data)


def as_state(spec, data=None):
    """A Prefect state from a :class:`lexprep.report.StateSpec` (``kind`` completed | failed), carrying ``data``.

    A task or flow that returns it ends in that state; ``future.result(raise_on_failure=False)`` and
    ``state.result(raise_on_failure=False)`` still give ``data``.
    """
    from prefect.states import Completed, Failed

    make = Failed if spec.kind == "failed" else Completed
    return make(name=spec.name, message=spec.message, data=data)


# ---------------------------------------------------------------- lexprep's log records in the run's logs


class _RunLogHandler(logging.Handler):
    """Sends lexprep's log records to the Prefect API as logs of the flow or task run in whose context
    they are emitted (Prefect's APILogHandler finds the run ids there); records emitted outside a run
    (e.g. in the NER worker processes, or after the flow ended) are dropped, not warned about."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        from prefect.logging.handlers import APILogHandler

        self._api = APILogHandler()

    def emit(self, record: logging.LogRecord) -> None:
        from prefect.context import FlowRunContext, TaskRunContext

        if FlowRunContext.get() is None and TaskRunContext.get() is None:
            return
        self._api.handle(record)


_log_handler: _RunLogHandler | None = None
_log_lock = threading.Lock()


def send_lexprep_logs_to_runs(level: int = logging.INFO) -> None:
    """Attach lexprep's loggers (``lexprep`` and below) to the run logs, once per process.

    Their records at ``level`` and above (INFO: progress, counts, seconds; WARNING: a file that could not
    be read, a failed quality gate) then appear in the Prefect UI under the run that emitted them. The
    core never logs document text or secrets at INFO or above (it logs file names, counts, reasons).
    """
    global _log_handler
    with _log_lock:
        logger = logging.getLogger("lexprep")
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)
        if _log_handler is None:
            _log_handler = _RunLogHandler()
            _log_handler.setLevel(level)
            logger.addHandler(_log_handler)
