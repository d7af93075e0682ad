"""Shared fixtures. ../shared (real documents written by others) is read in place, never copied."""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LEXPREP_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the repository; the test is skipped with a reason when it is absent."""
    if not (SHARED / "corpus").is_dir():
        pytest.skip(f"shared corpus not found at {SHARED} (set LEXPREP_SHARED_DIR)")
    return SHARED


# ---------------------------------------------------------------------------- PostgreSQL
#
# ``postgres_url`` (session) is a throwaway PostgreSQL server; ``postgres_db_url`` (per test) is a fresh
# empty database on it; ``store_url`` runs a test on SQLite and on PostgreSQL. They live here, not in
# tests/integration/conftest.py, because the store suite in tests/unit needs them too (a fixture in a
# sub-directory's conftest is invisible to its siblings).


#: use this server instead of starting one; its user needs CREATEDB (and CREATEROLE for the RLS test)
POSTGRES_URL_ENV = "LEXPREP_TEST_POSTGRES_URL"


def _postgres_bin() -> Path | None:
    """The newest Debian server binaries (/usr/lib/postgresql/<v>/bin), else pg_ctl on PATH."""
    found = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1]
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path and (Path(on_path).parent / "initdb").exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(argv: list[str]) -> list[str]:
    """``argv`` run as the ``postgres`` system user when we are root (postgres refuses to run as root)."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def _libpq_url(url: str) -> str:
    """A SQLAlchemy ``postgresql+psycopg://`` URL as a libpq one (for psycopg.connect)."""
    from sqlalchemy import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql+psycopg://lexprep:<pw>@127.0.0.1:<port>/lexprep`` on a throwaway server.

    The server is initdb'ed into a temporary directory (as the ``postgres`` user when we are root),
    listens on 127.0.0.1 on a free port with its unix socket in that directory, and is stopped and
    deleted at the end of the session. ``LEXPREP_TEST_POSTGRES_URL`` names a server to use instead.
    Skipped (with the reason) when no PostgreSQL server binaries or no psycopg are installed.
    """
    pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'lexprep[postgres]')")
    if os.environ.get(POSTGRES_URL_ENV):
        yield os.environ[POSTGRES_URL_ENV]
        return
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin): apt-get install postgresql, "
                    f"or set {POSTGRES_URL_ENV}")
    if os.geteuid() == 0:
        import pwd

        try:
            server_user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' system user to run the server as")
    root = Path(tempfile.mkdtemp(prefix="lexprep-pg-"))
    data, log_file = root / "data", root / "server.log"
    pwfile = root / "pw"
    password = secrets.token_hex(16)
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        for p in (root, pwfile):
            os.chown(p, server_user.pw_uid, server_user.pw_gid)
    port = _free_port()
    started = False
    try:
        subprocess.run(
            _as_server_user([
                str(bindir / "initdb"), "-D", str(data), "-U", "lexprep", f"--pwfile={pwfile}", "-E", "UTF8",
                "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync",
            ]),
            check=True, capture_output=True, text=True,
        )
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        proc = subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log_file), "-w", "-t", "60",
                             "-o", options, "start"]),
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            log_text = log_file.read_text(errors="replace") if log_file.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {proc.stderr.strip()}\n{log_text[-2000:]}")
        started = True
        _PG_SERVERS[port] = dict(bindir=bindir, data=data, log_file=log_file, options=options)
        subprocess.run(
            [str(bindir / "createdb"), "-h", str(root), "-p", str(port), "-U", "lexprep", "lexprep"],
            check=True, capture_output=True, text=True,
        )
        yield f"postgresql+psycopg://lexprep:{password}@127.0.0.1:{port}/lexprep"
    finally:
        _PG_SERVERS.pop(port, None)
        if started:
            subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                                            "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


#: the throwaway servers ``postgres_url`` started, by port: what :class:`PostgresServer` needs to stop/start one
_PG_SERVERS: dict[int, dict] = {}


class PostgresServer:
    """Stop and start the throwaway server behind ``postgres_url`` (to test a database restart mid-run).

    ``stop()`` is ``pg_ctl stop -m fast`` (open connections are terminated); ``start()`` starts it again
    on the same port with the same options. Run as the ``postgres`` user when we are root, like the fixture.
    """

    def __init__(self, port: int, bindir: Path, data: Path, log_file: Path, options: str):
        self.port, self.bindir, self.data, self.log_file, self.options = port, bindir, data, log_file, options

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            _as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]),
            capture_output=True, text=True, timeout=120,
        )

    def is_running(self) -> bool:
        return self._pg_ctl("status").returncode == 0

    def stop(self) -> None:
        proc = self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop")
        if proc.returncode != 0 and self.is_running():
            raise RuntimeError(f"pg_ctl stop failed: {proc.stderr.strip()}")

    def start(self) -> None:
        if self.is_running():
            return
        proc = self._pg_ctl("-l", str(self.log_file), "-w", "-t", "60", "-o", self.options, "start")
        if proc.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {proc.stderr.strip()}")


@pytest.fixture
def postgres_server(postgres_url: str) -> Iterator[PostgresServer]:
    """Control of the server behind ``postgres_url``; skipped when the server is not ours
    (``LEXPREP_TEST_POSTGRES_URL``). The server is running again when the test ends."""
    from sqlalchemy import make_url

    info = _PG_SERVERS.get(make_url(postgres_url).port)
    if info is None:
        pytest.skip(f"the PostgreSQL server was not started by the fixture ({POSTGRES_URL_ENV}): cannot restart it")
    server = PostgresServer(make_url(postgres_url).port, **info)
    try:
        yield server
    finally:
        server.start()


@contextlib.contextmanager
def _postgres_admin(url: str) -> Iterator[object]:
    import psycopg

    with psycopg.connect(_libpq_url(url), autocommit=True) as conn:
        yield conn


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database on the test server (dropped after the test); same URL form as postgres_url."""
    from sqlalchemy import make_url

    name = f"lexprep_t_{uuid.uuid4().hex[:12]}"
    with _postgres_admin(postgres_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with _postgres_admin(postgres_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for the store: a SQLite file in tmp_path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lexprep.db'}"
    return request.getfixturevalue("postgres_db_url")
