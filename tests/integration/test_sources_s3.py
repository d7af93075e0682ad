"""s3:// sources against moto's S3 server on 127.0.0.1 (no real AWS).

moto accepts any credentials by default. To test wrong credentials for real, the module creates an
IAM user and access key while auth is off, then turns moto's IAM auth on (``POST
/moto-api/reset-auth`` with ``0``, the server form of ``INITIAL_NO_AUTH_ACTION_COUNT``): from then
on moto checks the access key exists and the SigV4 signature matches, like S3. Auth is switched
off again when the module ends (the setting is process-wide).
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

boto3 = pytest.importorskip("boto3")
pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

from lexprep.errors import ConfigurationError, InputError, TransientError  # noqa: E402
from lexprep.sources import (  # noqa: E402
    ObjectNotFoundError,
    S3Options,
    download,
    list_sources,
    read_bytes,
)

pytestmark = pytest.mark.integration

BUCKET = "matter-123"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OBJECTS = {
    "inbox/letter.pdf": PDF,
    "inbox/notes.txt": b"Meeting with counsel on 3 May.",
    "inbox/deep/er/memo.txt": b"memo",
    "inbox/.hidden/secret.txt": b"skip me",
    "inbox/.DS_Store": b"skip me too",
    "inbox/Thumbs.db": b"and me",
    "inbox/ünï çødé.txt": "unicode name".encode(),
    "other/x.txt": b"not under the prefix",
    "inboxes/y.txt": b"a sibling prefix, not inside inbox/",
}
HOSTILE = {
    "../../etc/passwd": b"root:x:0:0",
    "/abs/key": b"absolute",
    "a/../../b": b"climb",
    "a\\..\\b": b"backslashes",
    "%2e%2e/x": b"encoded dots",
    "nul\x00name": b"nul",
    "ünï/../çødé.pdf": b"unicode climb",
}


#: moto keeps IAM state per process, shared by every module that starts a server: one user per module
IAM_USER = "lexprep-sources"

def _post(url: str, body: bytes) -> dict:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def moto():
    """(endpoint, good S3Options): moto's server with a bucket, objects, and IAM auth enforced."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    admin = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="admin", aws_secret_access_key="admin")
    s3 = boto3.client("s3", **admin)
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket="empty-bucket")
    for key, body in {**OBJECTS, **HOSTILE}.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    iam = boto3.client("iam", **admin)
    iam.create_user(UserName=IAM_USER)
    iam.put_user_policy(
        UserName=IAM_USER,
        PolicyName="s3-all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName=IAM_USER)["AccessKey"]
    _post(f"{endpoint}/moto-api/reset-auth", b"0")  # from now on every request is authenticated
    good = S3Options(
        endpoint_url=endpoint, region="us-east-1", key=key["AccessKeyId"], secret=key["SecretAccessKey"]
    )
    try:
        yield endpoint, good
    finally:
        _post(f"{endpoint}/moto-api/reset-auth", b"inf")
        server.stop()


@pytest.fixture
def s3(moto):
    endpoint, good = moto
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=good.key.get_secret_value(),
        aws_secret_access_key=good.secret.get_secret_value(),
    )


def test_lists_nested_keys_skipping_hidden(moto):
    _, opts = moto
    refs = list_sources(f"s3://{BUCKET}/inbox", opts)
    assert [r.uri for r in refs] == [
        f"s3://{BUCKET}/inbox/deep/er/memo.txt",
        f"s3://{BUCKET}/inbox/letter.pdf",
        f"s3://{BUCKET}/inbox/notes.txt",
        f"s3://{BUCKET}/inbox/ünï çødé.txt",
    ]
    assert [r.file_name for r in refs] == ["memo.txt", "letter.pdf", "notes.txt", "ünï çødé.txt"]
    assert [r.size for r in refs] == [4, len(PDF), 30, 12]
    # a trailing slash and a dict of s3fs options work the same
    again = list_sources(f"s3://{BUCKET}/inbox/", opts.to_storage_options())
    assert again == refs


def test_single_object_and_whole_bucket(moto):
    _, opts = moto
    [ref] = list_sources(f"s3://{BUCKET}/inbox/letter.pdf", opts)
    assert (ref.uri, ref.file_name, ref.size) == (f"s3://{BUCKET}/inbox/letter.pdf", "letter.pdf", len(PDF))
    everything = {r.uri for r in list_sources(f"s3://{BUCKET}", opts)}
    assert f"s3://{BUCKET}/other/x.txt" in everything and f"s3://{BUCKET}/a/../../b" in everything
    assert list_sources("s3://empty-bucket", opts) == []


def test_reads_bytes_with_the_same_sha256_as_local(moto, tmp_path):
    _, opts = moto
    local = tmp_path / "letter.pdf"
    local.write_bytes(PDF)
    remote = read_bytes(f"s3://{BUCKET}/inbox/letter.pdf", opts)
    assert remote == read_bytes(str(local)) == PDF
    assert hashlib.sha256(remote).hexdigest() == hashlib.sha256(local.read_bytes()).hexdigest()


def test_describe_gives_the_same_identity_as_local(moto, tmp_path):
    pytest.importorskip("lexprep.extract.sniff", reason="lexprep.extract not available in this checkout")
    from lexprep.sources import describe

    _, opts = moto
    local = tmp_path / "letter.pdf"
    local.write_bytes(PDF)
    [lref] = list_sources(str(local))
    [sref] = list_sources(f"s3://{BUCKET}/inbox/letter.pdf", opts)
    a = describe(lref.uri, lref.file_name, read_bytes(lref.uri))
    b = describe(sref.uri, sref.file_name, read_bytes(sref.uri, opts))
    assert a.sha256 == b.sha256 and a.size == b.size and a.kind == b.kind
    assert b.uri == f"s3://{BUCKET}/inbox/letter.pdf"


def test_credentials_and_endpoint_from_environment(moto, monkeypatch):
    endpoint, opts = moto
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", opts.key.get_secret_value())
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", opts.secret.get_secret_value())
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    refs = list_sources(f"s3://{BUCKET}/inbox/deep")
    assert [r.uri for r in refs] == [f"s3://{BUCKET}/inbox/deep/er/memo.txt"]
    assert read_bytes(refs[0].uri) == b"memo"


def test_missing_prefix_and_bucket(moto):
    _, opts = moto
    with pytest.raises(ConfigurationError, match=rf"^source not found: s3://{BUCKET}/nothing-here$"):
        list_sources(f"s3://{BUCKET}/nothing-here", opts)
    with pytest.raises(ConfigurationError, match=r"^source not found: s3://no-such-bucket"):
        list_sources("s3://no-such-bucket/inbox", opts)
    with pytest.raises(ConfigurationError, match=r"^source not found: s3://no-such-bucket"):
        list_sources("s3://no-such-bucket", opts)


def test_key_gone_between_listing_and_reading(moto, s3, tmp_path):
    _, opts = moto
    s3.put_object(Bucket=BUCKET, Key="volatile/soon-gone.txt", Body=b"here now")
    [ref] = list_sources(f"s3://{BUCKET}/volatile", opts)
    s3.delete_object(Bucket=BUCKET, Key="volatile/soon-gone.txt")
    with pytest.raises(ObjectNotFoundError, match=rf"^object not found: s3://{BUCKET}/volatile/soon-gone.txt$") as info:
        read_bytes(ref.uri, opts)
    assert isinstance(info.value, InputError)
    with pytest.raises(ObjectNotFoundError):
        download(ref.uri, tmp_path / "work", opts)
    assert not [p for p in (tmp_path / "work").rglob("*") if p.is_file()]  # no partial file left


def test_a_rerun_sees_new_objects(moto, s3):
    _, opts = moto
    s3.put_object(Bucket=BUCKET, Key="growing/one.txt", Body=b"1")
    assert len(list_sources(f"s3://{BUCKET}/growing", opts)) == 1
    s3.put_object(Bucket=BUCKET, Key="growing/two.txt", Body=b"2")
    assert len(list_sources(f"s3://{BUCKET}/growing", opts)) == 2  # no stale listing cache


@pytest.mark.parametrize("which", ["unknown key id", "wrong secret"])
def test_wrong_credentials(moto, which):
    _, good = moto
    if which == "unknown key id":
        bad = good.model_copy(update={"key": good.secret.__class__("AKIANOTAREALKEY00000")})
    else:
        bad = good.model_copy(update={"secret": good.secret.__class__("definitely-not-the-secret")})
    secret = bad.secret.get_secret_value()
    for call in (
        lambda: list_sources(f"s3://{BUCKET}/inbox", bad),
        lambda: list_sources(f"s3://{BUCKET}", bad),
        lambda: read_bytes(f"s3://{BUCKET}/inbox/notes.txt", bad),
    ):
        with pytest.raises(ConfigurationError, match=r"^access denied to s3://matter-123.*: check credentials$") as info:
            call()
        message = str(info.value)
        assert "\n" not in message and secret not in message and good.secret.get_secret_value() not in message


def test_download_hostile_keys_stay_inside(moto, tmp_path):
    _, opts = moto
    dest = tmp_path / "dest"
    written = []
    for key, body in HOSTILE.items():
        path = download(f"s3://{BUCKET}/{key}", dest, opts)
        assert path.is_relative_to(dest.resolve())
        assert path.read_bytes() == body
        written.append(path)
    assert len(set(written)) == len(HOSTILE)  # no two keys collide
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest"]  # nothing escaped
    assert not list(dest.rglob(".lexprep-*"))  # temporaries renamed away
    # an ordinary key keeps its path (tools see the real name and extension)
    assert download(f"s3://{BUCKET}/inbox/letter.pdf", dest, opts) == (dest / "inbox" / "letter.pdf").resolve()


def test_hostile_keys_are_listed_and_read_verbatim(moto):
    _, opts = moto
    uris = {r.uri for r in list_sources(f"s3://{BUCKET}", opts)}
    for key, body in HOSTILE.items():
        uri = f"s3://{BUCKET}/{key}"
        assert uri in uris
        assert read_bytes(uri, opts) == body


# ---- transient failures: a fake S3 that throttles, and one that never answers ---------------


class _Throttle(BaseHTTPRequestHandler):
    status = 503
    code = "SlowDown"

    def _reply(self):
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{self.code}</Code>'
            "<Message>Please reduce your request rate.</Message></Error>"
        ).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = _reply

    def log_message(self, *args):
        pass


class _Internal(_Throttle):
    status = 500
    code = "InternalError"


@pytest.fixture
def fast_fail(monkeypatch):
    """No retry loops inside s3fs/botocore: the error reaches lexprep at once (Prefect retries)."""
    import s3fs

    monkeypatch.setattr(s3fs.S3FileSystem, "retries", 1)
    return {"config_kwargs": {"retries": {"max_attempts": 1, "mode": "standard"}, "connect_timeout": 1, "read_timeout": 1}}


@pytest.mark.parametrize("handler", [_Throttle, _Internal])
def test_throttling_and_5xx_are_transient(handler, fast_fail):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        opts = {"endpoint_url": f"http://127.0.0.1:{server.server_address[1]}", "key": "k", "secret": "s", **fast_fail}
        with pytest.raises(TransientError, match="retry later"):
            read_bytes("s3://bucket/x.txt", opts)
        with pytest.raises(TransientError, match="retry later"):
            list_sources("s3://bucket/prefix", opts)
    finally:
        server.shutdown()
        server.server_close()


def test_timeout_is_transient(fast_fail):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    try:
        opts = {"endpoint_url": f"http://127.0.0.1:{silent.getsockname()[1]}", "key": "k", "secret": "s", **fast_fail}
        with pytest.raises(TransientError, match="retry later"):
            read_bytes("s3://bucket/x.txt", opts)
    finally:
        silent.close()
