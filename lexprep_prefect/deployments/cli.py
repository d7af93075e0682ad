"""``python -m lexprep_prefect.deployments.cli ARGS...`` runs ``prefect ARGS...`` with one client-side compatibility fix.

Why: after creating each deployment, ``prefect deploy`` (3.8.8) asks the API for the pool's online
workers with ``{"offset": null, "limit": null}`` in the request body. FastAPI 0.151 and later no longer
turn an explicit JSON ``null`` into the parameter's default, so a Prefect 3.8.8 server running on them
answers 422 and ``prefect deploy`` stops after the first deployment (the deployment itself is created).
``pyproject.toml`` allows ``fastapi<0.154``; ``fastapi<0.151`` avoids the problem at the source.

The fix sends ``offset=0`` and ``limit=200`` (the server's own defaults) instead of nulls. Nothing else
changes: the arguments go to Prefect's own CLI unchanged, and its exit status is this command's.

One check before ``deploy``: every deploy-time variable (``{{ $NAME }}`` in prefect.yaml) the selected
deployments read must be set (:func:`unset_variables`), else exit 2 naming them.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

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


def unset_variables(argv: list[str]) -> list[str]:
    """For ``deploy`` arguments: one line per selected deployment whose deploy-time variables are unset
    or empty (Prefect would store the literal ``{{ $NAME }}`` text, or an empty parameter, and the
    deployment would run on nothing). Deployments are selected with ``-n``/``--name`` or ``--all``."""
    if not argv or argv[0] != "deploy":
        return []
    from lexprep_prefect.deployments.bootstrap import PREFECT_YAML, deployment_cli_name, load_prefect_yaml
    from lexprep_prefect.deployments.bootstrap import missing_variables

    path = Path("prefect.yaml") if Path("prefect.yaml").exists() else PREFECT_YAML
    config = load_prefect_yaml(path)
    wanted = {argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in ("-n", "--name")}
    select_all = "--all" in argv
    problems = []
    for dep in config["deployments"]:
        names = {deployment_cli_name(dep), dep["name"]}
        if select_all or names & wanted:
            missing = missing_variables(dep, config)
            if missing:
                problems.append(f"{deployment_cli_name(dep)}: set {', '.join(missing)} (prefect.yaml reads them)")
    return problems


def main(argv: list[str] | None = None) -> None:
    """Run Prefect's CLI (``prefect.cli.app``) on ``argv`` (default: this process's arguments); exit 2,
    naming them, when a deployment to deploy has unset deploy-time variables."""
    args = list(sys.argv[1:] if argv is None else argv)
    problems = unset_variables([a for a in args if a != "--no-prompt"])
    if problems:
        for line in problems:
            print(f"error: {line}", file=sys.stderr)
        raise SystemExit(2)
    patch_read_workers_for_work_pool()
    from prefect.cli import app

    sys.argv = ["prefect", *args]
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
