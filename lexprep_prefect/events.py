"""The event that starts a matter run: ``lexprep.files.landed`` (the event-driven path).

``lexprep notify PATH --matter NAME`` emits it; the ``process-matter/local`` deployment's trigger
(prefect.yaml ``triggers:``) expects it and takes the run's ``source`` and ``matter`` from its payload
(``{{ event.payload.source }}``, ``{{ event.payload.matter }}``). Anything that can reach the Prefect API
can emit the same event (e.g. a bucket notification handler calling :func:`emit_files_landed`).
"""

from __future__ import annotations

import asyncio
import hashlib

#: the event's name (prefect.yaml's trigger ``expect``)
FILES_LANDED = "lexprep.files.landed"
#: the prefix of the event's resource id: ``lexprep.matter.<sha256 of the matter name, 16 hex>``
MATTER_RESOURCE_PREFIX = "lexprep.matter."


def matter_resource_id(matter: str) -> str:
    """The Prefect resource id of a matter (stable, no spaces or personal data in the id itself)."""
    return MATTER_RESOURCE_PREFIX + hashlib.sha256(matter.encode()).hexdigest()[:16]


def files_landed_event(source: str, matter: str):
    """The :class:`prefect.events.Event` saying files landed under ``source`` for ``matter``.

    Payload: ``{"source": source, "matter": matter}`` (what the trigger passes as parameters).
    """
    from prefect.events import Event, Resource

    return Event(
        event=FILES_LANDED,
        resource=Resource({"prefect.resource.id": matter_resource_id(matter), "prefect.resource.name": matter}),
        payload={"source": source, "matter": matter},
    )


def emit_files_landed(source: str, matter: str) -> str:
    """Send the event to the Prefect API in PREFECT_API_URL and wait until it is accepted; returns its id.

    Raises:
        ValueError: no PREFECT_API_URL. Websocket errors when the API does not accept it.
    """
    from prefect.events.clients import get_events_client

    event = files_landed_event(source, matter)

    async def send() -> None:
        async with get_events_client() as client:
            await client.emit(event)

    asyncio.run(send())
    return str(event.id)


__all__ = ["FILES_LANDED", "MATTER_RESOURCE_PREFIX", "emit_files_landed", "files_landed_event", "matter_resource_id"]
