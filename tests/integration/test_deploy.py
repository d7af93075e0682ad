"""`make deploy` against a real Prefect server, then a run of process-matter/local through a process worker.

A Prefect server is started on a free port (PREFECT_HOME in a temporary folder), `make deploy` sets it
up (work pools, limits, block types, the deployments of prefect.yaml), a process worker polls
``lexprep-local`` from an unrelated directory (so the deployment's pull step must chdir into the
repository), and ``run_deployment`` processes a small matter (a text file and a DOCX) into a SQLite
store, which is then checked with lexprep.store.Store.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.prefect]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SERVER_START_TIMEOUT = 90.0
RUN_TIMEOUT = 150.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prefect_env(home: Path, api_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    env.update(extra)
    return env


def _start(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    out = log.open("wb")
    return subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGTERM the process group this test started (start_new_session), then SIGKILL after ``grace``."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _tail(path: Path, n: int = 4000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> Iterator[dict]:
    """A real `prefect server start` on 127.0.0.1:<free port>; yields {api_url, home, log}."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    root = tmp_path_factory.mktemp("prefect-server")
    home = root / "home"
    home.mkdir()
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log = root / "server.log"
    proc = _start(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        _prefect_env(home), root, log,
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"prefect server exited with {proc.returncode}:\n{_tail(log)}")
            try:
                with urllib.request.urlopen(f"{api_url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prefect server not healthy after {SERVER_START_TIMEOUT:.0f} s:\n{_tail(log)}")
            time.sleep(0.5)
        yield {"api_url": api_url, "home": home, "log": log, "root": root}
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def deployed(prefect_server) -> dict:
    """`make deploy` against the server (twice: it must be idempotent)."""
    env = _prefect_env(prefect_server["home"], prefect_server["api_url"])
    # -o: do not (re)install the virtualenv; the test runs inside it already
    argv = ["make", "--no-print-directory", "-o", ".venv/.installed", "deploy"]
    results = []
    for _ in range(2):
        t0 = time.monotonic()
        proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        results.append((proc, time.monotonic() - t0))
        assert proc.returncode == 0, f"make deploy failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    return {**prefect_server, "stdout": results[0][0].stdout, "stderr": results[0][0].stderr,
            "again": results[1][0].stdout, "seconds": results[0][1]}


@pytest.fixture(scope="module")
def worker(deployed) -> Iterator[dict]:
    """A process worker on lexprep-local, started outside the repository, polling every second."""
    root = deployed["root"]
    elsewhere = root / "worker-cwd"
    elsewhere.mkdir()
    log = root / "worker.log"
    env = _prefect_env(
        deployed["home"], deployed["api_url"],
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_WORKER_PREFETCH_SECONDS="5",
        PREFECT_LOGGING_LEVEL="INFO",
    )
    proc = _start([str(BIN / "prefect"), "worker", "start", "--pool", "lexprep-local", "--type", "process"],
                  env, elsewhere, log)
    try:
        yield {"proc": proc, "log": log, "cwd": elsewhere}
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def matter_folder(tmp_path_factory) -> Path:
    """A small matter: one text file and one DOCX."""
    import docx

    src = tmp_path_factory.mktemp("deploy-matter")
    (src / "letter.txt").write_text(
        "Dear Ms. Alvarez,\n\nAcme Widgets LLC will respond to the complaint filed in the United States "
        "District Court for the Northern District of California on March 3, 2023.\n\nSincerely,\nJohn Smith\n"
    )
    document = docx.Document()
    document.add_heading("Settlement Agreement", level=1)
    document.add_paragraph(
        "This Settlement Agreement is entered into between Acme Widgets LLC and Jane Alvarez "
        "on April 1, 2024 in San Francisco, California, for $25,000."
    )
    document.save(str(src / "agreement.docx"))
    return src


def _api(url: str):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings({PREFECT_API_URL: url})


def test_make_deploy_sets_up_the_api(deployed):
    import asyncio

    from prefect.client.orchestration import get_client

    from blocks import BLOCK_TYPES
    from deployments import RATE_LIMITS, TAG_CONCURRENCY_LIMITS, WORK_POOLS

    out = deployed["stdout"] + deployed["stderr"]
    assert "process-matter/local" in out
    if not (REPO / "flows" / "stages.py").exists():
        assert "flows/stages.py does not exist yet" in out
    assert "skipping deployment process-matter/docker" in out
    assert "already exists" in deployed["again"]  # the second run found the pools

    async def check():
        async with get_client() as client:
            for spec in WORK_POOLS.values():
                pool = await client.read_work_pool(spec.name)
                assert pool.type == spec.type
            gpu = await client.read_work_pool("lexprep-gpu")
            assert gpu.base_job_template["variables"]["properties"]["env"]["default"] == {"LEXPREP_PROFILE": "gpu"}
            assert gpu.concurrency_limit == 1
            for tag, limit in TAG_CONCURRENCY_LIMITS.items():
                assert (await client.read_concurrency_limit_by_tag(tag)).concurrency_limit == limit
            for spec in RATE_LIMITS.values():
                gcl = await client.read_global_concurrency_limit_by_name(spec.name)
                assert gcl.limit == spec.burst and gcl.slot_decay_per_second == spec.per_second
            for block_type in BLOCK_TYPES:
                await client.read_block_type_by_slug(block_type.get_block_type_slug())
            local = await client.read_deployment_by_name("process-matter/local")
            assert local.work_pool_name == "lexprep-local"
            assert local.pull_steps == [
                {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}
            ]
            cloud = await client.read_deployment_by_name("process-matter/cloud")
            assert cloud.parameters["profile"] == "cloud"
            nightly = await client.read_deployment_by_name("process-matter/nightly-s3")
            assert nightly.parameters["source"].startswith("s3://")
            assert [s.schedule.cron for s in nightly.schedules] == ["0 2 * * *"]
            assert nightly.global_concurrency_limit is not None and nightly.global_concurrency_limit.limit == 1

    with _api(deployed["api_url"]):
        asyncio.run(check())


def test_block_round_trip_keeps_secrets_secret(deployed):
    from blocks import BLOCK_TYPES, LexprepDatabase, LexprepSettingsBlock, OpenAICredentials, register_all

    with _api(deployed["api_url"]):
        assert register_all() == [b.get_block_type_slug() for b in BLOCK_TYPES]  # idempotent, sync
        LexprepSettingsBlock(
            profile="cloud",
            overrides={"chunk": {"size_tokens": 256}},
            database=LexprepDatabase(host="db.example.supabase.co", username="postgres", password="pw-123"),
            openai=OpenAICredentials(api_key="sk-test-123", base_url="http://127.0.0.1:9/v1"),
        ).save("deploy-test", overwrite=True)
        loaded = LexprepSettingsBlock.load("deploy-test")
    settings = loaded.to_settings()
    assert settings.profile == "cloud" and settings.chunk.size_tokens == 256
    assert settings.asr.openai_api_key.get_secret_value() == "sk-test-123"
    assert "pw-123" in settings.db_url
    assert "sk-test-123" not in repr(loaded) and "pw-123" not in repr(loaded)


def test_process_matter_local_runs_through_a_worker(deployed, worker, matter_folder, tmp_path):
    from prefect.deployments import run_deployment

    from lexprep.store import Store

    db_path = tmp_path / "x.db"
    db = f"sqlite:///{db_path}"
    t0 = time.monotonic()
    with _api(deployed["api_url"]):
        flow_run = run_deployment(
            name="process-matter/local",
            parameters={"source": str(matter_folder), "matter": "deploy-test", "db": db},
            timeout=RUN_TIMEOUT,
            poll_interval=1,
        )
    seconds = time.monotonic() - t0
    state = flow_run.state
    if state is None or not state.is_completed():
        logs = _flow_run_logs(deployed["api_url"], flow_run.id)
        pytest.fail(
            f"flow run {flow_run.name} ended {state.type if state else None}: {state.message if state else ''}\n"
            f"--- flow run logs\n{logs}\n--- worker log\n{_tail(worker['log'])}"
        )
    store = Store.open(db)
    matter_id = store.find_matter("deploy-test")
    assert matter_id is not None
    status = store.status(matter_id)
    assert status["documents_by_status"] == {"done": 2}, status
    assert status["chunks"] >= 2 and status["mentions"] > 0
    # the run executed in the repository (pull step), not where the worker was started
    assert not any(worker["cwd"].iterdir())
    print(f"\nmake deploy: {deployed['seconds']:.1f} s; flow run through the worker: {seconds:.1f} s")


def _flow_run_logs(api_url: str, flow_run_id) -> str:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async def read():
        async with get_client() as client:
            logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), limit=200, offset=0)
            return "\n".join(f"{log.level} {log.message}" for log in logs)

    try:
        with _api(api_url):
            return asyncio.run(read())[-6000:]
    except Exception as exc:  # diagnostics only
        return f"(could not read logs: {exc})"
