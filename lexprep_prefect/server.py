"""Which Prefect API ``lexprep run`` talks to, and a long-lived local server that outlives one command.

Start-up dominates small runs when each ``lexprep run`` starts (and stops) an ephemeral Prefect server:
10-35 s on a 2-core machine. :func:`start_server` starts ``prefect server start`` in its own session, so
it keeps running after the command that started it; its address, process id and log file are recorded
in ``$PREFECT_HOME/lexprep-server.json``. :func:`resolve_api` picks, in order:

1. ``PREFECT_API_URL`` from the environment,
2. ``PREFECT_API_URL`` from the active Prefect profile (``prefect config set PREFECT_API_URL=...``),
3. the server :func:`start_server` started (``lexprep server start``), when it answers,
4. a server started with ``prefect server start --background`` (its pid file in PREFECT_HOME), when
   it answers on PREFECT_SERVER_API_HOST:PORT,
5. none: Prefect's ephemeral server (started for the command, stopped at its end).

A configured API (1, 2) that does not answer is an error (:class:`ApiUnreachable`): the run is not
silently sent elsewhere. Nothing here imports Prefect (the caller puts the chosen URL into PREFECT_API_URL
before it does).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from lexprep.errors import ConfigurationError

#: where the long-lived server is recorded, in PREFECT_HOME
STATE_FILE = "lexprep-server.json"
#: seconds to wait for a started server to answer (a loaded 2-core machine needs 20-40 s)
START_TIMEOUT_S = 120.0
#: seconds one health probe may take
PROBE_TIMEOUT_S = 3.0


class ApiUnreachable(ConfigurationError):
    """A configured Prefect API does not answer (the message is one line and names it)."""


@dataclass(frozen=True)
class Api:
    """The Prefect API a command uses: ``url`` (None: an ephemeral server) and ``origin`` (in words)."""

    url: str | None
    origin: str


def prefect_home() -> Path:
    """PREFECT_HOME (default ``~/.prefect``), without importing Prefect."""
    return Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()


def state_path() -> Path:
    return prefect_home() / STATE_FILE


def probe(api_url: str, timeout: float = PROBE_TIMEOUT_S) -> int | None:
    """The HTTP status of ``GET {api_url}/health`` within ``timeout`` seconds, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:  # an answer all the same (e.g. 401 without an API key)
        return exc.code
    except (OSError, ValueError, urllib.error.URLError):
        return None


def healthy(api_url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when ``GET {api_url}/health`` answers 200 within ``timeout`` seconds."""
    return probe(api_url, timeout) == 200


def wait_healthy(api_url: str, timeout: float, proc: subprocess.Popen | None = None, *,
                 any_answer: bool = False) -> bool:
    """Probe ``api_url`` until it answers 200 (or, with ``any_answer``, any HTTP status: a configured API
    may want credentials for /health) (True), ``timeout`` seconds pass or ``proc`` exits (False)."""
    deadline = time.monotonic() + timeout
    while True:
        status = probe(api_url, timeout=min(PROBE_TIMEOUT_S, max(0.5, deadline - time.monotonic())))
        if status == 200 or (any_answer and status is not None):
            return True
        if (proc is not None and proc.poll() is not None) or time.monotonic() >= deadline:
            return False
        time.sleep(0.25)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_state() -> dict | None:
    """The recorded server (``{pid, api_url, ui_url, log, started_at, home}``), or None."""
    try:
        return json.loads(state_path().read_text())
    except (OSError, ValueError):
        return None


def server_status() -> dict:
    """``{"running": bool, "healthy": bool, **recorded state}``; a stale record (its process is gone)
    is removed."""
    state = read_state()
    if state is None:
        return {"running": False, "healthy": False}
    if not _pid_alive(int(state.get("pid", 0))):
        state_path().unlink(missing_ok=True)
        return {"running": False, "healthy": False, "stale": state}
    return {"running": True, "healthy": healthy(state["api_url"]), **state}


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def start_server(host: str = "127.0.0.1", port: int | None = 4200, timeout: float = START_TIMEOUT_S,
                 ui: bool = True) -> dict:
    """Start ``prefect server start`` in its own session (it outlives this process) and wait until it answers.

    Args:
        host, port: where it listens; ``port=None`` picks a free one.
        timeout: seconds to wait for it to answer.
        ui: serve the Prefect UI too.

    Returns:
        The recorded state ``{pid, api_url, ui_url, log, started_at, home, already_running}``.

    Raises:
        ConfigurationError: the port is taken, or the server exited or did not answer in time (the
            message ends with the last line of its log).
    """
    current = server_status()
    if current["running"]:
        if current["healthy"] or wait_healthy(current["api_url"], timeout):
            return {**current, "already_running": True}
        raise ConfigurationError(f"a lexprep Prefect server (pid {current['pid']}) is running but does not answer at "
                                 f"{current['api_url']}: see {current.get('log')}, or `lexprep server stop`")
    port = _free_port(host) if port is None else port
    if not _port_free(host, port):
        raise ConfigurationError(f"port {port} on {host} is already in use: choose another with --port")
    home = prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    log = home / "lexprep-server.log"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": "true" if ui else "false", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
            env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=str(home),
        )
    url_host = f"[{host}]" if ":" in host else host
    state = {"pid": proc.pid, "api_url": f"http://{url_host}:{port}/api", "ui_url": f"http://{url_host}:{port}",
             "log": str(log), "started_at": time.time(), "home": str(home)}
    state_path().write_text(json.dumps(state, indent=2))
    if not wait_healthy(state["api_url"], timeout, proc):
        exited = proc.poll()
        _terminate(proc.pid)
        state_path().unlink(missing_ok=True)
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        why = f"exited with status {exited}" if exited is not None else f"did not answer within {timeout:.0f} s"
        raise ConfigurationError(f"the Prefect server {why}" + (f": {tail[0][:300]}" if tail else ""))
    return {**state, "already_running": False}


def _terminate(pid: int, grace: float = 20.0) -> None:
    """SIGTERM the server's process group (it leads its own session), SIGKILL after ``grace`` seconds."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our child (start then stop in one process)
                return
        except ChildProcessError:
            pass
        if not _pid_alive(pid):
            return
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop_server() -> dict | None:
    """Stop the recorded server; returns its state, or None when none was recorded."""
    state = read_state()
    if state is None:
        return None
    if _pid_alive(int(state["pid"])):
        _terminate(int(state["pid"]))
    state_path().unlink(missing_ok=True)
    return state


def _profile_setting(name: str) -> str | None:
    """A setting of the active Prefect profile (``$PREFECT_HOME/profiles.toml``, or PREFECT_PROFILES_PATH),
    read without importing Prefect: importing it freezes the settings of the process before
    :func:`resolve_api`'s choice could be put into the environment."""
    import tomllib

    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or prefect_home() / "profiles.toml").expanduser()
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, ValueError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or data.get("active") or "ephemeral"
    value = ((data.get("profiles") or {}).get(active) or {}).get(name)
    return str(value) if value else None


def _background_server_url() -> str | None:
    """The address of a ``prefect server start --background`` server, when its pid file is in PREFECT_HOME."""
    if not (prefect_home() / "server.pid").exists():
        return None
    host = os.environ.get("PREFECT_SERVER_API_HOST") or _profile_setting("PREFECT_SERVER_API_HOST") or "127.0.0.1"
    port = os.environ.get("PREFECT_SERVER_API_PORT") or _profile_setting("PREFECT_SERVER_API_PORT") or "4200"
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/api"


def resolve_api(probe_timeout: float = PROBE_TIMEOUT_S) -> Api:
    """The Prefect API to use (see the module docstring for the order).

    Raises:
        ApiUnreachable: PREFECT_API_URL (environment or profile) is set and does not answer.
    """
    url = os.environ.get("PREFECT_API_URL")
    if url:
        if not wait_healthy(url, probe_timeout, any_answer=True):
            raise ApiUnreachable(f"the Prefect API at {url} (PREFECT_API_URL) does not answer: start it, "
                                 "or unset PREFECT_API_URL to use a local server")
        return Api(url, "PREFECT_API_URL")
    url = _profile_setting("PREFECT_API_URL")
    if url:
        if not wait_healthy(url, probe_timeout, any_answer=True):
            raise ApiUnreachable(f"the Prefect API at {url} (PREFECT_API_URL of the active Prefect profile) does not "
                                 "answer: start it, or `prefect config unset PREFECT_API_URL`")
        return Api(url, "Prefect profile")
    status = server_status()
    if status["running"] and status["healthy"]:
        return Api(status["api_url"], "lexprep server")
    background = _background_server_url()
    if background and healthy(background):
        return Api(background, "prefect server --background")
    return Api(None, "ephemeral")


__all__ = ["Api", "ApiUnreachable", "healthy", "read_state", "resolve_api", "server_status", "start_server",
           "state_path", "stop_server"]
