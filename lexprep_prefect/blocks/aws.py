"""AWS credentials for s3:// sources from a Prefect ``AwsCredentials`` block (prefect-aws).

The core (``lexprep.sources``) takes s3fs ``storage_options``; this module, on the Prefect side,
turns a saved block into them::

    from lexprep_prefect.blocks.aws import storage_options_from_block
    refs = list_sources("s3://matter-123/inbox", storage_options_from_block("matter-s3"))

Works for AWS S3 and for any S3-compatible endpoint set in the block's
``aws_client_parameters.endpoint_url`` (Supabase Storage's ``.../storage/v1/s3``, MinIO).
Secrets are never logged: only the block name and which kind of credential it holds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lexprep.errors import ConfigurationError, MissingDependencyError

if TYPE_CHECKING:  # pragma: no cover
    from prefect_aws import AwsCredentials

log = logging.getLogger("lexprep.blocks.aws")


def storage_options_from_credentials(creds: "AwsCredentials") -> dict[str, Any]:
    """The s3fs ``S3FileSystem`` keyword arguments for an AwsCredentials block (secrets revealed).

    - ``aws_access_key_id`` / ``aws_secret_access_key`` / ``aws_session_token`` -> key / secret / token
    - ``profile_name`` -> profile; ``region_name`` -> client_kwargs.region_name
    - ``aws_client_parameters``: endpoint_url, use_ssl; verify / verify_cert_path -> client_kwargs;
      config (botocore Config options) -> config_kwargs
    - ``assume_role_arn``: the role is assumed now (an STS call) and its temporary key, secret and
      token are returned; they expire (an hour by default), so call this per flow run.

    Nothing set at all gives ``{}``: s3fs then uses the environment and instance roles.
    """
    opts: dict[str, Any] = {}
    if getattr(creds, "assume_role_arn", None):
        session = creds.get_boto3_session()  # performs sts:AssumeRole
        frozen = session.get_credentials().get_frozen_credentials()
        opts.update(key=frozen.access_key, secret=frozen.secret_key)
        if frozen.token:
            opts["token"] = frozen.token
    else:
        if creds.aws_access_key_id:
            opts["key"] = creds.aws_access_key_id
        if creds.aws_secret_access_key is not None:
            opts["secret"] = creds.aws_secret_access_key.get_secret_value()
        if creds.aws_session_token:
            opts["token"] = creds.aws_session_token
        if creds.profile_name:
            opts["profile"] = creds.profile_name
    client_kwargs: dict[str, Any] = {}
    if creds.region_name:
        client_kwargs["region_name"] = creds.region_name
    params = creds.aws_client_parameters
    if params is not None:
        if params.endpoint_url:
            opts["endpoint_url"] = params.endpoint_url
        if params.use_ssl is False:
            opts["use_ssl"] = False
        if params.verify_cert_path:
            client_kwargs["verify"] = str(params.verify_cert_path)
        elif params.verify is not None:
            client_kwargs["verify"] = params.verify if isinstance(params.verify, bool) else str(params.verify)
        if params.config:
            opts["config_kwargs"] = dict(params.config)
    if client_kwargs:
        opts["client_kwargs"] = client_kwargs
    return opts


def storage_options_from_block(block_name: str) -> dict[str, Any]:
    """Load the AwsCredentials block ``block_name`` and return s3fs storage options (a dict).

    Raises:
        MissingDependencyError: prefect-aws is not installed (``lexprep[aws]``).
        ConfigurationError: no such block (or it is not an AwsCredentials block).
    """
    try:
        from prefect_aws import AwsCredentials
    except ImportError as exc:
        raise MissingDependencyError("prefect-aws", "lexprep[aws]") from exc
    try:
        # _sync: a plain call even inside a running event loop (Prefect's async_dispatch)
        creds = AwsCredentials.load(block_name, _sync=True)
    except ValueError as exc:  # Prefect: "Unable to find block document named ..."
        raise ConfigurationError(f"AwsCredentials block not found: {block_name}") from exc
    opts = storage_options_from_credentials(creds)
    kinds = sorted(k for k in ("key", "token", "profile") if k in opts)
    log.info(
        "S3 storage options from block %r: credentials=%s endpoint=%s",
        block_name,
        "+".join(kinds) or "environment",
        opts.get("endpoint_url", "aws"),
    )
    return opts
