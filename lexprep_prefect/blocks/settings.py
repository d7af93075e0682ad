"""``LexprepSettingsBlock``: a saved set of pipeline settings (a profile plus nested overrides) as a Prefect block.

A worker builds its :class:`lexprep.settings.Settings` from, lowest to highest priority:
the environment (``LEXPREP_*``), the block's ``overrides``, the block's credential and database
blocks, its ``profile``, then whatever ``to_settings(...)`` is given. So one block per environment
(``lexprep-cloud``, ``lexprep-gpu``) holds what differs, and secrets stay in their own blocks::

    from lexprep_prefect.blocks import LexprepSettingsBlock
    settings = LexprepSettingsBlock.load("lexprep-cloud").to_settings()

Unknown keys in ``overrides`` are rejected when the block is created (a typo must not be ignored).
"""

from __future__ import annotations

import copy
from typing import Any, Literal, Optional

from pydantic import BaseModel, Field, ValidationError, field_validator
from prefect.blocks.core import Block

from lexprep.errors import ConfigurationError
from lexprep.settings import Settings

from lexprep_prefect.blocks.credentials import MistralCredentials, OpenAICredentials
from lexprep_prefect.blocks.database import LexprepDatabase


def _unknown_keys(model: type[BaseModel], data: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths in ``data`` that are not fields of ``model`` (recursing into nested models)."""
    unknown = []
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            unknown.append(prefix + key)
            continue
        sub = field.annotation
        if isinstance(value, dict) and isinstance(sub, type) and issubclass(sub, BaseModel):
            unknown.extend(_unknown_keys(sub, value, f"{prefix}{key}."))
    return unknown


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _safe_errors(exc: ValidationError) -> str:
    """A ValidationError as 'loc: message' pairs, without the offending input (it may be a secret)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors())


class LexprepSettingsBlock(Block):
    """lexprep pipeline settings for one environment: a profile, nested overrides, and optional
    database and API-credential blocks. ``to_settings()`` returns a :class:`lexprep.settings.Settings`.

    Example:
        ```python
        from lexprep_prefect.blocks import LexprepSettingsBlock

        lexprep_settings_block = LexprepSettingsBlock.load("BLOCK_NAME")
        settings = lexprep_settings_block.to_settings()
        ```
    """

    _block_type_name = "Lexprep Settings"
    _block_type_slug = "lexprep-settings"
    _logo_url = "https://raw.githubusercontent.com/PrefectHQ/prefect/420d0d6a78bb6df1fc18bcf188fdad43c1d22ea9/assets/block-logos/process.png"  # noqa: E501
    _documentation_url = "https://docs.pydantic.dev/latest/concepts/pydantic_settings/"
    _code_example = """
    ```python
    from lexprep_prefect.blocks import LexprepSettingsBlock

    lexprep_settings_block = LexprepSettingsBlock.load("BLOCK_NAME")
    settings = lexprep_settings_block.to_settings()
    ```
    """

    profile: Optional[Literal["local", "cloud", "gpu"]] = Field(
        default=None,
        description="Pipeline profile (local, cloud or gpu); empty keeps LEXPREP_PROFILE or local.",
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            'Nested settings on top of the environment, e.g. {"chunk": {"size_tokens": 384}, '
            '"ocr": {"engine": "tesseract"}}; keys are lexprep.settings.Settings fields.'
        ),
    )
    database: Optional[LexprepDatabase] = Field(
        default=None, description="The store's database; sets db_url when given."
    )
    mistral: Optional[MistralCredentials] = Field(
        default=None, description="Mistral credentials for the mistral OCR engine."
    )
    openai: Optional[OpenAICredentials] = Field(
        default=None, description="OpenAI (or compatible) credentials for the openai transcription engine."
    )

    @field_validator("overrides")
    @classmethod
    def _known_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = _unknown_keys(Settings, value)
        if unknown:
            raise ValueError(f"unknown lexprep settings: {', '.join(unknown)}")
        return value

    def settings_data(self, **extra: Any) -> dict[str, Any]:
        """The keyword arguments ``to_settings`` gives ``Settings`` (secrets revealed: never log this)."""
        data = copy.deepcopy(self.overrides)
        for creds in (self.mistral, self.openai):
            if creds is not None:
                data = _deep_merge(data, creds.settings_overrides())
        if self.database is not None:
            data["db_url"] = self.database.url()
        if self.profile:
            data["profile"] = self.profile
        return _deep_merge(data, extra)

    def to_settings(self, **extra: Any) -> Settings:
        """A :class:`lexprep.settings.Settings` from the environment, then this block, then ``extra``
        (nested dicts merge, e.g. ``to_settings(db_url="sqlite:///x.db", chunk={"size_tokens": 256})``).

        Raises:
            ConfigurationError: the merged settings do not validate (the message names the fields,
                never their values), or the database block is incomplete.
        """
        data = self.settings_data(**extra)
        unknown = _unknown_keys(Settings, data)
        if unknown:
            raise ConfigurationError(f"unknown lexprep settings: {', '.join(unknown)}")
        try:
            return Settings(**data)
        except ValidationError as exc:
            raise ConfigurationError(f"invalid lexprep settings: {_safe_errors(exc)}") from None
