"""Crash safety of the real `lexprep run` in subprocesses: kill -9 mid-run (SQLite and Postgres), Ctrl-C
and SIGTERM mid-run, the Postgres server stopped mid-run, and an unreachable Postgres at start.

The matter (~20 documents): the demo matter (PDF, DOCX, an e-mail with a DOCX attachment, a text
filing) plus text files of legal-ish sentences and a few DOCX files made here. Every crash is followed
by a plain re-run, whose ``status --json`` must equal a clean run's into a fresh database, with no
duplicate row and every document in a terminal status.

The store is polled with ``lexprep.store.Store`` built without :meth:`Store.open` (no migration from
the test process while the CLI migrates), reading ``find_matter`` / ``document_statuses``.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from lexprep.demo import write_demo_matter
from tests.hostile import running

pytestmark = [pytest.mark.integration, pytest.mark.prefect]

BIN = Path(sys.executable).parent
MATTER = "crash-matter"
TERMINAL = {"done", "partial", "failed", "unsupported", "needs_ocr", "needs_transcription"}

PEOPLE = ["Alice Moreno", "Daniel Whitfield", "Priya Natarajan", "Oskar Lindgren", "Grace Okonkwo",
          "Samuel Park", "Helena Brandt", "Marcus Ellison", "Ruth Adeyemi", "Victor Caldwell"]
ORGS = ["Harborline Logistics, Inc.", "Meridian Coastal Shipping Co.", "Bluewater Capital LLC",
        "Northgate Insurance Company", "Cascadia Freight Partners", "Ironwood Holdings Corp."]
PLACES = ["Seattle, Washington", "Los Angeles, California", "Portland, Oregon", "Boston, Massachusetts",
          "Houston, Texas", "Chicago, Illinois"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "September", "October"]
SENTENCES = [
    "On {date}, {p1} of {o1} wrote to {p2} about the shipment held at the port of {place}.",
    "{o1} agreed to pay {o2} the sum of ${amount} within thirty days of {date}.",
    "Counsel for {o2} argued that the claim is barred under 28 U.S.C. § 1332 and Fed. R. Civ. P. 12(b)(6).",
    "See Bell Atlantic Corp. v. Twombly, 550 U.S. 544 (2007); Ashcroft v. Iqbal, 556 U.S. 662 (2009).",
    "The United States District Court for the Northern District of California set a hearing in Case No. 3:24-cv-0{n}.",
    "{p1} testified that {o1} never received the notice of default sent from {place} on {date}.",
    "The parties dispute whether the limitation of liability in section {n} of the agreement applies.",
    "{p2}, general counsel of {o2}, approved the settlement of ${amount} on {date}.",
    "Under Cal. Civ. Code § 1542 the release extends to unknown claims, as {p1} acknowledged in {place}.",
    "The court in Hadley v. Baxendale, 156 Eng. Rep. 145 (1854), limited consequential damages.",
]


def _paragraphs(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        out.append(" ".join(
            rng.choice(SENTENCES).format(
                p1=rng.choice(PEOPLE), p2=rng.choice(PEOPLE), o1=rng.choice(ORGS), o2=rng.choice(ORGS),
                place=rng.choice(PLACES), date=f"{rng.choice(MONTHS)} {rng.randint(1, 28)}, {rng.randint(2019, 2025)}",
                amount=f"{rng.randint(10, 990)},{rng.randint(100, 999)}", n=rng.randint(1000, 9999),
            )
            for _ in range(4)
        ))
    return out


def make_matter(folder: Path, n_text: int = 12, n_docx: int = 3) -> Path:
    """The demo matter plus ``n_text`` text files and ``n_docx`` DOCX files of legal-ish sentences."""
    import docx

    write_demo_matter(folder)
    rng = random.Random(20240611)
    notes = folder / "notes"
    notes.mkdir(parents=True, exist_ok=True)
    for i in range(n_text):
        (notes / f"memo-{i:02d}.txt").write_text(f"MEMORANDUM {i}\n\n" + "\n\n".join(_paragraphs(rng, 10)) + "\n")
    for i in range(n_docx):
        document = docx.Document()
        document.add_heading(f"Letter agreement {i}", level=1)
        for para in _paragraphs(rng, 8):
            document.add_paragraph(para)
        document.save(str(notes / f"letter-{i:02d}.docx"))
    return folder


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, PREFECT_HOME=str(home), COLUMNS="500")
    env.pop("PREFECT_API_URL", None)
    return env


def lexprep(*args: str, cwd: Path, home: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "lexprep"), *args], capture_output=True, text=True, cwd=cwd,
                          env=_env(home), timeout=timeout)


def status_json(db: str, cwd: Path, home: Path) -> dict:
    res = lexprep("status", "--matter", MATTER, "--db", db, "--json", cwd=cwd, home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    status = json.loads(res.stdout)
    status.pop("last_run")
    return status


def _statuses(store) -> list[tuple[str, str, str | None]]:
    """(file_name, status, error) of the matter's documents, [] while the CLI has not created them."""
    try:
        matter_id = store.find_matter(MATTER)
        return [] if matter_id is None else store.document_statuses(matter_id)
    except Exception:  # tables not created yet
        return []


def start_run(src: Path, db: str, cwd: Path, home: Path, log: Path, **env: str) -> subprocess.Popen:
    """`lexprep run` in its own session (process group): killpg reaches the NER workers and the
    ephemeral Prefect server too. ``env``: extra environment variables."""
    out = open(log, "w")
    return subprocess.Popen(
        [str(BIN / "lexprep"), "run", str(src), "--matter", MATTER, "--db", db, "--json"],
        cwd=cwd, env={**_env(home), **env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )


def wait_until_partly_done(proc: subprocess.Popen, db: str, total: int, log: Path, timeout: float = 300,
                           at_least: int = 1):
    """Poll the store until at least ``at_least`` documents are terminal but not all ``total`` are."""
    from lexprep.store import Store

    store = Store(db)  # no open(): no migration racing the CLI's
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the run ended (exit {proc.returncode}) before it could be interrupted:\n"
                            f"{log.read_text()[-3000:]}")
            rows = _statuses(store)
            terminal = [r for r in rows if r[1] in TERMINAL]
            if at_least <= len(terminal) < total:
                return rows
            time.sleep(0.03)
        pytest.fail("no document finished in time")
    finally:
        store.close()


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)
    # every process of the group (NER workers, the Prefect server) is gone
    for _ in range(100):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail("processes of the killed run survived")


def check_no_duplicates(db: str) -> None:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            q = lambda sql: conn.execute(text(sql)).all()  # noqa: E731
            assert q("SELECT document_id, chunk_index FROM chunks GROUP BY document_id, chunk_index "
                     "HAVING COUNT(*) > 1") == []
            assert q("SELECT id FROM chunks GROUP BY id HAVING COUNT(*) > 1") == []
            assert q("SELECT id FROM mentions GROUP BY id HAVING COUNT(*) > 1") == []
            assert q("SELECT matter_id, sha256 FROM documents GROUP BY matter_id, sha256 HAVING COUNT(*) > 1") == []
            assert q("SELECT id FROM entities GROUP BY id HAVING COUNT(*) > 1") == []
            statuses = {s for (s,) in q("SELECT DISTINCT status FROM documents")}
            assert statuses <= TERMINAL, statuses
            # no orphans left by the interrupted run
            assert q("SELECT m.id FROM mentions m LEFT JOIN chunks c ON c.id = m.chunk_id WHERE c.id IS NULL") == []
            assert q("SELECT c.id FROM chunks c LEFT JOIN documents d ON d.id = c.document_id WHERE d.id IS NULL") == []
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def matter(tmp_path_factory) -> dict:
    """The matter and a clean run of it into a fresh SQLite store (the reference counts)."""
    root = tmp_path_factory.mktemp("crash")
    src = make_matter(root / "matter")
    home = root / "prefect-home"  # shared by the module's runs: Prefect's own database is made once
    db = f"sqlite:///{root / 'clean.db'}"
    res = lexprep("run", str(src), "--matter", MATTER, "--db", db, "--json", cwd=root, home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    clean = status_json(db, root, home)
    assert clean["documents"] >= 20
    assert clean["documents_by_status"].get("done", 0) >= 20
    return dict(root=root, src=src, home=home, clean=clean, total=clean["documents"])


def _kill_and_resume(matter: dict, db: str, tmp_path: Path) -> None:
    log = tmp_path / "killed.log"
    proc = start_run(matter["src"], db, tmp_path, matter["home"], log)
    try:
        rows = wait_until_partly_done(proc, db, matter["total"], log, at_least=3)
    finally:
        kill_group(proc)
    terminal_at_kill = sum(1 for r in rows if r[1] in TERMINAL)
    assert 3 <= terminal_at_kill < matter["total"]
    # an e-mail done before its attachment is processed again (crash-safe attachments): not counted
    finished_for_good = sum(1 for r in rows if r[1] in TERMINAL and not r[0].endswith(".eml"))

    res = lexprep("run", str(matter["src"]), "--matter", MATTER, "--db", db, "--json", cwd=tmp_path,
                  home=matter["home"])
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout)
    assert summary["skipped"] >= finished_for_good, (rows, summary["processed"])  # resumed, not redone
    assert summary["failures"] == []
    assert status_json(db, tmp_path, matter["home"]) == matter["clean"]
    check_no_duplicates(db)


def test_kill_9_mid_run_sqlite(matter, tmp_path):
    _kill_and_resume(matter, f"sqlite:///{tmp_path / 'store.db'}", tmp_path)


def test_kill_9_mid_run_postgres(matter, tmp_path, postgres_db_url):
    _kill_and_resume(matter, postgres_db_url, tmp_path)


def test_postgres_restart_mid_run(matter, tmp_path, postgres_db_url, postgres_server):
    from sqlalchemy import make_url

    password = make_url(postgres_db_url).password
    log = tmp_path / "restart.log"
    # the database does not come back: the run gives up after its outage budget, here short
    proc = start_run(matter["src"], postgres_db_url, tmp_path, matter["home"], log, LEXPREP_DB_OUTAGE_WAIT_S="5")
    try:
        wait_until_partly_done(proc, postgres_db_url, matter["total"], log)
        postgres_server.stop()
        try:
            code = proc.wait(timeout=240)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the run hung after the database went away:\n{log.read_text()[-3000:]}")
    finally:
        if proc.poll() is None:
            kill_group(proc)
        postgres_server.start()
    output = log.read_text()
    assert code != 0, output[-3000:]
    error_lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert error_lines, f"no one-line error in the output:\n{output[-3000:]}"
    assert "database" in error_lines[-1]
    # whatever Prefect logs before it (with -v), the run ends with the one-line reason
    assert [line for line in output.splitlines() if line.strip()][-1] == error_lines[-1]
    assert password not in output

    res = lexprep("run", str(matter["src"]), "--matter", MATTER, "--db", postgres_db_url, "--json",
                  cwd=tmp_path, home=matter["home"])
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout)["failures"] == []
    assert status_json(postgres_db_url, tmp_path, matter["home"]) == matter["clean"]
    check_no_duplicates(postgres_db_url)


def test_postgres_outage_within_the_budget_is_waited_out(matter, tmp_path, postgres_db_url, postgres_server):
    """A database back after 20 s (longer than the ~15 s the status updates used to wait) costs nothing."""
    log = tmp_path / "outage.log"
    proc = start_run(matter["src"], postgres_db_url, tmp_path, matter["home"], log)
    try:
        wait_until_partly_done(proc, postgres_db_url, matter["total"], log)
        postgres_server.stop()
        time.sleep(20)
        postgres_server.start()
        code = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            kill_group(proc)
        postgres_server.start()
    output = log.read_text()
    assert code == 0, output[-3000:]
    summary = json.loads(re.search(r"^\{$.*^\}$", output, re.M | re.S).group(0))
    assert summary["failures"] == [], summary["failures"]
    assert status_json(postgres_db_url, tmp_path, matter["home"]) == matter["clean"]
    check_no_duplicates(postgres_db_url)


def test_unreachable_postgres_at_start(matter, tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    home = tmp_path / "prefect-home"
    res = lexprep("run", str(matter["src"]), "--matter", MATTER, "--db",
                  "postgresql+psycopg://u:secretpw@127.0.0.1:1/x", cwd=cwd, home=home, timeout=120)
    output = res.stdout + res.stderr
    assert res.returncode == 2, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: cannot reach database postgresql+psycopg://u:***@127.0.0.1:1/x")
    assert "secretpw" not in output
    assert list(cwd.iterdir()) == []  # no lexprep.db, nothing else
    assert not home.exists()  # Prefect was never started


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    parent = int(fh.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def _interrupt(matter: dict, db: str, tmp_path: Path, signum: int, whole_group: bool) -> tuple[int, float, str]:
    """Start a run, interrupt it mid-way; (exit code, seconds it took to exit, its output). Every process it
    had (NER and extraction workers, the Prefect server) must be gone."""
    log = tmp_path / "interrupted.log"
    proc = start_run(matter["src"], db, tmp_path, matter["home"], log)
    try:
        wait_until_partly_done(proc, db, matter["total"], log, at_least=3)
        tree = _descendants(proc.pid)
        assert len(tree) > 2, tree  # the Prefect server and worker processes are there to be ended
        started = time.monotonic()
        if whole_group:  # a terminal's Ctrl-C reaches the whole foreground process group
            os.killpg(proc.pid, signum)
        else:  # `kill PID`
            os.kill(proc.pid, signum)
        code = proc.wait(timeout=60)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            kill_group(proc)
    time.sleep(0.5)
    assert [p for p in tree if running(p)] == [], "processes of the interrupted run survived"
    return code, took, log.read_text()


@pytest.mark.parametrize("signum, whole_group", [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["ctrl-c", "sigterm"])
def test_interrupt_stops_promptly_and_the_next_run_resumes(matter, tmp_path, signum, whole_group):
    db = f"sqlite:///{tmp_path / 'store.db'}"
    code, took, output = _interrupt(matter, db, tmp_path, signum, whole_group)
    assert code == 128 + signum, output[-3000:]
    assert took < 15, took
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines[-1] == (f"interrupted ({signal.Signals(signum).name}): stopped; the next run redoes the documents "
                         "that were in progress"), output[-3000:]
    assert "Traceback" not in output, output[-4000:]
    engine = create_engine(db)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, error FROM documents")).all()
    engine.dispose()
    caught = [error for status, error in rows if status not in TERMINAL]
    assert caught and all(error and error.startswith("run interrupted") for error in caught), rows
    assert all(status != "failed" for status, _ in rows), rows  # nothing recorded as failed by the stop

    res = lexprep("run", str(matter["src"]), "--matter", MATTER, "--db", db, "--json", cwd=tmp_path,
                  home=matter["home"])
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout)["failures"] == []
    assert status_json(db, tmp_path, matter["home"]) == matter["clean"]
    check_no_duplicates(db)
