"""Running a matter's per-document work on a Dask cluster (prefect-dask's DaskTaskRunner).

``process_matter(..., cluster="local")`` starts a ``distributed.LocalCluster`` of ``cluster.workers`` worker
processes (one thread each) for the run; ``cluster="tcp://host:8786"`` uses a running scheduler. The flow
itself stays where it was started: it lists the files, sends them in batches (:func:`batches`) as
``process-documents`` task runs to the cluster, and resolves entities and builds the graph when every
batch is back.

On the cluster (see :func:`worker_settings`):

- each Dask worker runs NER in its own process (``ner.workers = 0``): the model is loaded once per worker,
  at its start (:class:`WarmUp`), and kept;
- a file travels as its :class:`~lexprep.sources.SourceRef` (a path or URL every worker reads), never as
  bytes; an e-mail's attachments are processed in the task that extracted them, so their bytes never
  leave that worker either;
- every worker writes its documents to the store itself: a Postgres URL for a remote cluster; a SQLite
  file only on a LocalCluster on this machine (:func:`check_store` refuses the other case);
- content found twice in one run is processed once: the claim on (matter, sha256) is a
  ``distributed.Lock`` the whole cluster shares.

Why Dask and not Ray: prefect-dask 0.3.7 installs from the registry with this Prefect (3.8.8) and weighs a
few MB (dask, distributed); prefect-ray needs ray's ~70 MB wheel and a second engine to keep tested for
the same capability. The flow code does not depend on Dask beyond :func:`task_runner`.

Raises (from :func:`task_runner` / :func:`check_store`):
    MissingDependencyError: prefect-dask is not installed (``pip install 'lexprep[cluster]'``).
    ConfigurationError: an address that is neither ``local`` nor ``tcp://`` / ``tls://``, or a remote
        cluster with a SQLite store.
"""

from __future__ import annotations

import math
import sys

from lexprep.errors import ConfigurationError, MissingDependencyError
from lexprep.settings import Settings

#: at most this many documents in one cluster task (a task's outcome travels back as one message)
MAX_BATCH = 16
#: aim for about this many tasks per worker (a slow batch does not leave the others idle at the end)
TASKS_PER_WORKER = 4


def normalized_address(address: str | None) -> str | None:
    """``None`` (no cluster), ``"local"`` or a scheduler address (``tcp://`` / ``tls://`` / ``ucx://``).

    Raises:
        ConfigurationError: anything else (a bare host:port gets ``tcp://`` in front).
    """
    if address is None or not address.strip():
        return None
    address = address.strip()
    if address.lower() == "local":
        return "local"
    if "://" not in address:
        if ":" in address:
            return f"tcp://{address}"
        raise ConfigurationError(f"cluster address {address!r}: give 'local' or a scheduler's tcp://host:port")
    if address.split("://", 1)[0] not in ("tcp", "tls", "ucx", "inproc"):
        raise ConfigurationError(f"cluster address {address!r}: give 'local' or a scheduler's tcp://host:port")
    return address


def check_store(address: str, db_url: str) -> None:
    """Refuse a remote cluster with a SQLite store: its workers, on other machines, cannot write this file.

    Raises:
        ConfigurationError: one line, naming what to use instead.
    """
    if address != "local" and db_url.startswith("sqlite"):
        raise ConfigurationError(
            f"a remote Dask cluster ({address}) cannot write to a SQLite file: give the run a Postgres store "
            "(--db postgresql+psycopg://...), or use --cluster local")


def prefect_api(address: str):
    """A context in which the run's task runs that go to the cluster name the Prefect API the flow uses.

    A run without PREFECT_API_URL talks to a temporary server in its own process tree; its context, as
    prefect-dask sends it, would leave each worker to start a temporary server of its own. Inside this
    context PREFECT_API_URL is that server's URL, so every worker records its task runs in the same run.

    Raises:
        ConfigurationError: a remote cluster while the API is a temporary server on this machine (its
            workers could not reach it).
    """
    from contextlib import nullcontext
    from urllib.parse import urlparse

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    configured = PREFECT_API_URL.value()
    url = configured or str(get_client(sync_client=True).api_url)
    if address != "local" and (urlparse(url).hostname or "") in ("127.0.0.1", "localhost", "::1"):
        raise ConfigurationError(
            f"a remote Dask cluster ({address}) cannot reach the Prefect API at {url}: run a Prefect server the "
            "workers reach and set PREFECT_API_URL to it")
    return nullcontext() if configured else temporary_settings(updates={PREFECT_API_URL: url})


def worker_settings(settings: Settings) -> Settings:
    """The settings the cluster's workers run with: NER in the worker's own process (one model per
    worker), one extraction sandbox process and one OCR process per worker (the cluster's processes are
    the parallelism). Results do not change: none of these is part of ``Settings.fingerprint``."""
    return settings.model_copy(update={
        "ner": settings.ner.model_copy(update={"workers": 0}),
        "limits": settings.limits.model_copy(update={"workers": min(1, settings.limits.workers)}),
        "ocr": settings.ocr.model_copy(update={"workers": min(1, settings.ocr.workers)}),
    })


def batch_size(documents: int, workers: int, configured: int = 0) -> int:
    """Documents per task: ``configured`` when set, else about TASKS_PER_WORKER tasks per worker, at most
    MAX_BATCH documents and at least one a task."""
    if configured > 0:
        return configured
    return max(1, min(MAX_BATCH, math.ceil(documents / (max(1, workers) * TASKS_PER_WORKER))))


def batches(items: list, size: int) -> list[list]:
    """``items`` cut into consecutive lists of ``size`` (the last may be shorter)."""
    return [items[i:i + size] for i in range(0, len(items), max(1, size))]


def task_runner(address: str, settings: Settings):
    """A DaskTaskRunner for ``address`` (``local``: a LocalCluster of ``settings.cluster.workers`` processes,
    one thread each, ``settings.cluster.memory_limit`` each; else the scheduler at that address).

    Raises:
        MissingDependencyError: prefect-dask is not installed.
    """
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise MissingDependencyError("prefect-dask (for --cluster)", "lexprep[cluster]") from exc
    if address == "local":
        return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs={
            "n_workers": settings.cluster.workers, "threads_per_worker": 1, "processes": True,
            "memory_limit": settings.cluster.memory_limit, "dashboard_address": None})
    return DaskTaskRunner(address=address)


def worker_count(runner) -> int:
    """How many workers the runner's cluster has now (at least 1)."""
    try:
        return max(1, len(runner.client.scheduler_info().get("workers", {})))
    except Exception:  # noqa: BLE001 - only a sizing hint
        return 1


def register_warm_up(runner, settings: Settings) -> None:
    """Register :class:`WarmUp` on the runner's cluster (workers that start later get it too)."""
    from lexprep_prefect.cluster_plugin import WarmUp

    runner.client.register_plugin(WarmUp(settings.ner_settings().model_dump_json()), name=WarmUp.name)


class ClusterClaims:
    """Claims on (matter, sha256) that every worker of the cluster sees (``distributed.Lock``), so the same
    content found twice in one run is processed once (lexprep_prefect.tasks.documents uses them inside a Dask
    worker, its own set elsewhere)."""

    def __init__(self):
        self._held: dict[tuple[str, str], object] = {}

    def claim(self, matter_id: str, sha256: str) -> bool:
        from distributed import Lock

        lock = Lock(f"lexprep/{matter_id}/{sha256}")
        if not lock.acquire(blocking=False):
            return False
        self._held[(matter_id, sha256)] = lock
        return True

    def release(self, matter_id: str, sha256: str) -> None:
        lock = self._held.pop((matter_id, sha256), None)
        if lock is not None:
            lock.release()


def in_dask_worker() -> bool:
    """Whether this code runs in a Dask worker (never imports Dask: a worker has it imported already)."""
    if "distributed" not in sys.modules:
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True
