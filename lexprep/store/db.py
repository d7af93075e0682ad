"""Engines, connection checks and migrations.

SQLite gets, on every new connection: ``PRAGMA foreign_keys=ON`` (so ``ON DELETE CASCADE`` works),
``journal_mode=WAL`` (readers never block the writer) and ``busy_timeout=30000``. The pysqlite
driver's own transaction handling is switched off and SQLAlchemy emits ``BEGIN`` itself (the
recipe in SQLAlchemy's SQLite documentation), so that DDL is transactional and a *write*
transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock up front (waiting up to the
busy timeout for another process) instead of failing half-way when a read lock cannot be upgraded.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from lexprep.errors import ConfigurationError

#: SQLite busy timeout (ms): how long a writer waits for another process's write lock
SQLITE_BUSY_TIMEOUT_MS = 30_000

#: execution option that makes the SQLite "begin" hook emit BEGIN IMMEDIATE
WRITE_OPTION = "lexprep_write"

#: Postgres advisory lock key held while migrating ("lexprep" as a number)
MIGRATION_LOCK_KEY = 0x6C65787072657000

_SQLITE_LOCKS: dict[str, threading.RLock] = {}
_SQLITE_LOCKS_GUARD = threading.Lock()


def parse_url(url: str | URL) -> URL:
    """``url`` as a SQLAlchemy URL; ConfigurationError (without the password) when it is malformed."""
    if isinstance(url, URL):
        return url
    try:
        return make_url(url)
    except ArgumentError as exc:  # the message repeats the URL: do not pass it on
        raise ConfigurationError("the database URL is not a valid SQLAlchemy URL") from exc


def safe_url(url: str | URL) -> str:
    """The URL for messages and logs, with any password replaced by ``***``."""
    try:
        return parse_url(url).render_as_string(hide_password=True)
    except ConfigurationError:
        return "<invalid database URL>"


def scrub(message: str, url: str | URL) -> str:
    """``message`` with the URL's password (if any, also URL-encoded) replaced by ``***``."""
    try:
        password = parse_url(url).password
    except ConfigurationError:
        return message
    if password:
        from urllib.parse import quote, quote_plus

        for form in {str(password), quote(str(password), safe=""), quote_plus(str(password))}:
            if form:
                message = message.replace(form, "***")
    return message


def error_reason(exc: BaseException, url: str | URL) -> str:
    """A one-line reason for a database error: the driver's message, never SQL parameters.

    ``str()`` of a SQLAlchemy error appends the statement and its parameters, which may hold
    document text; only the underlying driver error is used here.
    """
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    reason = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return scrub(reason, url)


def sqlite_lock(url: URL) -> threading.RLock:
    """The process-wide lock serialising write transactions on one SQLite database."""
    key = url.database or ":memory:"
    if key not in (":memory:", "") and not key.startswith("file:"):
        key = str(Path(key).expanduser().resolve())
    with _SQLITE_LOCKS_GUARD:
        return _SQLITE_LOCKS.setdefault(key, threading.RLock())


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine for ``url`` with lexprep's connection settings (see the module doc).

    Raises:
        ConfigurationError: the URL is malformed or names a driver that is not installed
            (``postgresql+psycopg`` needs ``lexprep[postgres]``).
    """
    parsed = parse_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    options: dict[str, Any] = {"pool_pre_ping": not is_sqlite}
    if is_sqlite and parsed.database in (None, "", ":memory:"):
        # one shared connection, or every thread would see its own empty database
        options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    options.update(kwargs)
    try:
        engine = create_engine(parsed, **options)
    except ImportError as exc:
        hint = "; install lexprep[postgres]" if parsed.get_backend_name() == "postgresql" else ""
        raise ConfigurationError(
            f"cannot reach database {safe_url(parsed)}: driver not installed ({exc.name or exc}){hint}"
        ) from exc
    except (ArgumentError, SQLAlchemyError) as exc:
        raise ConfigurationError(f"cannot use database {safe_url(parsed)}: {error_reason(exc, parsed)}") from exc
    if is_sqlite:
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; fsync at checkpoints
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def check_connection(engine: Engine, url: str | URL) -> None:
    """Connect once and run ``SELECT 1``.

    Raises:
        ConfigurationError: ``cannot reach database <url without password>: <reason>``.
    """
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        raise ConfigurationError(f"cannot reach database {safe_url(url)}: {error_reason(exc, url)}") from None


def migrations_path() -> Path:
    """The directory of the Alembic environment shipped inside the package."""
    return Path(str(resources.files("lexprep.store") / "migrations"))


def alembic_config(connection: Any | None = None) -> Any:
    """An Alembic Config for the packaged migrations (no alembic.ini needed).

    With ``connection``, env.py runs on it (the caller owns the transaction).
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_path()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Run the packaged migrations up to ``revision`` on ``engine`` in one transaction.

    Concurrent callers are serialised: on SQLite by ``BEGIN IMMEDIATE`` (and the process lock), on
    Postgres by a transaction-scoped advisory lock, so several workers may open a fresh database at once.

    Raises:
        ConfigurationError: the migration failed, or the database carries a revision this version of
            lexprep does not know (it was migrated by a newer lexprep).
    """
    from alembic import command
    from alembic.util import CommandError

    url = engine.url
    lock = sqlite_lock(url) if engine.dialect.name == "sqlite" else None
    if lock is not None:
        lock.acquire()
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            command.upgrade(alembic_config(conn), revision)
    except CommandError as exc:
        raise ConfigurationError(
            f"cannot migrate database {safe_url(url)}: {scrub(str(exc), url)} "
            "(was it created by a newer lexprep?)"
        ) from exc
    except SQLAlchemyError as exc:
        raise ConfigurationError(f"cannot migrate database {safe_url(url)}: {error_reason(exc, url)}") from exc
    finally:
        if lock is not None:
            lock.release()


def migrate(url: str | URL, revision: str = "head") -> None:
    """Create or upgrade the schema at ``url`` to ``revision`` (default: the newest).

    Raises:
        ConfigurationError: the database cannot be reached or migrated (message without the password).
    """
    engine = make_engine(url)
    try:
        check_connection(engine, url)
        upgrade_engine(engine, revision)
    finally:
        engine.dispose()
