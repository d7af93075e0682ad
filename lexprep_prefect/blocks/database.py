"""``LexprepDatabase``: where a matter's store lives (PostgreSQL / Supabase, or SQLite), as a Prefect block.

Two ways to fill it in (exactly one):

- ``connection_url``: a whole SQLAlchemy URL (a SecretStr, because it may embed a password), e.g.
  ``postgresql+psycopg://postgres:PW@db.<ref>.supabase.co:5432/postgres?sslmode=require``;
- or the parts: ``host``, ``port``, ``username``, ``password`` (SecretStr), ``database``, ``sslmode``
  and ``driver``.

Supabase: the direct connection is ``db.<project-ref>.supabase.co:5432`` with user ``postgres``; the
shared pooler (Supavisor) is ``aws-0-<region>.pooler.supabase.com`` with user ``postgres.<project-ref>``,
port 5432 for session mode and 6543 for transaction mode. Both want ``sslmode=require``.

``url()`` returns the URL with the password in it, for ``Store.open`` / the flow's ``db`` parameter; it is
never logged. ``safe_url()`` is the same URL with the password masked, for logs and messages.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, SecretStr, model_validator
from prefect.blocks.core import Block

from lexprep.errors import ConfigurationError

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class LexprepDatabase(Block):
    """The SQL database holding lexprep's store: PostgreSQL (Supabase direct or pooler) or SQLite.

    Give either a full SQLAlchemy ``connection_url`` or the parts (host, port, username, password,
    database, sslmode). ``url()`` renders the SQLAlchemy URL (with its password) for the flow;
    ``safe_url()`` masks the password for logs.

    Example:
        Load a saved block and open the store:
        ```python
        from lexprep_prefect.blocks import LexprepDatabase
        from lexprep.store import Store

        database_block = LexprepDatabase.load("BLOCK_NAME")
        store = Store.open(database_block.url())
        ```
    """

    _block_type_name = "Lexprep Database"
    _block_type_slug = "lexprep-database"
    _logo_url = "https://raw.githubusercontent.com/PrefectHQ/prefect/420d0d6a78bb6df1fc18bcf188fdad43c1d22ea9/assets/block-logos/secret.png"  # noqa: E501
    _documentation_url = "https://docs.sqlalchemy.org/en/20/core/engines.html#database-urls"
    _code_example = """
    ```python
    from lexprep_prefect.blocks import LexprepDatabase

    database_block = LexprepDatabase.load("BLOCK_NAME")
    url = database_block.url()  # pass as the process-matter flow's `db` parameter
    ```
    """

    connection_url: Optional[SecretStr] = Field(
        default=None,
        title="Connection URL",
        description=(
            "A whole SQLAlchemy URL, e.g. postgresql+psycopg://user:password@host:5432/postgres?sslmode=require "
            "or sqlite:////data/lexprep.db; when set, leave the other connection fields empty."
        ),
    )
    driver: str = Field(
        default="postgresql+psycopg",
        description="SQLAlchemy dialect+driver used with the parts (postgresql+psycopg, or sqlite).",
    )
    host: Optional[str] = Field(
        default=None,
        description=(
            "Database host, e.g. db.<project-ref>.supabase.co (direct) or "
            "aws-0-<region>.pooler.supabase.com (Supabase pooler)."
        ),
    )
    port: int = Field(
        default=5432,
        description="Database port: 5432 direct or pooler session mode, 6543 Supabase pooler transaction mode.",
    )
    username: Optional[str] = Field(
        default=None,
        description="Database user: postgres for a Supabase direct connection, postgres.<project-ref> for its pooler.",
    )
    password: Optional[SecretStr] = Field(default=None, description="The database user's password.")
    database: Optional[str] = Field(
        default="postgres",
        description="Database name (postgres on Supabase), or the file path when the driver is sqlite.",
    )
    sslmode: Optional[SslMode] = Field(
        default=None,
        description="libpq sslmode for PostgreSQL (Supabase wants require); empty leaves the driver's default.",
    )

    @model_validator(mode="after")
    def _one_way(self) -> "LexprepDatabase":
        if self.connection_url is not None and self.host:
            raise ValueError("give either connection_url or host (and the other parts), not both")
        return self

    def url(self) -> str:
        """The SQLAlchemy URL, password included (a str). Never log it: use ``safe_url()``.

        Raises:
            ConfigurationError: neither ``connection_url`` nor ``host`` is set (for a non-SQLite
                driver), or ``connection_url`` is not a valid SQLAlchemy URL.
        """
        return self._url().render_as_string(hide_password=False)

    def safe_url(self) -> str:
        """The SQLAlchemy URL with its password masked as ``***`` (safe to log)."""
        return self._url().render_as_string(hide_password=True)

    def _url(self):
        from sqlalchemy.engine import URL, make_url
        from sqlalchemy.exc import ArgumentError

        if self.connection_url is not None:
            try:
                return make_url(self.connection_url.get_secret_value())
            except ArgumentError:
                # the message of ArgumentError quotes the URL (and so the password): not re-raised
                raise ConfigurationError("LexprepDatabase.connection_url is not a valid SQLAlchemy URL") from None
        if self.driver.startswith("sqlite"):
            return URL.create(self.driver, database=self.database or None)
        if not self.host:
            raise ConfigurationError("LexprepDatabase needs connection_url or host")
        query = {"sslmode": self.sslmode} if self.sslmode else {}
        return URL.create(
            self.driver,
            username=self.username,
            password=self.password.get_secret_value() if self.password is not None else None,
            host=self.host,
            port=self.port,
            database=self.database,
            query=query,
        )
