"""Start-up and set-up without services: which Prefect API `lexprep run` picks (lexprep_prefect.server),
and scripts/system-deps (what `make demo` / `make test` install or skip), driven with stand-in commands."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from lexprep_prefect import server

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def health():
    """A tiny HTTP server answering GET /api/health with 200 (a stand-in Prefect API)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if "/locked/" in self.path:  # an API that wants credentials even for /health (Prefect Cloud)
                self.send_response(401)
            else:
                self.send_response(200 if self.path.endswith("/health") else 404)
            self.end_headers()
            self.wfile.write(b"true")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/api"
    httpd.shutdown()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    for name in ("PREFECT_API_URL", "PREFECT_PROFILE", "PREFECT_PROFILES_PATH", "PREFECT_SERVER_API_PORT",
                 "PREFECT_SERVER_API_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    return tmp_path


def _closed_port_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


def test_nothing_configured_means_ephemeral(home):
    assert server.resolve_api() == server.Api(None, "ephemeral")


def test_environment_url_wins_and_must_answer(home, health, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", health)
    assert server.resolve_api() == server.Api(health, "PREFECT_API_URL")
    locked = health.replace("/api", "/locked/api")
    monkeypatch.setenv("PREFECT_API_URL", locked)
    assert server.resolve_api() == server.Api(locked, "PREFECT_API_URL")  # it answers: a 401 is an answer
    assert not server.healthy(locked)
    dead = _closed_port_url()
    monkeypatch.setenv("PREFECT_API_URL", dead)
    with pytest.raises(server.ApiUnreachable, match="does not answer") as info:
        server.resolve_api(probe_timeout=0.5)
    assert dead in str(info.value) and "\n" not in str(info.value)


def test_profile_url_is_used_without_importing_prefect(home, health):
    (home / "profiles.toml").write_text(
        f'active = "work"\n\n[profiles.work]\nPREFECT_API_URL = "{health}"\n\n[profiles.ephemeral]\n')
    assert server.resolve_api() == server.Api(health, "Prefect profile")
    (home / "profiles.toml").write_text(
        f'active = "work"\n\n[profiles.work]\nPREFECT_API_URL = "{_closed_port_url()}"\n')
    with pytest.raises(server.ApiUnreachable, match="active Prefect profile"):
        server.resolve_api(probe_timeout=0.5)


def test_recorded_server_is_reused_and_a_stale_record_removed(home, health):
    server.state_path().write_text(json.dumps({"pid": os.getpid(), "api_url": health, "ui_url": "", "log": ""}))
    assert server.resolve_api() == server.Api(health, "lexprep server")
    status = server.server_status()
    assert status["running"] and status["healthy"]
    # a record whose process is gone: removed, and the run falls back to the ephemeral server
    dead = subprocess.Popen(["true"])
    dead.wait()
    server.state_path().write_text(json.dumps({"pid": dead.pid, "api_url": health, "ui_url": "", "log": ""}))
    assert server.resolve_api() == server.Api(None, "ephemeral")
    assert not server.state_path().exists()


def test_prefect_background_server_is_found(home, health, monkeypatch):
    port = health.rsplit(":", 1)[1].split("/")[0]
    monkeypatch.setenv("PREFECT_SERVER_API_PORT", port)
    (home / "server.pid").write_text("12345")
    assert server.resolve_api() == server.Api(health, "prefect server --background")


def test_start_refuses_a_taken_port(home):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(server.ConfigurationError, match="already in use"):
            server.start_server(port=s.getsockname()[1], timeout=1)
    assert server.stop_server() is None


def test_a_deployment_run_needs_a_store(monkeypatch, tmp_path):
    """process-matter outside a deployment may use ./lexprep.db; inside one it must be told where."""
    from lexprep.errors import ConfigurationError
    from lexprep.settings import Settings
    from lexprep_prefect.flows.process_matter import _store_url

    monkeypatch.delenv("LEXPREP_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert _store_url(Settings(), None).endswith("lexprep.db")
    monkeypatch.setenv("PREFECT__RUNTIME__DEPLOYMENT__ID", "5b8a1e9e-0000-4000-8000-000000000001")
    with pytest.raises(ConfigurationError, match="no store for this deployment run"):
        _store_url(Settings(), None)
    assert _store_url(Settings(db_url="sqlite:////data/x.db"), "sqlite:////data/x.db") == "sqlite:////data/x.db"
    assert _store_url(Settings(db_url="sqlite:////data/y.db"), None) == "sqlite:////data/y.db"


# ---------------------------------------------------------------------------- scripts/system-deps


TOOLS = {  # package -> the command it provides (or None: a file under SYSTEM_DEPS_ROOT)
    "tesseract-ocr": "tesseract", "ffmpeg": "ffmpeg", "antiword": "antiword", "libwpd-tools": "wpd2text",
    "ocrmypdf": "ocrmypdf", "espeak-ng": "espeak-ng", "git": "git",
    "tesseract-ocr-eng": None, "postgresql": None, "fonts-dejavu-core": None,
}
FILES = {"tesseract-ocr-eng": "usr/share/tesseract-ocr/5/tessdata/eng.traineddata",
         "postgresql": "usr/lib/postgresql/15/bin/pg_ctl",
         "fonts-dejavu-core": "usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"}


def _stub(path: Path, body: str) -> None:
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(0o755)


@pytest.fixture
def fake_machine(tmp_path):
    """An empty machine: PATH holds only stand-ins for id, apt-get (records its arguments and 'installs' the
    packages' commands and files) and sudo; the script's file checks look under an empty root."""
    bin_dir, root = tmp_path / "bin", tmp_path / "root"
    bin_dir.mkdir()
    root.mkdir()
    log = tmp_path / "apt.log"
    installs = "\n".join(
        f'  {pkg}) ' + (f'printf "#!/bin/bash\\n" > "{bin_dir}/{cmd}"; /bin/chmod +x "{bin_dir}/{cmd}";;' if cmd else
                        f'/bin/mkdir -p "$(/usr/bin/dirname "{root}/{FILES[pkg]}")"; /usr/bin/touch "{root}/{FILES[pkg]}";;')
        for pkg, cmd in TOOLS.items())
    _stub(bin_dir / "apt-get", f'echo "$*" >> "{log}"\n[ "$1" = install ] || exit 0\n'
          f'for p in "$@"; do case "$p" in\n{installs}\n  esac; done')

    def run(*args: str, uid: int = 0, sudo: bool = False, apt: bool = True) -> subprocess.CompletedProcess:
        _stub(bin_dir / "id", f'echo {uid}')
        (bin_dir / "sudo").unlink(missing_ok=True)
        if sudo:
            _stub(bin_dir / "sudo", '[ "$1" = -n ] && shift; [ "$1" = true ] && exit 0; "$@"')
        if not apt:
            (bin_dir / "apt-get").rename(bin_dir / "apt-get.off")
        try:
            return subprocess.run(["/bin/bash", str(REPO / "scripts" / "system-deps"), *args], capture_output=True,
                                  text=True, env={"PATH": str(bin_dir), "SYSTEM_DEPS_ROOT": str(root) + "/"})
        finally:
            if not apt:
                (bin_dir / "apt-get.off").rename(bin_dir / "apt-get")

    return {"run": run, "log": log, "bin": bin_dir}


def test_system_deps_installs_what_is_missing_as_root(fake_machine):
    proc = fake_machine["run"]("demo")
    assert proc.returncode == 0, proc.stderr
    assert "installing tesseract-ocr tesseract-ocr-eng ffmpeg antiword libwpd-tools" in proc.stdout
    calls = fake_machine["log"].read_text().splitlines()
    assert calls[0].startswith("update") and calls[1].startswith("install -y")
    again = fake_machine["run"]("demo")
    assert again.returncode == 0 and again.stdout == ""  # all there now: silent, nothing installed
    assert len(fake_machine["log"].read_text().splitlines()) == 2
    test = fake_machine["run"]("test")
    assert "installing postgresql ocrmypdf espeak-ng fonts-dejavu-core git" in test.stdout
    assert fake_machine["run"]("--check", "test").returncode == 0


def test_system_deps_uses_passwordless_sudo(fake_machine):
    proc = fake_machine["run"]("demo", uid=1000, sudo=True)
    assert proc.returncode == 0 and "installing" in proc.stdout
    assert (fake_machine["bin"] / "tesseract").exists()


def test_system_deps_says_what_it_skips_without_root(fake_machine):
    proc = fake_machine["run"]("test", uid=1000)
    assert proc.returncode == 0  # make goes on
    assert "not root and no passwordless sudo" in proc.stdout
    assert "sudo apt-get install tesseract-ocr" in proc.stdout
    assert "tesseract-ocr: OCR of scanned pages" in proc.stdout and "postgresql: the PostgreSQL store tests" in proc.stdout
    assert not fake_machine["log"].exists()
    no_apt = fake_machine["run"]("demo", apt=False)
    assert "apt-get is not available" in no_apt.stdout and no_apt.returncode == 0
    check = fake_machine["run"]("--check", "demo", uid=1000)
    assert check.returncode == 1 and "missing: antiword" in check.stdout


def test_make_demo_and_test_run_the_script():
    makefile = (REPO / "Makefile").read_text()
    for target, purpose in (("demo", "demo"), ("test", "test")):
        body = makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]
        assert f"scripts/system-deps {purpose}" in body.splitlines()[1], body
    assert (REPO / ".ci" / "run").read_text().strip().endswith("make test")


def test_system_deps_knows_when_venv_cannot_work(fake_machine, tmp_path):
    """Debian's python3 lacks ensurepip until python3-venv is installed: `make` would fail at `python3 -m venv`."""
    python = tmp_path / "python3"
    _stub(python, 'exit 1')  # every import fails, as ensurepip does without python3-venv
    proc = subprocess.run(["/bin/bash", str(REPO / "scripts" / "system-deps"), "--check", "venv"], capture_output=True,
                          text=True, env={"PATH": str(fake_machine["bin"]), "PYTHON": str(python)})
    assert proc.returncode == 1 and "python3-venv" in proc.stdout
    makefile = (REPO / "Makefile").read_text()
    assert "scripts/system-deps venv" in makefile.split("$(BIN)/python:", 1)[1].split("\n\n", 1)[0]
