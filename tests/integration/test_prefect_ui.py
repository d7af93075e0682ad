"""What a user sees in the Prefect UI after `lexprep run`, read through the API of a real local server.

`lexprep server start` starts a long-lived server (temporary PREFECT_HOME, a free port); `lexprep run`
finds and reuses it (no PREFECT_API_URL anywhere) over a matter with a good text file, an empty PDF and a
truncated PDF. Through the API: the flow run is named after the matter and ends Completed named
"Completed with failures" with a message naming the bad files; the bad documents' task runs are Failed;
the failures and summary artifacts exist under the matter's keys; the run's logs carry lexprep's own
records (progress, the quality gate) but no document text and no secret; the persisted result is the
summary. Also: `lexprep status --watch --until-done`, `lexprep server status|stop`, and an unreachable
PREFECT_API_URL (exit 2, one line).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lexprep.demo import write_demo_matter
from lexprep.report import COMPLETED_WITH_FAILURES, artifact_key

pytestmark = [pytest.mark.integration, pytest.mark.prefect]

BIN = Path(sys.executable).parent
MATTER = "Acme v. Widget (UI test)"
#: a sentence only the text file holds: it must not reach the run's logs
SENTINEL = "Zebulon Quartermaine bequeathed the orchard to Philomena Gastrell"
#: an API key in the run's environment: it must not reach the logs either
SECRET = "sk-ui-test-secret-5c1e9"


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), COLUMNS="200", LEXPREP_ASR__OPENAI_API_KEY=SECRET, DO_NOT_TRACK="1",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", **extra)
    return env


def lexprep(*args: str, home: Path, cwd: Path, timeout: float = 600, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "lexprep"), *args], capture_output=True, text=True, cwd=cwd,
                          env=_env(home, **extra), timeout=timeout)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`lexprep server start --port 0` in a temporary PREFECT_HOME; stopped (and checked stopped) at the end."""
    root = tmp_path_factory.mktemp("ui")
    home = root / "prefect-home"
    started = lexprep("server", "start", "--port", "0", "--timeout", "180", home=home, cwd=root, timeout=240)
    assert started.returncode == 0, started.stdout + started.stderr
    status = lexprep("server", "status", "--json", home=home, cwd=root)
    state = json.loads(status.stdout)
    assert status.returncode == 0 and state["running"] and state["healthy"], status.stdout
    try:
        yield {"root": root, "home": home, "api_url": state["api_url"], "pid": state["pid"]}
    finally:
        stopped = lexprep("server", "stop", home=home, cwd=root)
        assert stopped.returncode == 0, stopped.stderr
        after = lexprep("server", "status", home=home, cwd=root)
        assert after.returncode == 1 and "not running" in after.stdout


@pytest.fixture(scope="module")
def run(server) -> dict:
    root = server["root"]
    src = root / "matter"
    src.mkdir()
    (src / "will.txt").write_text(f"LAST WILL AND TESTAMENT\n\n{SENTINEL} on March 3, 2021 in Boston.\n")
    (src / "empty.pdf").write_bytes(b"")
    demo = root / "demo"
    write_demo_matter(demo)
    pdf = (demo / "opinion.pdf").read_bytes()
    (src / "truncated.pdf").write_bytes(pdf[: len(pdf) // 3])
    db = f"sqlite:///{root / 'store.db'}"
    t0 = time.time()
    proc = lexprep("run", str(src), "--matter", MATTER, "--db", db, "--json", home=server["home"], cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    return {**server, "summary": summary, "db": db, "src": src, "t0": t0}


def _api(api_url: str, fn):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def go():
        async with get_client() as client:
            return await fn(client)

    with temporary_settings({PREFECT_API_URL: api_url}):
        return asyncio.run(go())


def _flow_run(api_url: str):
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    async def read(client):
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[MATTER])))
        assert len(runs) == 1, [r.name for r in runs]
        return runs[0]

    return _api(api_url, read)


def test_run_reused_the_long_lived_server(run):
    summary = run["summary"]
    assert summary["prefect_api"] == "lexprep server"
    assert summary["processed"] == 3 and summary["failed"] == 2
    assert {f["file_name"] for f in summary["failures"]} == {"empty.pdf", "truncated.pdf"}
    assert 0 < summary["seconds_before_first_document"] < summary["wall_seconds"]


def test_flow_run_is_named_after_the_matter_and_shows_the_failures(run):
    flow_run = _flow_run(run["api_url"])
    state = flow_run.state
    assert state.type.value == "COMPLETED" and state.name == COMPLETED_WITH_FAILURES
    assert "2 document(s) failed" in state.message
    assert "empty.pdf" in state.message and "truncated.pdf" in state.message
    # the result is persisted: a caller elsewhere (run_deployment(...).state.result()) gets the summary
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: run["api_url"]}):
        result = state.result()
    assert result["matter"] == MATTER and result["failed"] == 2


def test_bad_documents_task_runs_are_failed(run):
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, TaskRunFilter, TaskRunFilterName

    flow_run = _flow_run(run["api_url"])

    async def read(client):
        return await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])),
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=[f"document {n}" for n in
                                                                        ("will.txt", "empty.pdf", "truncated.pdf")])))

    states = {tr.name: tr.state for tr in _api(run["api_url"], read)}
    assert states["document will.txt"].type.value == "COMPLETED"
    for name in ("document empty.pdf", "document truncated.pdf"):
        assert states[name].type.value == "FAILED" and states[name].name == "Failed", states[name]
    assert "empty" in states["document empty.pdf"].message


def test_artifacts_per_matter(run):
    async def read(client):
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

        found = {}
        for kind in ("summary", "failures", "quality"):
            key = artifact_key(kind, MATTER)
            arts = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
            assert arts, f"no artifact {key}"
            found[kind] = arts[-1]
        return found

    found = _api(run["api_url"], read)
    failures = json.loads(found["failures"].data) if isinstance(found["failures"].data, str) else found["failures"].data
    assert {row["file"] for row in failures} == {"empty.pdf", "truncated.pdf"}
    assert all(row["reason"] and row["run"] == "this" for row in failures)
    md = found["summary"].data
    assert "processed: **3**" in md and "failed: **2**" in md and "| empty.pdf | failed |" in md
    assert "Seconds per stage" in md and "/matter" in md


def test_logs_carry_lexprep_progress_without_text_or_secrets(run):
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    flow_run = _flow_run(run["api_url"])

    async def read(client):
        logs, offset = [], 0
        while True:
            page = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])),
                                          limit=200, offset=offset)
            logs += page
            if len(page) < 200:
                return logs
            offset += 200

    logs = []
    for _ in range(20):  # logs are sent in batches: wait for the last ones
        logs = _api(run["api_url"], read)
        if any(log.name == "lexprep.quality" for log in logs):
            break
        time.sleep(1)
    text = "\n".join(f"{log.name} {log.message}" for log in logs)
    names = {log.name for log in logs}
    assert "lexprep.quality" in names, sorted(names)  # the core's own logger reached the run
    assert "will.txt: done" in text and "empty.pdf: failed" in text and "found 3 file(s)" in text
    assert "Completed with failures: 2 document(s) failed" in text
    assert SENTINEL not in text and "Quartermaine" not in text
    assert SECRET not in text


def test_status_watch_until_done(run):
    proc = lexprep("status", "--matter", MATTER, "--db", run["db"], "--watch", "--until-done", "--interval", "0.2",
                   home=run["home"], cwd=run["root"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "1 done" in proc.stdout and "2 failed" in proc.stdout


def test_status_watch_follows_a_run_as_it_happens(run):
    """A watcher started before the run (the matter does not exist yet) prints documents reaching their
    stages and failures with their reasons, then stops when the run is done."""
    env = _env(run["home"])
    watch = subprocess.Popen([str(BIN / "lexprep"), "status", "--matter", "watched", "--db", run["db"], "--watch",
                              "--until-done", "--interval", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env, cwd=run["root"])
    try:
        proc = lexprep("run", str(run["src"]), "--matter", "watched", "--db", run["db"], home=run["home"],
                       cwd=run["root"])
        assert proc.returncode == 0, proc.stderr[-2000:]
        out, err = watch.communicate(timeout=60)
    finally:
        if watch.poll() is None:
            watch.kill()
    assert watch.returncode == 0, err
    assert "waiting for matter 'watched'" in err
    lines = out.splitlines()
    assert any("empty.pdf: FAILED" in line and "empty" in line.split("FAILED", 1)[1] for line in lines), out
    assert any("will.txt: done" in line for line in lines), out
    assert "run finished: 1 done, 2 failed" in lines[-1], out


def test_unreachable_api_is_one_line_and_exit_2(run):
    t0 = time.monotonic()
    proc = lexprep("run", str(run["src"]), "--matter", "m2", "--db", run["db"], home=run["home"], cwd=run["root"],
                   PREFECT_API_URL="http://127.0.0.1:9/api")
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "http://127.0.0.1:9/api" in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    assert time.monotonic() - t0 < 30


def test_temporary_server_that_does_not_start_is_one_line_and_exit_2(tmp_path):
    """The ephemeral path: a start-up timeout too short for any machine (1 s, from the environment, which the
    CLI's own 180 s default leaves alone) ends in one line and exit 2, not a traceback."""
    write_demo_matter(tmp_path / "m")
    proc = lexprep("run", str(tmp_path / "m"), "--matter", "m", "--db", f"sqlite:///{tmp_path / 's.db'}",
                   home=tmp_path / "home", cwd=tmp_path, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="1")
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "temporary Prefect server did not start" in lines[0], proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
