"""Static checks of the deployment topology: prefect.yaml, the Makefile's deploy target, infra/.

Nothing here starts a service. Tools that are not installed (docker compose, hadolint, terraform) make
their test skip with the reason; the Python-level checks always run.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from lexprep_prefect.deployments import RATE_LIMITS, TAG_CONCURRENCY_LIMITS, WORK_POOLS
from lexprep_prefect.deployments.bootstrap import deployable, deployment_cli_name, load_prefect_yaml

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
PREFECT = load_prefect_yaml(REPO / "prefect.yaml")
DEPLOYMENTS = PREFECT["deployments"]
COMPOSE = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _dep_id(dep: dict) -> str:
    return deployment_cli_name(dep)


def _flow_functions(path: Path) -> dict[str, ast.FunctionDef]:
    """Top-level functions of ``path`` decorated with Prefect's @flow (bare or called)."""
    tree = ast.parse(path.read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
                if name == "flow":
                    found[node.name] = node
    return found


# ------------------------------------------------------------------------------------ prefect.yaml


def test_prefect_yaml_has_the_deployments():
    names = {deployment_cli_name(d) for d in DEPLOYMENTS}
    assert {
        "process-matter/local",
        "process-matter/cloud",
        "process-matter/nightly-s3",
        "process-matter/docker",
        "ocr-document/gpu",
        "transcribe-recording/gpu",
        "extract-entities/gpu",
    } <= names
    assert len(names) == len(DEPLOYMENTS), "two deployments share an entrypoint function and a name"


@pytest.mark.parametrize("dep", DEPLOYMENTS, ids=_dep_id)
def test_entrypoint_is_a_flow_with_those_parameters(dep):
    file, func = dep["entrypoint"].rsplit(":", 1)
    path = REPO / file
    assert path.exists(), f"{deployment_cli_name(dep)}: entrypoint file {file} does not exist"
    flows = _flow_functions(path)
    assert func in flows, f"{file} has no @flow function {func!r} (found {sorted(flows)})"
    fn = flows[func]
    params = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
    unknown = set(dep.get("parameters") or {}) - params
    assert not unknown, f"{deployment_cli_name(dep)} sets parameters the flow does not take: {unknown}"


@pytest.mark.parametrize("entrypoint", sorted({d["entrypoint"] for d in DEPLOYMENTS}))
def test_entrypoint_imports(entrypoint):
    """Import the entrypoint's file the way a worker does (repository on sys.path) and getattr the flow."""
    from prefect.flows import Flow

    file, func = entrypoint.rsplit(":", 1)
    path = REPO / file
    spec = importlib.util.spec_from_file_location(f"_entrypoint_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(REPO))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(REPO))
    assert isinstance(getattr(module, func), Flow)


@pytest.mark.parametrize("dep", DEPLOYMENTS, ids=_dep_id)
def test_work_pool_is_one_make_deploy_creates(dep):
    pool = dep["work_pool"]["name"]
    assert pool in WORK_POOLS, f"{deployment_cli_name(dep)} uses work pool {pool!r}, not created by make deploy"


def _effective(dep: dict, key: str):
    return dep[key] if key in dep else PREFECT.get(key)


def _step_names(steps) -> list[str]:
    return [name for step in steps or [] for name in step]


@pytest.mark.parametrize("dep", DEPLOYMENTS, ids=_dep_id)
def test_build_push_pull_steps_fit_the_pool(dep):
    """Process deployments clone the deployed code (any machine, any worker directory); the docker one
    runs its image's code. No step records a path of the machine that deployed."""
    pool = WORK_POOLS[dep["work_pool"]["name"]]
    build, push, pull = (_effective(dep, k) for k in ("build", "push", "pull"))
    docker_steps = [s for s in _step_names(build) + _step_names(push) if s.startswith("prefect_docker.")]
    if pool.type == "docker":
        assert "prefect_docker.deployments.steps.build_docker_image" in _step_names(build)
        assert "prefect_docker.deployments.steps.push_docker_image" in _step_names(push)
        dockerfile = next(s for s in build if "prefect_docker.deployments.steps.build_docker_image" in s)[
            "prefect_docker.deployments.steps.build_docker_image"]["dockerfile"]
        assert (REPO / dockerfile).exists()
        assert dep["work_pool"]["job_variables"]["image"] == "{{ build-image.image }}"
        assert pull == [{"prefect.deployments.steps.set_working_directory": {"directory": "/opt/lexprep"}}]
        return
    assert not docker_steps, "a process deployment must deploy without Docker"
    assert not build and not push, "nothing is built or pushed for a process deployment"
    names = _step_names(pull)
    assert names[0] == "prefect.deployments.steps.git_clone", names
    clone = pull[0]["prefect.deployments.steps.git_clone"]
    assert clone["repository"] == "{{ $LEXPREP_GIT_REPOSITORY }}" and clone["branch"] == "{{ $LEXPREP_GIT_BRANCH }}"
    assert "prefect.deployments.steps.set_working_directory" not in names  # git_clone's directory is where it runs
    for step in pull[1:]:
        (name, args), = step.items()
        assert name == "prefect.deployments.steps.pip_install_requirements", name
        assert args["directory"] == "{{ " + clone["id"] + ".directory }}"
        assert (REPO / args["requirements_file"]).exists()


@pytest.mark.parametrize("dep", DEPLOYMENTS, ids=_dep_id)
def test_no_path_of_the_deploying_checkout(dep):
    """Parameters never default to a path relative to wherever the code happens to be."""
    params = dep.get("parameters") or {}
    for key in ("source", "db"):
        value = str(params.get(key, ""))
        assert not value or value.startswith(("{{", "s3://", "/")) or "://" in value, (key, value)
        assert "sqlite:///lexprep.db" not in value and value != "inbox"


def test_the_flow_refuses_empty_parameters_and_offers_the_profiles():
    from prefect.utilities.callables import parameter_schema

    from lexprep_prefect.flows.process_matter import process_matter
    from lexprep_prefect.flows.stages import ocr_document

    schema = parameter_schema(process_matter).model_dump_for_openapi()
    assert set(schema["required"]) == {"source", "matter"}
    for name in ("source", "matter"):
        prop = schema["properties"][name]
        assert prop["minLength"] == 1 and prop["pattern"] == r"\S", prop
    profile = json.dumps(schema["properties"]["profile"])
    assert all(f'"{p}"' in profile for p in ("local", "cloud", "gpu")) and '"enum"' in profile
    assert '"enum"' in json.dumps(parameter_schema(ocr_document).model_dump_for_openapi()["properties"]["profile"])
    for bad in ({"source": "", "matter": "m"}, {"source": "  ", "matter": "m"}, {"source": "/x", "matter": ""},
                {"source": "/x", "matter": "m", "profile": "fast"}):
        with pytest.raises(Exception):
            process_matter.validate_parameters(bad)
    assert process_matter.validate_parameters({"source": "/x", "matter": "m", "profile": "cloud"})["profile"] == "cloud"
    assert process_matter.persist_result is True and process_matter.flow_run_name == "{matter}"


def test_gpu_and_local_deployments_land_where_expected():
    by_name = {deployment_cli_name(d): d for d in DEPLOYMENTS}
    local = by_name["process-matter/local"]
    assert local["work_pool"]["name"] == "lexprep-local"
    assert not {"source", "matter", "db"} & set(local["parameters"]), "given per run (or by the trigger), never defaulted"
    assert by_name["process-matter/cloud"]["parameters"]["profile"] == "cloud"
    for name in ("ocr-document/gpu", "transcribe-recording/gpu", "extract-entities/gpu"):
        assert by_name[name]["work_pool"]["name"] == "lexprep-gpu"
        assert by_name[name]["entrypoint"].startswith("lexprep_prefect/flows/stages.py:")
    assert WORK_POOLS["lexprep-gpu"].type == "process" and WORK_POOLS["lexprep-local"].type == "process"
    assert WORK_POOLS["lexprep-docker"].type == "docker"


def test_local_deployment_is_triggered_by_the_files_landed_event():
    from prefect.events import DeploymentEventTrigger

    from lexprep_prefect.events import FILES_LANDED, MATTER_RESOURCE_PREFIX, files_landed_event

    local = next(d for d in DEPLOYMENTS if deployment_cli_name(d) == "process-matter/local")
    (trigger,) = local["triggers"]
    DeploymentEventTrigger(**trigger)  # Prefect's own schema for a prefect.yaml trigger
    assert trigger["expect"] == [FILES_LANDED] and trigger["enabled"] is True
    assert trigger["match"] == {"prefect.resource.id": MATTER_RESOURCE_PREFIX + "*"}
    event = files_landed_event("/data/acme", "Acme v. Widget")
    assert event.event == FILES_LANDED and event.resource.id.startswith(MATTER_RESOURCE_PREFIX)
    for param, template in trigger["parameters"].items():
        key = re.fullmatch(r"\{\{ event\.payload\.(\w+) \}\}", template).group(1)
        assert key in event.payload, (param, key)
    assert set(trigger["parameters"]) == {"source", "matter"}


def test_nightly_schedule_is_a_valid_cron_on_an_s3_prefix():
    from prefect.client.schemas.schedules import CronSchedule

    nightly = next(d for d in DEPLOYMENTS if d["name"] == "nightly-s3")
    (schedule,) = nightly["schedules"]
    CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])
    assert schedule["active"] is True
    assert nightly["parameters"]["source"] == "{{ $LEXPREP_NIGHTLY_S3_PREFIX }}"
    assert nightly["parameters"]["matter"] == "{{ $LEXPREP_NIGHTLY_MATTER }}"
    # no made-up default bucket: without the variables the nightly is not deployed (see the next test)
    assert "LEXPREP_NIGHTLY_S3_PREFIX ?=" not in (REPO / "Makefile").read_text()


def test_nightly_installs_the_s3_extra():
    nightly = next(d for d in DEPLOYMENTS if d["name"] == "nightly-s3")
    step = next(s for s in nightly["pull"] if "prefect.deployments.steps.pip_install_requirements" in s)
    lines = [line.strip() for line in (REPO / step["prefect.deployments.steps.pip_install_requirements"][
        "requirements_file"]).read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert "-c ../../constraints.txt" in lines
    assert [line for line in lines if not line.startswith("-")] == PYPROJECT["project"]["optional-dependencies"]["s3"]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r'-e "\.\[local,s3,demo\]"', makefile), "make install gives the s3 extra"


def test_deploy_time_variables_must_be_set():
    from lexprep_prefect.deployments.bootstrap import deploy_variables, missing_variables
    from lexprep_prefect.deployments.cli import unset_variables

    by_name = {deployment_cli_name(d): d for d in DEPLOYMENTS}
    git = {"LEXPREP_GIT_REPOSITORY": "https://example.org/lexprep.git", "LEXPREP_GIT_BRANCH": "main"}
    assert set(deploy_variables(by_name["process-matter/local"], PREFECT)) == {"LEXPREP_GIT_REPOSITORY", "LEXPREP_GIT_BRANCH"}
    assert set(deploy_variables(by_name["process-matter/nightly-s3"], PREFECT)) == {
        "LEXPREP_GIT_REPOSITORY", "LEXPREP_GIT_BRANCH", "LEXPREP_NIGHTLY_S3_PREFIX", "LEXPREP_NIGHTLY_MATTER"}
    assert deploy_variables(by_name["process-matter/docker"], PREFECT) == ["LEXPREP_IMAGE"]
    nightly_env = {**git, "LEXPREP_NIGHTLY_S3_PREFIX": "s3://bucket/inbox/", "LEXPREP_NIGHTLY_MATTER": " "}
    assert missing_variables(by_name["process-matter/nightly-s3"], PREFECT, nightly_env) == ["LEXPREP_NIGHTLY_MATTER"]

    names, skipped = deployable(environ=git)
    assert "process-matter/local" in names and "process-matter/nightly-s3" not in names
    assert "LEXPREP_NIGHTLY_S3_PREFIX" in dict(skipped)["process-matter/nightly-s3"]
    names, _ = deployable(environ={**nightly_env, "LEXPREP_NIGHTLY_MATTER": "nightly"})
    assert "process-matter/nightly-s3" in names
    names, skipped = deployable(environ={})
    assert names == [] and all("LEXPREP_GIT_REPOSITORY" in why or "LEXPREP_IMAGE" in why for _, why in skipped)

    old = {k: os.environ.pop(k, None) for k in ("LEXPREP_NIGHTLY_S3_PREFIX", "LEXPREP_NIGHTLY_MATTER")}
    try:
        problems = unset_variables(["deploy", "-n", "process-matter/nightly-s3"])
        assert len(problems) == 1 and "LEXPREP_NIGHTLY_S3_PREFIX" in problems[0]
        assert unset_variables(["deploy", "--all"]) and unset_variables(["work-pool", "ls"]) == []
    finally:
        os.environ.update({k: v for k, v in old.items() if v is not None})


def test_no_secret_values_in_prefect_yaml():
    text = (REPO / "prefect.yaml").read_text()
    assert not re.search(r"(api_key|password|secret)\s*:", text, re.I)
    assert "postgresql" not in text


def test_deployable_skips_docker_unless_asked():
    env = {"LEXPREP_GIT_REPOSITORY": "/srv/lexprep.git", "LEXPREP_GIT_BRANCH": "main", "LEXPREP_IMAGE": "lexprep"}
    names, skipped = deployable(with_docker=False, environ=env)
    reasons = dict(skipped)
    assert {"process-matter/local", "process-matter/cloud", "ocr-document/gpu", "transcribe-recording/gpu",
            "extract-entities/gpu"} <= set(names)
    assert "process-matter/docker" in reasons and "Docker" in reasons["process-matter/docker"]
    with_docker, _ = deployable(with_docker=True, environ=env)
    assert "process-matter/docker" in with_docker


def test_limits_and_pools_are_sane():
    """Every tag concurrency limit matches a tag some task carries (an unmatched one limits nothing)."""
    from lexprep_prefect.tasks.documents import _api_tags

    carried = {tag for engine in ("mistral", "openai", "tesseract", "faster-whisper") for tag in _api_tags(engine)}
    assert set(TAG_CONCURRENCY_LIMITS) <= carried, set(TAG_CONCURRENCY_LIMITS) - carried
    assert {"mistral", "openai"} <= set(TAG_CONCURRENCY_LIMITS)
    for spec in RATE_LIMITS.values():
        assert spec.per_second > 0 and spec.burst >= 1
    assert WORK_POOLS["lexprep-gpu"].defaults["env"]["LEXPREP_PROFILE"] == "gpu"


def test_sqlalchemy_is_pinned_below_2_1():
    """Prefect 3.8.8's scheduler breaks under SQLAlchemy 2.1 (test_deploy.py::test_nightly_schedule_creates_runs)."""
    spec = next(d for d in PYPROJECT["project"]["dependencies"] if d.lower().startswith("sqlalchemy"))
    assert "<2.1" in spec.replace(" ", "")
    pinned = re.search(r"^SQLAlchemy==(\S+)$", (REPO / "constraints.txt").read_text(), re.M | re.I).group(1)
    assert tuple(int(x) for x in pinned.split(".")[:2]) < (2, 1)
    import sqlalchemy

    assert tuple(int(x) for x in sqlalchemy.__version__.split(".")[:2]) < (2, 1), sqlalchemy.__version__


#: the oldest Python the README's "fresh Debian" has: Debian 12's python3
OLDEST_PYTHON = "3.11.2"


def test_constraints_install_on_the_oldest_supported_python():
    """Every pin of constraints.txt that is installed here declares a Requires-Python that Debian 12's
    python3 meets (soupsieve 4.x needs 3.11.5: `make demo` failed to resolve on a fresh bookworm)."""
    from importlib import metadata

    from packaging.specifiers import SpecifierSet

    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(OLDEST_PYTHON)
    checked, too_new = 0, []
    for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", (REPO / "constraints.txt").read_text(), re.M):
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if dist.version != version:
            continue
        checked += 1
        spec = dist.metadata.get("Requires-Python")
        if spec and not SpecifierSet(spec).contains(OLDEST_PYTHON):
            too_new.append(f"{name}=={version} (Requires-Python {spec})")
    assert checked > 100 and not too_new, too_new


def test_wheel_installs_one_namespaced_package():
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert set(include) == {"lexprep", "lexprep.*", "lexprep_prefect", "lexprep_prefect.*"}
    for name in ("flows", "tasks", "blocks", "deployments"):
        assert not (REPO / name).exists(), f"a top-level {name}/ package would be installed into site-packages"


# ------------------------------------------------------------------------------------ Makefile


def test_makefile_deploy_target():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^deploy:", makefile, re.M)
    body = makefile.split("\ndeploy:", 1)[1].split("\n\n", 1)[0]
    assert "deployments.bootstrap setup" in body
    assert "deployments.cli --no-prompt deploy" in body
    assert "PREFECT_API_URL" in body
    dry = subprocess.run(["make", "-n", "-o", ".venv/.installed-local", "deploy"], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}) if shutil.which("make") else None
    if dry is not None:
        assert dry.returncode == 0, dry.stderr


# ------------------------------------------------------------------------------------ docker-compose.yml


def test_compose_services():
    services = COMPOSE["services"]
    assert {"postgres", "prefect-server", "worker"} <= set(services)
    pg = services["postgres"]
    assert pg["image"] == "postgres:15"
    assert any(str(v).startswith("pgdata:/var/lib/postgresql/data") for v in pg["volumes"])
    assert "pgdata" in COMPOSE["volumes"]
    prefect_pin = next(d for d in PYPROJECT["project"]["dependencies"] if d.startswith("prefect=="))
    server = services["prefect-server"]
    assert server["image"].startswith(f"prefecthq/prefect:{prefect_pin.split('==')[1]}-")
    assert "postgresql+asyncpg://" in server["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    worker = services["worker"]
    assert (INFRA / worker["build"]["context"] / worker["build"]["dockerfile"]).resolve() == INFRA / "Dockerfile"
    assert worker["command"][:3] == ["prefect", "worker", "start"] and "lexprep-local" in worker["command"]
    assert worker["environment"]["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    assert worker["environment"]["LEXPREP_DB_URL"].startswith("postgresql+psycopg://")
    assert worker["depends_on"]["prefect-server"]["condition"] == "service_healthy"
    assert (INFRA / "postgres-init").is_dir()


def test_compose_has_no_literal_passwords():
    for name, service in COMPOSE["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if value is None:
                continue
            if "PASSWORD" in key or "API_KEY" in key:
                assert str(value).startswith("${"), f"{name}.{key} must come from the environment"
            for url in re.findall(r"://[^@\s]*@", str(value)):
                assert "${POSTGRES_PASSWORD" in url, f"{name}.{key} embeds a literal password"


def _compose_cli() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_config_validates():
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither the docker compose plugin nor docker-compose is installed")
    env = {**os.environ, "POSTGRES_PASSWORD": "not-a-real-password"}
    proc = subprocess.run([*cli, "-f", str(INFRA / "docker-compose.yml"), "config", "-q"], capture_output=True,
                          text=True, env=env, cwd=INFRA)
    assert proc.returncode == 0, proc.stderr
    env.pop("POSTGRES_PASSWORD")
    proc = subprocess.run([*cli, "-f", str(INFRA / "docker-compose.yml"), "config", "-q"], capture_output=True,
                          text=True, env=env, cwd=INFRA)
    assert proc.returncode != 0 and "POSTGRES_PASSWORD" in proc.stderr


# ------------------------------------------------------------------------------------ Dockerfiles


def _instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


APT_PACKAGES = {"antiword", "libwpd-tools", "tesseract-ocr", "tesseract-ocr-eng", "ffmpeg"}


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.cuda"])
def test_dockerfile(name):
    ins = _instructions(INFRA / name)
    froms = [rest for op, rest in ins if op == "FROM"]
    args = dict(re.match(r"(\w+)=?(.*)", rest).groups() for op, rest in ins if op == "ARG")
    base = froms[0].replace("${CUDA_IMAGE}", args.get("CUDA_IMAGE", "")).strip('"')
    if name == "Dockerfile":
        assert base == "python:3.11-slim"
    else:
        assert base.startswith("nvidia/cuda:") and "runtime" in base
        runs = " ".join(rest for op, rest in ins if op == "RUN")
        assert "TORCH_INDEX_URL" in runs and "download.pytorch.org/whl/cu" in args["TORCH_INDEX_URL"]
    runs = " ".join(rest for op, rest in ins if op == "RUN")
    assert APT_PACKAGES <= set(runs.split()), APT_PACKAGES - set(runs.split())
    assert "rm -rf /var/lib/apt/lists/*" in runs
    for op, rest in ins:
        if op == "COPY":
            *sources, _dest = rest.split()
            for src in sources:
                assert (REPO / src).exists(), f"{name}: COPY {src} does not exist in the build context"
    assert ("USER", "lexprep") in ins, "run as a non-root user"
    assert 'pip install ".[${LEXPREP_EXTRAS}]"' in runs


def test_dockerfile_extras_are_defined_in_pyproject():
    defined = set(PYPROJECT["project"].get("optional-dependencies", {}))
    wanted = set()
    for name in ("Dockerfile", "Dockerfile.cuda"):
        for op, rest in _instructions(INFRA / name):
            if op == "ARG" and rest.startswith("LEXPREP_EXTRAS="):
                wanted |= set(rest.split("=", 1)[1].strip('"').split(","))
    tf_default = re.search(r'variable "lexprep_extras".*?default\s*=\s*"([^"]+)"',
                           (INFRA / "terraform" / "variables.tf").read_text(), re.S).group(1)
    wanted |= set(tf_default.split(","))
    missing = sorted(wanted - defined)
    # pip only warns about an extra pyproject.toml does not define, and installs without it
    assert not missing, f"extras not in pyproject.toml (pip would skip them with a warning): {', '.join(missing)}"


def test_cpu_image_can_finish_a_run():
    """The CPU image runs process-matter, whose quality gates are on by default: it needs the quality extra
    (Great Expectations, used from quality.gx_min_rows rows), and git for the git_clone deployments."""
    from lexprep.settings import Settings

    ins = _instructions(INFRA / "Dockerfile")
    extras = next(rest.split("=", 1)[1].strip('"') for op, rest in ins if op == "ARG" and rest.startswith("LEXPREP_EXTRAS="))
    local = PYPROJECT["project"]["optional-dependencies"]["local"][0]
    assert Settings().quality.enabled
    assert "quality" in extras.split(",") or "local" in extras.split(","), extras
    assert "quality" in local  # the local profile's extra carries it too
    runs = " ".join(rest for op, rest in ins if op == "RUN")
    assert "git" in runs.split()


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.cuda"])
def test_hadolint(name):
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (no official build in Debian, PyPI or npm)")
    proc = subprocess.run([hadolint, "--failure-threshold", "warning", str(INFRA / name)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------ terraform


TF = INFRA / "terraform"


def _unquote(value):
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@pytest.fixture(scope="module")
def tf() -> dict:
    hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 is not installed (pip install python-hcl2)")
    merged: dict = {}
    for path in sorted(TF.glob("*.tf")):
        for key, value in _unquote(hcl2.loads(path.read_text())).items():
            merged.setdefault(key, []).extend(value if isinstance(value, list) else [value])
    return merged


def _blocks(tf: dict, kind: str) -> dict[str, dict]:
    """{"type.name": body} for resource / data blocks."""
    out = {}
    for item in tf.get(kind, []):
        for rtype, named in item.items():
            for rname, body in named.items():
                out[f"{rtype}.{rname}"] = body
    return out


def test_terraform_resources(tf):
    resources = _blocks(tf, "resource")
    data = _blocks(tf, "data")
    ami = data["aws_ami.deep_learning"]
    assert ami["owners"] == ["amazon"]
    variables = {name: body for item in tf["variable"] for name, body in item.items()}
    assert "Deep Learning" in variables["ami_name_pattern"]["default"] and "Nvidia" in variables["ami_name_pattern"]["default"]
    instance = resources["aws_instance.worker"]
    assert "data.aws_ami.deep_learning.id" in instance["ami"]
    assert "aws_iam_instance_profile.worker" in instance["iam_instance_profile"]
    assert "user_data.sh.tftpl" in instance["user_data"]
    assert instance["metadata_options"][0]["http_tokens"] == "required"
    sg = resources["aws_security_group.worker"]
    assert "ingress" not in sg, "the worker's security group must allow no inbound traffic"
    assert not any(k.startswith("aws_security_group_rule") or k.startswith("aws_vpc_security_group_ingress")
                   for k in resources)
    assert "aws_iam_role.worker" in resources and "aws_iam_instance_profile.worker" in resources
    policy = str(data["aws_iam_policy_document.worker"])
    for action in ("s3:GetObject", "s3:ListBucket", "ssm:GetParameter"):
        assert action in policy
    assert "s3:PutObject" not in policy and "s3:*" not in policy


def test_terraform_variables_and_outputs(tf):
    declared = {name for item in tf["variable"] for name in item}
    text = "\n".join(p.read_text() for p in TF.glob("*.tf"))
    used = set(re.findall(r"\bvar\.([A-Za-z_][A-Za-z0-9_]*)", text))
    assert used <= declared, f"undeclared variables: {used - declared}"
    assert {"s3_bucket", "subnet_id", "instance_type", "region", "prefect_api_url_parameter",
            "prefect_api_key_parameter"} <= declared
    for item in tf["variable"]:
        for name, body in item.items():
            assert body.get("description"), f"variable {name} has no description"
    outputs = {name for item in tf["output"] for name in item}
    assert {"instance_id", "security_group_id", "iam_role_arn", "ami_id"} <= outputs


def _render_user_data(values: dict[str, str]) -> str:
    template = (TF / "user_data.sh.tftpl").read_text()
    assert "%{" not in template, "template directives are not rendered by this test"
    placeholders = set(re.findall(r"(?<!\$)\$\{([^}]+)\}", template))
    assert placeholders <= set(values), f"placeholders without a value: {placeholders - set(values)}"
    rendered = re.sub(r"(?<!\$)\$\{([^}]+)\}", lambda m: values[m.group(1)], template)
    return rendered.replace("$${", "${")


def test_user_data_template(tf):
    instance = _blocks(tf, "resource")["aws_instance.worker"]
    passed = set(re.findall(r"(\w+)\s*=", instance["user_data"].split("{", 1)[1]))
    template = (TF / "user_data.sh.tftpl").read_text()
    needed = set(re.findall(r"(?<!\$)\$\{([^}]+)\}", template))
    assert needed == passed, f"template needs {needed - passed}, main.tf passes unused {passed - needed}"
    rendered = _render_user_data({name: f"value-of-{name}" for name in needed} | {"work_pool": "lexprep-gpu"})
    assert "prefect worker start --pool lexprep-gpu" in rendered
    assert "aws ssm get-parameter" in rendered and "--with-decryption" in rendered
    assert "set -x" not in rendered, "tracing would log the secrets"
    if shutil.which("bash"):
        proc = subprocess.run(["bash", "-n"], input=rendered, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def _terraform() -> str | None:
    return shutil.which("terraform") or shutil.which("tofu")


def test_terraform_fmt():
    terraform = _terraform()
    if terraform is None:
        pytest.skip("terraform is not installed (no official build in Debian, PyPI or npm)")
    proc = subprocess.run([terraform, "fmt", "-check", "-diff", "-no-color", str(TF)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_user_data_renders_with_terraform(tmp_path, tf):
    """Terraform's own templatefile() on the user_data template (in an empty directory: no provider needed),
    then `bash -n` on the result. `terraform init` + `validate` of infra/terraform itself is not run: init
    downloads the aws provider from registry.terraform.io, which this machine cannot reach."""
    terraform = _terraform()
    if terraform is None:
        pytest.skip("terraform is not installed")
    instance = _blocks(tf, "resource")["aws_instance.worker"]
    names = sorted(set(re.findall(r"(\w+)\s*=", instance["user_data"].split("{", 1)[1])))
    values = ", ".join(f'{n} = "value-of-{n}"' for n in names if n != "work_pool")
    expr = f'templatefile("{TF / "user_data.sh.tftpl"}", {{ {values}, work_pool = "lexprep-gpu" }})'
    proc = subprocess.run([terraform, "console"], input=expr + "\n", capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip()
    # console prints a multi-line string as <<EOT ... EOT
    assert out.startswith("<<EOT") and out.endswith("EOT"), out[:200]
    rendered = out[len("<<EOT"):-len("EOT")].strip("\n") + "\n"
    assert "prefect worker start --pool lexprep-gpu" in rendered
    assert "value-of-" + "prefect_api_url_parameter" in rendered
    proc = subprocess.run(["bash", "-n"], input=rendered, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
