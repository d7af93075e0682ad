"""Set up a Prefect API for lexprep's deployments, idempotently; list what prefect.yaml can deploy here.

Usage (against ``PREFECT_API_URL``; ``make deploy`` runs both)::

    python -m lexprep_prefect.deployments.bootstrap        # pools, tag concurrency and rate limits, block types
    python -m lexprep_prefect.deployments.bootstrap names  # "flow/deployment" names to pass to `prefect deploy -n`

``setup`` creates what is missing and leaves what exists alone (a work pool edited in the UI keeps its
template); tag and rate limits are set to the values in :mod:`deployments` every time. Exit status 1
with a one-line message when the API cannot be reached or a pool exists with another type.

``names`` prints one name per line: every deployment in prefect.yaml whose entrypoint file exists and
whose deploy-time variables (``{{ $NAME }}``) are set, except those on a ``docker`` pool unless
``--with-docker`` (building their image needs a Docker engine and prefect-docker). Each skipped
deployment is reported on stderr with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from lexprep_prefect.deployments import RATE_LIMITS, TAG_CONCURRENCY_LIMITS, WORK_POOLS, WorkPoolSpec

#: the project root `prefect deploy` runs in (prefect.yaml and the entrypoint files are relative to it)
REPO = Path(__file__).resolve().parents[2]
PREFECT_YAML = REPO / "prefect.yaml"


class BootstrapError(Exception):
    """The API cannot be set up (unreachable, or a conflicting object exists)."""


def load_prefect_yaml(path: Path = PREFECT_YAML) -> dict[str, Any]:
    """prefect.yaml as a dict (``deployments`` always a list)."""
    data = yaml.safe_load(path.read_text()) or {}
    data.setdefault("deployments", [])
    return data


def deployment_cli_name(deployment: dict[str, Any]) -> str:
    """The name ``prefect deploy -n`` matches: ``<entrypoint function, _ as ->/<deployment name>``.

    (Prefect matches the part before the slash against the entrypoint's function name, not the
    flow's ``name=``; the deployment registered on the API is ``<flow name>/<deployment name>``.)
    """
    func = deployment["entrypoint"].rsplit(":", 1)[-1]
    return f"{func.replace('_', '-')}/{deployment['name']}"


_ENV_PLACEHOLDER = re.compile(r"\{\{\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def deploy_variables(deployment: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """The environment variables (``{{ $NAME }}``) that deploying ``deployment`` reads: in its own
    section and in the build, push and pull steps it uses (its own, else prefect.yaml's top-level ones).
    Prefect keeps an unset one as the literal placeholder text, so each must be set and non-empty."""
    parts: list[Any] = [deployment]
    for section in ("build", "push", "pull"):
        if section not in deployment:
            parts.append(config.get(section))
    found: list[str] = []
    for name in _ENV_PLACEHOLDER.findall(yaml.safe_dump(parts)):
        if name not in found:
            found.append(name)
    return found


def missing_variables(deployment: dict[str, Any], config: dict[str, Any],
                      environ: Mapping[str, str] = os.environ) -> list[str]:
    """The deploy-time variables of ``deployment`` that are unset or empty in ``environ``."""
    return [name for name in deploy_variables(deployment, config) if not environ.get(name, "").strip()]


def deployable(with_docker: bool = False, path: Path = PREFECT_YAML,
               environ: Mapping[str, str] = os.environ) -> tuple[list[str], list[tuple[str, str]]]:
    """(names to deploy, [(name, reason skipped)]) for the deployments in ``path``.

    Skipped: a missing entrypoint file, a work pool ``make deploy`` does not create, a docker pool
    without ``with_docker``, and a deployment whose deploy-time variables are not all set
    (:func:`missing_variables`; e.g. nightly-s3 without LEXPREP_NIGHTLY_S3_PREFIX).
    """
    config = load_prefect_yaml(path)
    names: list[str] = []
    skipped: list[tuple[str, str]] = []
    for dep in config["deployments"]:
        name = deployment_cli_name(dep)
        entry_file = REPO / dep["entrypoint"].rsplit(":", 1)[0]
        pool = (dep.get("work_pool") or {}).get("name")
        spec = WORK_POOLS.get(pool)
        missing = missing_variables(dep, config, environ)
        if not entry_file.exists():
            skipped.append((name, f"entrypoint file {entry_file.relative_to(REPO)} does not exist yet"))
        elif missing:
            skipped.append((name, f"set {', '.join(missing)} in the environment of `make deploy` to deploy it"))
        elif spec is None:
            skipped.append((name, f"work pool {pool!r} is not one `make deploy` creates"))
        elif spec.type == "docker" and not with_docker:
            skipped.append((name, "docker pool: building its image needs a Docker engine and prefect-docker "
                                  "(run `make deploy DEPLOY_DOCKER=1` where both exist)"))
        else:
            names.append(name)
    return names, skipped


async def _base_job_template(spec: WorkPoolSpec) -> dict[str, Any]:
    from prefect.workers.utilities import get_default_base_job_template_for_infrastructure_type

    template = await get_default_base_job_template_for_infrastructure_type(spec.type)
    if template is None:
        raise BootstrapError(f"no default base job template for work pool type {spec.type!r}")
    props = template["variables"]["properties"]
    for key, value in spec.defaults.items():
        if key not in props:
            raise BootstrapError(f"work pool type {spec.type!r} has no job variable {key!r}")
        props[key]["default"] = value
    return template


async def _ensure_work_pool(client, spec: WorkPoolSpec, say) -> None:
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    try:
        pool = await client.read_work_pool(spec.name)
    except ObjectNotFound:
        pool = None
    if pool is not None:
        if pool.type != spec.type:
            raise BootstrapError(f"work pool {spec.name!r} exists with type {pool.type!r}, expected {spec.type!r}")
        say(f"work pool {spec.name} ({spec.type}): already exists")
        return
    try:
        await client.create_work_pool(
            WorkPoolCreate(
                name=spec.name,
                type=spec.type,
                description=spec.description,
                base_job_template=await _base_job_template(spec),
                concurrency_limit=spec.concurrency_limit,
            )
        )
        say(f"work pool {spec.name} ({spec.type}): created")
    except ObjectAlreadyExists:  # created meanwhile by someone else
        say(f"work pool {spec.name} ({spec.type}): already exists")


async def _ensure_rate_limit(client, name: str, burst: int, per_second: float, say) -> None:
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    try:
        await client.read_global_concurrency_limit_by_name(name)
    except ObjectNotFound:
        try:
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=burst, slot_decay_per_second=per_second, active=True)
            )
            say(f"rate limit {name}: created ({burst} burst, {per_second}/s)")
            return
        except ObjectAlreadyExists:
            pass
    await client.update_global_concurrency_limit(
        name, GlobalConcurrencyLimitUpdate(limit=burst, slot_decay_per_second=per_second, active=True)
    )
    say(f"rate limit {name}: set ({burst} burst, {per_second}/s)")


async def setup(say=print) -> None:
    """Create the work pools, tag concurrency limits and rate limits; register lexprep's block types.

    Raises:
        BootstrapError: the API is unreachable, or a work pool exists with another type.
    """
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    from lexprep_prefect.blocks import BLOCK_TYPES

    async with get_client() as client:
        error = await client.api_healthcheck()
        if error is not None:
            raise BootstrapError(f"Prefect API at {PREFECT_API_URL.value() or '(ephemeral)'} is not healthy: {error}")
        for spec in WORK_POOLS.values():
            await _ensure_work_pool(client, spec, say)
        for tag, limit in TAG_CONCURRENCY_LIMITS.items():
            await client.create_concurrency_limit(tag=tag, concurrency_limit=limit)  # an upsert
            say(f"tag concurrency limit {tag}: {limit}")
        for spec in RATE_LIMITS.values():
            await _ensure_rate_limit(client, spec.name, spec.burst, spec.per_second, say)
        for block_type in BLOCK_TYPES:
            await block_type.aregister_type_and_schema(client=client)
            say(f"block type {block_type.get_block_type_slug()}: registered")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lexprep_prefect.deployments.bootstrap", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("setup", help="work pools, concurrency and rate limits, block types (the default)")
    names = sub.add_parser("names", help="prefect.yaml deployments deployable here, one per line")
    names.add_argument("--with-docker", action="store_true", help="include deployments on docker pools")
    args = parser.parse_args(argv)
    if args.command == "names":
        found, skipped = deployable(with_docker=args.with_docker)
        for name, reason in skipped:
            print(f"skipping deployment {name}: {reason}", file=sys.stderr)
        print("\n".join(found))
        return 0 if found else 1
    try:
        asyncio.run(setup())
    except BootstrapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
