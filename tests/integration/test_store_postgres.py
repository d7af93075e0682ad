"""The store on a real PostgreSQL server (tests/conftest.py starts one; skipped without server binaries).

The whole store suite (tests/unit/test_store.py) also runs on PostgreSQL through ``store_url``; this
file holds what only makes sense there: several processes migrating one fresh database at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from lexprep.store import Store, make_engine
from lexprep.store.db import alembic_config

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

# waits for a common start time (so the processes really race), then migrates; the URL comes in the
# environment, not argv, so that the password is not in the process list
MIGRATE = """
import os, sys, time
from lexprep.store import migrate
start = float(sys.argv[1])
time.sleep(max(0.0, start - time.time()))
migrate(os.environ["LEXPREP_TEST_URL"])
"""


def test_concurrent_migrations_of_a_fresh_database(postgres_db_url: str):
    """Four processes open a fresh Postgres database at the same moment: all succeed (advisory lock)."""
    start = time.time() + 3.0  # after every interpreter has imported lexprep
    env = {**os.environ, "LEXPREP_TEST_URL": postgres_db_url, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", MIGRATE, str(start)], env=env, cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert [rc for rc, _ in results] == [0, 0, 0, 0], [err[-2000:] for _, err in results]
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = make_engine(postgres_db_url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert versions == [head]
    assert {"matters", "documents", "pages", "chunks", "mentions", "entities", "relationships", "runs"} <= tables


def test_store_open_on_postgres_hides_password(postgres_db_url: str, caplog):
    """A working Postgres store never shows its password in repr, safe_url or log records."""
    from sqlalchemy import make_url

    password = make_url(postgres_db_url).password
    assert password
    caplog.set_level("DEBUG", logger="lexprep")
    with Store.open(postgres_db_url) as store:
        matter_id = store.ensure_matter("Acme v. Widget")
        store.status(matter_id)
        assert password not in repr(store) and password not in store.safe_url
    assert all(password not in r.getMessage() for r in caplog.records)
