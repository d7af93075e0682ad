"""``python -m lexprep_prefect.deployments.cli ARGS...`` runs ``prefect ARGS...`` with one client-side compatibility fix.

Why: after creating each deployment, ``prefect deploy`` (3.8.8) asks the API for the pool's online
workers with ``{"offset": null, "limit": null}`` in the request body. FastAPI 0.151 and later no longer
turn an explicit JSON ``null`` into the parameter's default, so a Prefect 3.8.8 server running on them
answers 422 and ``prefect deploy`` stops after the first deployment (the deployment itself is created).
``pyproject.toml`` allows ``fastapi<0.154``; ``fastapi<0.151`` avoids the problem at the source.

The fix sends ``offset=0`` and ``limit=200`` (the server's own defaults) instead of nulls. Nothing else
changes: the arguments go to Prefect's own CLI unchanged, and its exit status is this command's.
"""

from __future__ import annotations

import functools
import sys

#: PREFECT_SERVER_API_DEFAULT_LIMIT's default
_DEFAULT_LIMIT = 200


def patch_read_workers_for_work_pool() -> None:
    """Make ``PrefectClient.read_workers_for_work_pool`` send integers instead of nulls (idempotent)."""
    from prefect.client.orchestration import PrefectClient

    original = PrefectClient.read_workers_for_work_pool
    if getattr(original, "_lexprep_patched", False):
        return

    @functools.wraps(original)
    async def read_workers_for_work_pool(self, work_pool_name, worker_filter=None, offset=None, limit=None):
        return await original(
            self,
            work_pool_name,
            worker_filter=worker_filter,
            offset=0 if offset is None else offset,
            limit=_DEFAULT_LIMIT if limit is None else limit,
        )

    read_workers_for_work_pool._lexprep_patched = True  # type: ignore[attr-defined]
    PrefectClient.read_workers_for_work_pool = read_workers_for_work_pool  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    """Run Prefect's CLI (``prefect.cli.app``) on ``argv`` (default: this process's arguments)."""
    patch_read_workers_for_work_pool()
    from prefect.cli import app

    sys.argv = ["prefect", *(sys.argv[1:] if argv is None else argv)]
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
