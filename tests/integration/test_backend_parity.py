"""The same matter through the real `lexprep run` on SQLite and on Postgres gives the same store.

Input: the demo matter plus bad input (an empty file, a truncated PDF, binary bytes named .txt).
Compared: ``status --json`` (minus ``last_run`` and ``matter_id``) and the exported JSONL files modulo
row order (ids are content-derived, so they are compared too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lexprep.demo import write_demo_matter

pytestmark = [pytest.mark.integration, pytest.mark.prefect]

BIN = Path(sys.executable).parent
MATTER = "parity"


def lexprep(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PREFECT_HOME=str(home), COLUMNS="500")
    env.pop("PREFECT_API_URL", None)
    return subprocess.run([str(BIN / "lexprep"), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("parity")
    src = root / "matter"
    write_demo_matter(src)
    bad = src / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    pdf = (src / "opinion.pdf").read_bytes()
    (bad / "truncated.pdf").write_bytes(pdf[: len(pdf) // 3])
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 8)
    return dict(root=root, src=src, home=root / "prefect-home")


def _run_and_export(source: dict, db: str, name: str) -> dict:
    root, home = source["root"], source["home"]
    run = lexprep("run", str(source["src"]), "--matter", MATTER, "--db", db, "--json", cwd=root, home=home)
    assert run.returncode == 0, run.stderr[-3000:]
    status = lexprep("status", "--matter", MATTER, "--db", db, "--json", cwd=root, home=home)
    assert status.returncode == 0, status.stderr[-3000:]
    out = root / f"export-{name}"
    export = lexprep("export", "--matter", MATTER, "--db", db, "--out", str(out), cwd=root, home=home)
    assert export.returncode == 0, export.stderr[-3000:]
    counts = json.loads(status.stdout)
    counts.pop("last_run")
    counts.pop("matter_id")
    return dict(
        status=counts,
        documents=_jsonl(out / "documents.jsonl"),
        chunks=_jsonl(out / "chunks.jsonl"),
        mentions=_jsonl(out / "mentions.jsonl"),
        entities=_jsonl(out / "entities.jsonl"),
        relationships=_jsonl(out / "relationships.jsonl"),
        facts=_jsonl(out / "facts.jsonl"),
    )


@pytest.fixture(scope="module")
def both(source, postgres_url) -> dict:
    """One run on SQLite and one on a fresh Postgres database (created here: module scope)."""
    import uuid

    import psycopg
    from sqlalchemy import make_url

    name = f"lexprep_parity_{uuid.uuid4().hex[:10]}"
    admin = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    pg = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield dict(
            sqlite=_run_and_export(source, f"sqlite:///{source['root'] / 'store.db'}", "sqlite"),
            postgres=_run_and_export(source, pg, "postgres"),
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_status_is_identical(both):
    lite, pg = both["sqlite"]["status"], both["postgres"]["status"]
    assert lite == pg
    # the bad input is there, recorded alike
    assert lite["documents_by_status"]["done"] == 5
    assert lite["documents_by_status"].get("failed", 0) + lite["documents_by_status"].get("unsupported", 0) == 3


def _doc_rows(run: dict) -> set:
    chunks_per_doc: dict[str, int] = {}
    for c in run["chunks"]:
        chunks_per_doc[c["document_id"]] = chunks_per_doc.get(c["document_id"], 0) + 1
    return {
        (d["file_name"], d["sha256"], d["status"], d["error"], d["category"], len(d["pages"]),
         chunks_per_doc.get(d["id"], 0))
        for d in run["documents"]
    }


def test_documents_are_identical(both):
    lite, pg = _doc_rows(both["sqlite"]), _doc_rows(both["postgres"])
    assert lite == pg
    assert len(lite) == 8


def test_pages_and_chunks_are_identical(both):
    def pages(run):
        return {(d["sha256"], p["number"], p["method"], p["text"]) for d in run["documents"] for p in d["pages"]}

    def chunks(run):
        return {(c["id"], c["document_id"], c["chunk_index"], c["text"], c["char_start"], c["char_end"],
                 c["page_start"], c["page_end"], c["token_count"],
                 frozenset((m["label"], m["text"], m["start"], m["end"]) for m in c["mentions"]))
                for c in run["chunks"]}

    assert pages(both["sqlite"]) == pages(both["postgres"])
    assert chunks(both["sqlite"]) == chunks(both["postgres"])


def test_entities_and_relationships_are_identical(both):
    def entities(run):
        return {(e["label"], e["name"]) for e in run["entities"]}

    def relationships(run):
        return {(r["type"], r["source"], r["target"], round(float(r["weight"]), 6), r["role"])
                for r in run["relationships"]}

    def mentions(run):
        return {(m["id"], m["document_id"], m["label"], m["doc_start"], m["doc_end"], m["entity_id"], m["link_id"],
                 m["link_method"], m["scope"], json.dumps(m["attrs"], sort_keys=True)) for m in run["mentions"]}

    assert entities(both["sqlite"]) == entities(both["postgres"])
    assert len(entities(both["sqlite"])) > 20
    assert mentions(both["sqlite"]) == mentions(both["postgres"])
    assert relationships(both["sqlite"]) == relationships(both["postgres"])


def test_facts_are_identical(both):
    def facts(run):
        return {(f["id"], f["document_id"], f["kind"], f["value"], f["normalized"], f["role"], f["entity_id"],
                 json.dumps(f["evidence"], sort_keys=True), json.dumps(f["attrs"], sort_keys=True)) for f in run["facts"]}

    lite, pg = facts(both["sqlite"]), facts(both["postgres"])
    assert lite == pg and len(lite) > 5
    assert both["sqlite"]["status"]["facts_by_kind"] == both["postgres"]["status"]["facts_by_kind"]
