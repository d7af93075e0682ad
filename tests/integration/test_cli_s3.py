"""`lexprep run s3://bucket/prefix` through the real CLI against moto's S3 server (no real AWS).

The subprocess gets its endpoint and credentials only from the environment (AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION), as in production. moto accepts any
credentials by default; like tests/integration/test_sources_s3.py, the module creates an IAM user and
access key while auth is off, then turns moto's IAM auth on (``POST /moto-api/reset-auth`` ``0``), so a
wrong secret is refused like on S3. Auth is switched off again when the module ends.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

boto3 = pytest.importorskip("boto3")
pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

from lexprep.demo import write_demo_matter  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.prefect]

BIN = Path(sys.executable).parent
BUCKET = "matters"
WRONG_SECRET = "wrong-secret-3f9a0c7e1b"


#: moto keeps IAM state per process, shared by every module that starts a server: one user per module
IAM_USER = "lexprep-cli"

def _post(url: str, body: bytes) -> None:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


@pytest.fixture(scope="module")
def s3env(tmp_path_factory) -> dict:
    """moto's server with the demo matter under s3://matters/demo/ (and a local copy), IAM auth on."""
    root = tmp_path_factory.mktemp("cli-s3")
    local = root / "demo"
    write_demo_matter(local)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    admin = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="admin",
                 aws_secret_access_key="admin")
    s3 = boto3.client("s3", **admin)
    s3.create_bucket(Bucket=BUCKET)
    files = sorted(p for p in local.rglob("*") if p.is_file())
    for path in files:
        s3.put_object(Bucket=BUCKET, Key=f"demo/{path.relative_to(local).as_posix()}", Body=path.read_bytes())
    iam = boto3.client("iam", **admin)
    iam.create_user(UserName=IAM_USER)
    iam.put_user_policy(UserName=IAM_USER, PolicyName="s3-all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=IAM_USER)["AccessKey"]
    _post(f"{endpoint}/moto-api/reset-auth", b"0")  # from now on every request is authenticated
    good = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"], "AWS_DEFAULT_REGION": "us-east-1"}
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    try:
        yield dict(root=root, local=local, files=files, endpoint=endpoint, env=good, s3=client,
                   home=root / "prefect-home")
    finally:
        _post(f"{endpoint}/moto-api/reset-auth", b"inf")
        server.stop()


def _env(s3env: dict, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(s3env["env"], PREFECT_HOME=str(s3env["home"]), COLUMNS="500", **overrides)
    env.pop("PREFECT_API_URL", None)
    return env


def lexprep(s3env: dict, *args: str, cwd: Path, **overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "lexprep"), *args], capture_output=True, text=True, cwd=cwd,
                          env=_env(s3env, **overrides), timeout=600)


def _last_line(res: subprocess.CompletedProcess) -> str:
    return [line for line in res.stderr.splitlines() if line.strip()][-1]


@pytest.fixture(scope="module")
def s3_run(s3env) -> dict:
    root = s3env["root"]
    db = f"sqlite:///{root / 's3.db'}"
    res = lexprep(s3env, "run", f"s3://{BUCKET}/demo", "--matter", "m", "--db", db, "--json", cwd=root)
    assert res.returncode == 0, res.stderr[-3000:]
    out = root / "export"
    exp = lexprep(s3env, "export", "--matter", "m", "--db", db, "--out", str(out), cwd=root)
    assert exp.returncode == 0, exp.stderr[-3000:]
    docs = [json.loads(line) for line in (out / "documents.jsonl").read_text().splitlines()]
    return dict(summary=json.loads(res.stdout), docs=docs, db=db)


def test_documents_land_with_s3_uris_and_local_sha256(s3env, s3_run):
    assert s3_run["summary"]["failures"] == []
    docs = {d["file_name"]: d for d in s3_run["docs"]}
    assert docs.keys() == {"opinion.pdf", "services-agreement.docx", "counsel-email.eml", "term-sheet.docx",
                           "motion-to-dismiss.txt"}
    assert all(d["status"] == "done" for d in docs.values())
    for path in s3env["files"]:
        doc = docs[path.name]
        assert doc["source_uri"] == f"s3://{BUCKET}/demo/{path.relative_to(s3env['local']).as_posix()}"
        assert doc["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    attachment = docs["term-sheet.docx"]
    assert attachment["source_uri"] == f"{docs['counsel-email.eml']['source_uri']}#term-sheet.docx"
    assert attachment["parent_id"] == docs["counsel-email.eml"]["id"]


def test_missing_prefix_is_source_not_found(s3env, tmp_path):
    res = lexprep(s3env, "run", f"s3://{BUCKET}/no-such-prefix", "--matter", "m",
                  "--db", f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path)
    output = res.stdout + res.stderr
    assert res.returncode == 2, output[-3000:]
    # whatever Prefect logs before it (with -v), the run ends with the one-line reason
    assert _last_line(res) == f"error: source not found: s3://{BUCKET}/no-such-prefix"


def test_wrong_credentials_are_access_denied(s3env, tmp_path):
    res = lexprep(s3env, "run", f"s3://{BUCKET}/demo", "--matter", "m", "--db", f"sqlite:///{tmp_path / 'x.db'}",
                  cwd=tmp_path, AWS_SECRET_ACCESS_KEY=WRONG_SECRET)
    output = res.stdout + res.stderr
    assert res.returncode == 2, output[-3000:]
    assert _last_line(res).startswith(f"error: access denied to s3://{BUCKET}/demo")
    assert WRONG_SECRET not in output and s3env["env"]["AWS_SECRET_ACCESS_KEY"] not in output


def test_object_deleted_between_listing_and_reading(s3env, tmp_path):
    """40 objects; the one listed last is deleted as soon as the first document is in the store. The
    flow reads documents in listing order on 4 threads, so it is read (and found gone) well after."""
    from lexprep.store import Store

    s3 = s3env["s3"]
    prefix = "volatile"
    for i in range(40):
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/note-{i:02d}.txt",
                      Body=f"Note {i}: Priya Natarajan of Harborline Logistics called on May {i % 28 + 1}, 2024.".encode())
    gone = f"{prefix}/zz-gone.txt"
    s3.put_object(Bucket=BUCKET, Key=gone, Body=b"Deleted before it was read.")
    db = f"sqlite:///{tmp_path / 'v.db'}"
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(BIN / "lexprep"), "run", f"s3://{BUCKET}/{prefix}", "--matter", "v", "--db", db, "--json"],
            cwd=tmp_path, env=_env(s3env), stdout=out, stderr=subprocess.PIPE, text=True,
        )
    store = Store(db)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                matter_id = store.find_matter("v")
                names = [r[0] for r in store.document_statuses(matter_id)] if matter_id else []
            except Exception:
                names = []
            if names:
                assert "zz-gone.txt" not in names, "read before it could be deleted"
                s3.delete_object(Bucket=BUCKET, Key=gone)
                break
            time.sleep(0.02)
        else:
            pytest.fail("no document was stored while the run was going")
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        store.close()
    assert proc.returncode == 0, stderr[-3000:]
    summary = json.loads(log.read_text())
    assert summary["status"]["documents_by_status"] == {"done": 40}  # the others went on
    [failure] = summary["failures"]
    assert failure["file_name"] == "zz-gone.txt"
    assert failure["status"] == "failed"
    assert failure["error"] == f"object not found: s3://{BUCKET}/{gone}"
