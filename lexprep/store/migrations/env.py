"""Alembic environment for lexprep's store.

Run programmatically by :func:`lexprep.store.migrate` (which passes an open connection in
``config.attributes["connection"]``). From the command line, give the URL with
``alembic -x url=sqlite:///lexprep.db ...`` or ``sqlalchemy.url`` in an ini file of your own.
``render_as_batch`` is on for SQLite so that ALTERs become table copies there.
"""

from __future__ import annotations

from alembic import context

from lexprep.store.schema import metadata

config = context.config
target_metadata = metadata


def _url() -> str | None:
    return context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=bool(url and url.startswith("sqlite")),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    from lexprep.store.db import make_engine

    url = _url()
    if not url:
        raise SystemExit("no database URL: pass -x url=... or set sqlalchemy.url")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run_on(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
