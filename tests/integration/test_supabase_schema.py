"""supabase/migrations: the same schema as the Alembic migrations, plus row level security per matter.

Run on the throwaway PostgreSQL server of tests/conftest.py (skipped without server binaries). As
on Supabase, the role ``authenticated`` exists (created here, cluster-wide, if missing) and the
user's id comes from ``request.jwt.claim.sub`` through ``auth.uid()`` (a stub the SQL creates when
there is no Supabase ``auth`` schema).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import make_url

from lexprep.models import Fact, MergeRecord, Relationship
from lexprep.store import Store, chunk_id_for, make_engine
from lexprep.store import schema as t
from lexprep.store.db import alembic_config
from tests.unit.test_store import build_recording, build_result, resolve_all, source

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[2] / "supabase" / "migrations"
#: the tables the SQL adds beyond the ORM metadata
SUPABASE_ONLY = {"matter_members"}
#: every table of a matter's data, with the columns that identify a row
DATA_TABLES = {
    "matters": ("id",), "documents": ("id",), "pages": ("document_id", "number"), "segments": ("document_id", "idx"),
    "chunks": ("id",),
    "mentions": ("id",), "entities": ("id",), "entity_merges": ("id",), "entity_overrides": ("id",),
    "relationships": ("id",), "runs": ("id",), "quality_results": ("id",), "facts": ("id",),
}


def migration_files() -> list[Path]:
    """supabase/migrations/*.sql in the order Supabase applies them (by file name: timestamp first)."""
    files = sorted(MIGRATIONS.glob("*.sql"))
    assert files, f"no migrations in {MIGRATIONS}"
    return files


def supabase_sql(files: list[Path] | None = None) -> str:
    return "\n".join(f.read_text(encoding="utf-8") for f in (migration_files() if files is None else files))


def psycopg_connect(url: str, **kw: Any) -> Any:
    import psycopg

    return psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False), **kw)


def apply_supabase_sql(url: str, files: list[Path] | None = None) -> None:
    """Apply every supabase/migrations file (or ``files``), in order, in one transaction."""
    with psycopg_connect(url) as conn:
        conn.execute(supabase_sql(files))  # no parameters: psycopg runs the whole script


@pytest.fixture(scope="session")
def authenticated_role(postgres_url: str) -> str:
    """The role Supabase gives signed-in users (NOLOGIN, not a superuser), created if missing."""
    with psycopg_connect(postgres_url, autocommit=True) as conn:
        row = conn.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone()
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'authenticated'").fetchone()
        if exists is None:
            if not (row and row[0]):
                pytest.skip("the test server's user cannot create the role 'authenticated'")
            conn.execute("CREATE ROLE authenticated NOLOGIN NOINHERIT")
    return "authenticated"


@pytest.fixture
def supabase_db_url(postgres_db_url: str, authenticated_role: str) -> Iterator[str]:
    apply_supabase_sql(postgres_db_url)
    yield postgres_db_url


def schema_diff(url: str) -> list[Any]:
    """Alembic's comparison of the database with the ORM metadata (the Supabase-only tables left out)."""

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return not (type_ == "table" and name in SUPABASE_ONLY)

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True, "include_name": include_name}
            )
            return compare_metadata(ctx, t.metadata)
    finally:
        engine.dispose()


def alembic_head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


# ---------------------------------------------------------------------------- schema


def test_supabase_schema_matches_orm_metadata(supabase_db_url: str):
    """Same tables, columns, types, nullability, defaults, keys and indexes as lexprep/store/schema.py."""
    assert schema_diff(supabase_db_url) == []
    with psycopg_connect(supabase_db_url) as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert version == [(alembic_head(),)], "supabase/migrations is behind the Alembic migrations: add a file"
    # Store.open sees an up-to-date schema: nothing to migrate, and the store works
    with Store.open(supabase_db_url) as store:
        matter_id = store.ensure_matter("Acme v. Widget")
        assert store.status(matter_id)["documents"] == 0
    assert schema_diff(supabase_db_url) == []
    apply_supabase_sql(supabase_db_url)  # idempotent
    assert schema_diff(supabase_db_url) == []


def test_supabase_sql_applies_over_an_alembic_schema(postgres_db_url: str, authenticated_role: str):
    """A database Alembic created first gets matter_members and RLS from the SQL, and nothing else changes."""
    Store.open(postgres_db_url).close()
    apply_supabase_sql(postgres_db_url)
    assert schema_diff(postgres_db_url) == []
    with psycopg_connect(postgres_db_url) as conn:
        rls = dict(conn.execute(
            "SELECT c.relname, c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"
        ).fetchall())
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert set(DATA_TABLES) | SUPABASE_ONLY | {"alembic_version"} <= set(rls)
    assert all(rls.values()), f"RLS off on {[k for k, v in rls.items() if not v]}"
    assert version == [(alembic_head(),)]


def test_supabase_files_upgrade_an_older_database_step_by_step(postgres_db_url: str, authenticated_role: str):
    """A Supabase database set up with the first file (revision 0002, with data) takes each later file
    on its own, as `supabase db push` would, and ends at the Alembic head with its rows intact."""
    files = migration_files()
    assert len(files) >= 2 and files[0].name.startswith("20261122000000")
    apply_supabase_sql(postgres_db_url, files[:1])
    with psycopg_connect(postgres_db_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        conn.execute("INSERT INTO matters (id, name, created_at) VALUES ('m', 'M', now())")
        conn.execute("INSERT INTO documents (id, matter_id, sha256, source_uri, file_name, size, kind, status, "
                     "created_at, updated_at) VALUES ('d', 'm', 'x', 'u', 'f', 1, 'pdf', 'done', now(), now())")
        conn.execute("INSERT INTO pages (document_id, number, method, text) VALUES ('d', 1, 'text_layer', 'hi')")
    for f in files[1:]:
        apply_supabase_sql(postgres_db_url, [f])
    assert schema_diff(postgres_db_url) == []
    with psycopg_connect(postgres_db_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(alembic_head(),)]
        assert conn.execute("SELECT text, dpi, attempts FROM pages").fetchall() == [("hi", None, None)]
    apply_supabase_sql(postgres_db_url)  # everything again: idempotent
    assert schema_diff(postgres_db_url) == []


# ---------------------------------------------------------------------------- row level security


def fill_matter(store: Store, name: str) -> str:
    """A matter with rows in every table: a document and its pages, chunks and mentions, a recording and
    its transcript segments, facts, entities, merges, an override, relationships, a run and a quality result."""
    matter_id = store.ensure_matter(name)
    src = source(f"{name}.pdf", name.encode())
    doc_id = store.register_document(matter_id, name, src, None)
    result = build_result(src)
    text = result.clean.text
    result.facts = [Fact("party", text[:5], None, 0, 5, text[:5])]  # a fact, so that the facts table has rows
    store.save_document(doc_id, result, "1", "fp")
    audio = source(f"{name}.wav", f"audio of {name}".encode())
    store.save_document(store.register_document(matter_id, name, audio, None), build_recording(audio), "1", "fp")
    entities, assignments = resolve_all(store, matter_id)
    merges = [MergeRecord(entity_id=entities[0].id, label=entities[0].label, alias="alias", canonical=entities[0].name,
                          method="fuzzy", score=91.0)]
    store.replace_entities(matter_id, entities, assignments, merges)
    store.overrides.add(matter_id, "split", entities[0].id, alias="alias", label=entities[0].label)
    store.replace_relationships(matter_id, [Relationship("document", doc_id, "chunk", chunk_id_for(doc_id, 0),
                                                         "CONTAINS")])
    run_id = store.start_run(matter_id)
    store.finish_run(run_id, {"documents": 1})
    if hasattr(store, "save_quality"):
        store.save_quality(matter_id, run_id, {"success": True})
    else:  # pragma: no cover - before the quality gates existed
        with store.engine.begin() as conn:
            conn.execute(t.quality_results.insert().values(id=uuid.uuid4().hex, matter_id=matter_id, run_id=run_id,
                                                           created_at=t.utcnow(), success=True, report={}))
    return matter_id


def row_keys(conn: Any, table: str) -> set[tuple[Any, ...]]:
    cols = ", ".join(f'"{c}"' for c in DATA_TABLES[table])
    return set(conn.execute(f"SELECT {cols} FROM {table}").fetchall())


def visible_as(url: str, user: uuid.UUID | None) -> dict[str, set[tuple[Any, ...]]]:
    """The rows of every data table that role ``authenticated`` with JWT subject ``user`` can see."""
    with psycopg_connect(url) as conn:
        conn.execute("SET LOCAL ROLE authenticated")
        if user is not None:
            conn.execute(f"SET LOCAL request.jwt.claim.sub = '{user}'")
        seen = {table: row_keys(conn, table) for table in DATA_TABLES}
        seen["matter_members"] = set(conn.execute("SELECT matter_id, user_id FROM matter_members").fetchall())
        conn.rollback()
    return seen


def test_rls_scopes_every_row_to_the_members_matters(supabase_db_url: str):
    with Store.open(supabase_db_url) as store:
        matter_a = fill_matter(store, "Acme v. Widget")
        matter_b = fill_matter(store, "Beta v. Gamma")
    user_a, user_b, stranger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with psycopg_connect(supabase_db_url) as conn:  # the owner: RLS does not apply
        conn.execute("INSERT INTO matter_members (matter_id, user_id) VALUES (%s, %s), (%s, %s)",
                     (matter_a, user_a, matter_b, user_b))
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO authenticated")
        conn.execute("GRANT INSERT, UPDATE, DELETE ON documents TO authenticated")
        everything = {table: row_keys(conn, table) for table in DATA_TABLES}
        of_a: dict[str, set[tuple[Any, ...]]] = {}
        for table in DATA_TABLES:
            if table == "matters":
                where = "id = %s"
            elif table in ("pages", "segments"):
                where = "document_id IN (SELECT id FROM documents WHERE matter_id = %s)"
            else:
                where = "matter_id = %s"
            cols = ", ".join(f'"{c}"' for c in DATA_TABLES[table])
            of_a[table] = set(conn.execute(f"SELECT {cols} FROM {table} WHERE {where}", (matter_a,)).fetchall())
    of_b = {table: everything[table] - of_a[table] for table in DATA_TABLES}
    assert all(of_a[table] and of_b[table] for table in DATA_TABLES), "every table needs rows of both matters"

    seen_a = visible_as(supabase_db_url, user_a)
    for table in DATA_TABLES:
        assert seen_a[table] == of_a[table], table
        assert not seen_a[table] & of_b[table], table
    assert seen_a["matter_members"] == {(matter_a, user_a)}
    seen_b = visible_as(supabase_db_url, user_b)
    assert all(seen_b[table] == of_b[table] for table in DATA_TABLES)
    assert all(not rows for rows in visible_as(supabase_db_url, stranger).values())
    assert all(not rows for rows in visible_as(supabase_db_url, None).values())

    # members read; nobody but the owner (or service_role) writes, even to their own matter
    import psycopg

    with psycopg_connect(supabase_db_url) as conn:
        conn.execute("SET LOCAL ROLE authenticated")
        conn.execute(f"SET LOCAL request.jwt.claim.sub = '{user_a}'")
        assert conn.execute("DELETE FROM documents").rowcount == 0
        assert conn.execute("UPDATE documents SET status = 'x'").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(
                "INSERT INTO documents (id, matter_id, sha256, source_uri, file_name, size, kind, status, created_at, "
                "updated_at) VALUES ('x', %s, 'x', 'x', 'x', 1, 'pdf', 'pending', now(), now())", (matter_a,)
            )
    with Store.open(supabase_db_url) as store:  # the pipeline's own connection still sees everything
        assert store.status(matter_a)["documents"] == 2 and store.status(matter_b)["documents"] == 2
