"""Connection options for object-store sources (s3fs ``storage_options``), secrets as SecretStr."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class S3Options(BaseModel):
    """How to reach an S3-compatible store: AWS S3, Supabase Storage's S3 endpoint, MinIO, moto.

    Every field is optional: what is unset comes from the environment as boto does it
    (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_PROFILE``,
    ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``, ``AWS_DEFAULT_REGION``, instance roles).

    Supabase Storage: ``endpoint_url="https://<project>.supabase.co/storage/v1/s3"``, ``region``
    the project's region, ``key``/``secret`` an S3 access key pair from the dashboard,
    ``addressing_style="path"``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint_url: str | None = Field(None, description="S3 API URL; None = AWS (or AWS_ENDPOINT_URL)")
    region: str | None = Field(None, description="region name, e.g. eu-west-1")
    key: SecretStr | None = Field(None, description="access key id")
    secret: SecretStr | None = Field(None, description="secret access key")
    token: SecretStr | None = Field(None, description="session token (temporary credentials)")
    profile: str | None = Field(None, description="a profile in ~/.aws/credentials")
    anon: bool = Field(False, description="unsigned requests (public buckets)")
    addressing_style: Literal["auto", "path", "virtual"] | None = Field(
        None, description="bucket in the path or in the host name; 'path' for most non-AWS endpoints"
    )
    verify: bool | str | None = Field(None, description="TLS verification: False, or a CA bundle path")

    def to_storage_options(self) -> dict[str, Any]:
        """The s3fs ``S3FileSystem`` keyword arguments (secrets revealed: never log the result)."""
        opts: dict[str, Any] = {}
        if self.anon:
            opts["anon"] = True
        if self.key is not None:
            opts["key"] = self.key.get_secret_value()
        if self.secret is not None:
            opts["secret"] = self.secret.get_secret_value()
        if self.token is not None:
            opts["token"] = self.token.get_secret_value()
        if self.profile:
            opts["profile"] = self.profile
        if self.endpoint_url:
            opts["endpoint_url"] = self.endpoint_url
        client_kwargs: dict[str, Any] = {}
        if self.region:
            client_kwargs["region_name"] = self.region
        if self.verify is not None:
            client_kwargs["verify"] = self.verify
        if client_kwargs:
            opts["client_kwargs"] = client_kwargs
        if self.addressing_style:
            opts["config_kwargs"] = {"s3": {"addressing_style": self.addressing_style}}
        return opts
