"""What every lexprep task shares: the retry policy and the per-process store."""

from __future__ import annotations

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
