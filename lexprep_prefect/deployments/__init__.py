"""What ``make deploy`` sets up on a Prefect API before deploying prefect.yaml.

- work pools (:data:`WORK_POOLS`): ``lexprep-local`` (process, this machine), ``lexprep-gpu`` (process, the
  EC2 GPU worker of infra/terraform; runs default to the gpu profile), ``lexprep-docker`` (docker, the
  image of infra/Dockerfile);
- tag concurrency limits (:data:`TAG_CONCURRENCY_LIMITS`): at most N task runs carrying the tag at once,
  across every worker (``mistral`` / ``openai`` for the tasks calling those APIs);
- rate limits (:data:`RATE_LIMITS`): global concurrency limits with slot decay, for
  ``prefect.concurrency.sync.rate_limit("mistral-api")`` before each API request;
- lexprep's block types (``blocks.register_all``).

``python -m lexprep_prefect.deployments.bootstrap`` does all of that idempotently; ``python -m lexprep_prefect.deployments.bootstrap names``
lists the prefect.yaml deployments that can be deployed here (see :mod:`deployments.bootstrap`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class WorkPoolSpec:
    """A work pool ``make deploy`` creates: its type, default job variables and concurrency limit."""

    name: str
    type: str
    description: str
    #: job-variable defaults put into the type's default base job template (e.g. env)
    defaults: dict[str, Any] = field(default_factory=dict)
    #: flow runs at once in the pool (None = unlimited)
    concurrency_limit: int | None = None


WORK_POOLS: dict[str, WorkPoolSpec] = {
    spec.name: spec
    for spec in (
        WorkPoolSpec(
            "lexprep-local",
            "process",
            "lexprep's local and cloud profiles: process workers on any machine with lexprep installed (each run "
            "clones the deployed code; the store is the worker's LEXPREP_DB_URL).",
        ),
        WorkPoolSpec(
            "lexprep-gpu",
            "process",
            "lexprep on a GPU machine (infra/terraform): OCR and transcription with CUDA models. One flow run "
            "at a time per worker, because every run loads its models onto the GPU.",
            defaults={"env": {"LEXPREP_PROFILE": "gpu"}},
            concurrency_limit=1,
        ),
        WorkPoolSpec(
            "lexprep-docker",
            "docker",
            "lexprep in the infra/Dockerfile image (needs a Docker engine and `pip install prefect-docker` "
            "where the worker runs).",
        ),
    )
}

#: tag -> task runs at once carrying that tag (Prefect tag concurrency limits), for the tasks that call
#: a paid API (lexprep_prefect.tasks.documents._api_tags tags them). NER has no limit here: it runs in
#: each flow run's process pool (settings.ner.workers processes), which bounds it already; a tag limit
#: on its task would make document threads poll the API for slots while that pool sits idle.
TAG_CONCURRENCY_LIMITS: dict[str, int] = {"mistral": 4, "openai": 4}


@dataclass(frozen=True)
class RateLimitSpec:
    """A global concurrency limit with slot decay: about ``per_second`` acquisitions a second, ``burst`` at once."""

    name: str
    burst: int
    per_second: float


RATE_LIMITS: dict[str, RateLimitSpec] = {
    spec.name: spec
    for spec in (
        RateLimitSpec("mistral-api", burst=6, per_second=1.0),
        RateLimitSpec("openai-api", burst=10, per_second=5.0),
    )
}

__all__ = ["RATE_LIMITS", "TAG_CONCURRENCY_LIMITS", "WORK_POOLS", "RateLimitSpec", "WorkPoolSpec"]
