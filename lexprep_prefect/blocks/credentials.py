"""API credentials for the cloud profile, as Prefect blocks: Mistral (OCR) and OpenAI (transcription, LLM).

Each block turns into lexprep settings overrides (``settings_overrides()``), so the flow gets the key as
a SecretStr inside :class:`lexprep.settings.Settings` and never as a plain parameter. The API key is a
SecretStr: Prefect stores it encrypted, the UI masks it, and ``repr``/logs show ``**********``.

Block type names carry a ``Lexprep`` prefix so their slugs (``lexprep-mistral-credentials``,
``lexprep-openai-credentials``) never collide with a Prefect collection's own (prefect-openai registers
``openai-credentials``).
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic import Field, SecretStr
from prefect.blocks.core import Block

from lexprep.errors import MissingDependencyError


class MistralCredentials(Block):
    """An API key (and optionally a server URL) for Mistral's API, used by the ``mistral`` OCR engine.

    Example:
        ```python
        from lexprep_prefect.blocks import MistralCredentials

        mistral_credentials_block = MistralCredentials.load("BLOCK_NAME")
        overrides = mistral_credentials_block.settings_overrides()
        ```
    """

    _block_type_name = "Lexprep Mistral Credentials"
    _block_type_slug = "lexprep-mistral-credentials"
    _logo_url = "https://raw.githubusercontent.com/PrefectHQ/prefect/420d0d6a78bb6df1fc18bcf188fdad43c1d22ea9/assets/block-logos/secret.png"  # noqa: E501
    _documentation_url = "https://docs.mistral.ai/api/"
    _code_example = """
    ```python
    from lexprep_prefect.blocks import MistralCredentials

    mistral_credentials_block = MistralCredentials.load("BLOCK_NAME")
    client = mistral_credentials_block.get_client()  # needs the mistralai package
    ```
    """

    api_key: SecretStr = Field(default=..., title="API Key", description="The Mistral API key.")
    server_url: Optional[str] = Field(
        default=None,
        title="Server URL",
        description="Mistral API base URL; empty means Mistral's own (https://api.mistral.ai).",
    )

    def settings_overrides(self) -> dict[str, Any]:
        """Nested lexprep settings for the Mistral OCR engine: ``{"ocr": {"mistral_api_key", "mistral_base_url"?}}``.

        The key is revealed here only to be wrapped again in Settings' SecretStr field.
        """
        ocr: dict[str, Any] = {"mistral_api_key": self.api_key.get_secret_value()}
        if self.server_url:
            ocr["mistral_base_url"] = self.server_url
        return {"ocr": ocr}

    def get_client(self) -> Any:
        """A ``mistralai.Mistral`` client for these credentials.

        Raises:
            MissingDependencyError: the ``mistralai`` package is not installed.
        """
        try:
            from mistralai import Mistral
        except ImportError as exc:
            raise MissingDependencyError("mistralai", "pip install mistralai") from exc
        kwargs: dict[str, Any] = {"api_key": self.api_key.get_secret_value()}
        if self.server_url:
            kwargs["server_url"] = self.server_url
        return Mistral(**kwargs)


class OpenAICredentials(Block):
    """An API key for OpenAI or any OpenAI-compatible server (vLLM, llama.cpp, Ollama) via ``base_url``.

    Used by the ``openai`` transcription engine, the ``llm`` NER backend and LLM-assisted resolution.

    Example:
        ```python
        from lexprep_prefect.blocks import OpenAICredentials

        openai_credentials_block = OpenAICredentials.load("BLOCK_NAME")
        overrides = openai_credentials_block.settings_overrides()
        ```
    """

    _block_type_name = "Lexprep OpenAI Credentials"
    _block_type_slug = "lexprep-openai-credentials"
    _logo_url = "https://raw.githubusercontent.com/PrefectHQ/prefect/420d0d6a78bb6df1fc18bcf188fdad43c1d22ea9/assets/block-logos/secret.png"  # noqa: E501
    _documentation_url = "https://platform.openai.com/docs/api-reference/authentication"
    _code_example = """
    ```python
    from lexprep_prefect.blocks import OpenAICredentials

    openai_credentials_block = OpenAICredentials.load("BLOCK_NAME")
    client = openai_credentials_block.get_client()  # needs the openai package
    ```
    """

    api_key: SecretStr = Field(
        default=...,
        title="API Key",
        description="The OpenAI API key (any non-empty string for a local server that ignores it).",
    )
    base_url: Optional[str] = Field(
        default=None,
        title="Base URL",
        description="OpenAI-compatible API base URL, e.g. http://localhost:8000/v1; empty means OpenAI's own.",
    )
    organization: Optional[str] = Field(
        default=None, description="OpenAI organization ID sent with each request; empty sends none."
    )

    def settings_overrides(self) -> dict[str, Any]:
        """Nested lexprep settings for the OpenAI transcription engine and the LLM (entity extraction and
        LLM-assisted resolution): ``{"asr": {"openai_api_key", "openai_base_url"?}, "llm": {"api_key",
        "base_url"?}}`` (the key is re-wrapped as a SecretStr by Settings).
        """
        asr: dict[str, Any] = {"openai_api_key": self.api_key.get_secret_value()}
        llm: dict[str, Any] = {"api_key": self.api_key.get_secret_value()}
        if self.base_url:
            asr["openai_base_url"] = self.base_url
            llm["base_url"] = self.base_url
        return {"asr": asr, "llm": llm}

    def get_client(self, **kwargs: Any) -> Any:
        """An ``openai.OpenAI`` client for these credentials (extra keyword arguments pass through).

        Raises:
            MissingDependencyError: the ``openai`` package is not installed.
        """
        try:
            from openai import OpenAI
        except ImportError as exc:
            raise MissingDependencyError("openai", "pip install openai") from exc
        kwargs.setdefault("api_key", self.api_key.get_secret_value())
        if self.base_url:
            kwargs.setdefault("base_url", self.base_url)
        if self.organization:
            kwargs.setdefault("organization", self.organization)
        return OpenAI(**kwargs)
