"""Prefect blocks for lexprep: the store's database, API credentials and pipeline settings.

Secrets are SecretStr fields: Prefect stores them encrypted and masks them in the UI and in ``repr``.
Register the block types with the API in ``PREFECT_API_URL`` (``make deploy`` does this)::

    python -m lexprep_prefect.blocks          # or: python -c "from lexprep_prefect.blocks import register_all; register_all()"

``blocks.aws`` (s3fs options from a prefect-aws ``AwsCredentials`` block) is imported on its own: it
needs the optional ``prefect-aws`` package only when used.
"""

from __future__ import annotations

from prefect.blocks.core import Block

from lexprep_prefect.blocks.credentials import MistralCredentials, OpenAICredentials
from lexprep_prefect.blocks.database import LexprepDatabase
from lexprep_prefect.blocks.settings import LexprepSettingsBlock

#: every block type lexprep defines, in registration order (nested types first)
BLOCK_TYPES: tuple[type[Block], ...] = (LexprepDatabase, MistralCredentials, OpenAICredentials, LexprepSettingsBlock)

__all__ = [
    "BLOCK_TYPES",
    "LexprepDatabase",
    "LexprepSettingsBlock",
    "MistralCredentials",
    "OpenAICredentials",
    "register_all",
]


def register_all() -> list[str]:
    """Register (idempotently) every lexprep block type and schema with the current Prefect API.

    Returns:
        The registered block type slugs.

    Raises:
        prefect.exceptions.PrefectHTTPStatusError / httpx errors: the API cannot be reached.
    """
    slugs = []
    for block_type in BLOCK_TYPES:
        block_type.register_type_and_schema(_sync=True)
        slugs.append(block_type.get_block_type_slug())
    return slugs

