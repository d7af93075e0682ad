"""supabase:// sources against a local stand-in for the Supabase Storage API.

The server (http.server on 127.0.0.1, a thread) speaks the two endpoints storage3's sync client
calls (checked against storage3 2.34's ``_sync/file_api.py``):

- ``POST /storage/v1/object/list/{bucket}`` with JSON ``{prefix, limit, offset, sortBy, [search]}``:
  the direct children of folder ``prefix``; a folder is an entry whose ``id`` and ``metadata`` are null;
- ``GET /storage/v1/object/{bucket}/{path}`` (path percent-encoded by yarl): the bytes.

Both need ``apikey: <key>`` and ``Authorization: Bearer <key>``. Errors come back the way the
Storage API sends them: HTTP 400 with ``{"statusCode": "404", "error": ..., "message": ...}`` (its
long-standing habit), or with the real HTTP status (``legacy_errors = False``).
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("supabase")

from lexprep.errors import ConfigurationError, InputError, TransientError  # noqa: E402
from lexprep.sources import ObjectNotFoundError, download, list_sources, read_bytes  # noqa: E402
from lexprep.sources import supabase_storage  # noqa: E402
from lexprep.sources.supabase_storage import SupabaseStorageOptions  # noqa: E402

pytestmark = pytest.mark.integration

KEY = "service-role-key-for-tests-only"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OBJECTS = {
    "matter": {
        "inbox/letter.pdf": PDF,
        "inbox/notes.txt": b"Meeting with counsel on 3 May.",
        "inbox/a/b/c/deep.txt": b"deep",
        "inbox/.emptyFolderPlaceholder": b"",
        "inbox/.hidden/x.txt": b"hidden",
        "inbox/ünï çødé.txt": "unicode".encode(),
        "inbox/%2e%2e/literal.txt": b"percent",
        "inbox/many/f1.txt": b"1",
        "inbox/many/f2.txt": b"2",
        "inbox/many/f3.txt": b"3",
        "inbox/many/f4.txt": b"4",
        "inbox/many/f5.txt": b"5",
        "other/y.txt": b"y",
    },
    "empty": {},
}


class StorageAPI(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    # ---- helpers ----
    @property
    def state(self):
        return self.server.state  # type: ignore[attr-defined]

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, error: str, message: str) -> None:
        body = json.dumps({"statusCode": str(status), "error": error, "message": message}).encode()
        self._send(400 if self.state["legacy_errors"] else status, body)

    def _authorised(self) -> bool:
        ok = self.headers.get("apikey") == KEY and self.headers.get("authorization") == f"Bearer {KEY}"
        if not ok:
            self._error(403, "Unauthorized", "invalid signature")
        return ok

    def _forced_failure(self) -> bool:
        fail = self.state["fail"]
        if fail is None:
            return False
        if fail == 503:
            self._send(503, b"<html>upstream unavailable</html>", "text/html")
        else:
            self._send(fail, json.dumps({"statusCode": str(fail), "error": "too_many", "message": "slow down"}).encode())
        return True

    def log_message(self, *args):
        pass

    # ---- endpoints ----
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        self.state["requests"].append(("POST", self.path, dict(self.headers), raw))
        if self._forced_failure() or not self._authorised():
            return
        prefix_path = "/storage/v1/object/list/"
        if not self.path.startswith(prefix_path):
            return self._error(404, "not_found", "route not found")
        bucket = urllib.parse.unquote(self.path[len(prefix_path):])
        if bucket not in OBJECTS:
            return self._error(404, "Bucket not found", "Bucket not found")
        body = json.loads(raw)
        prefix = (body.get("prefix") or "").strip("/")
        children: dict[str, dict] = {}
        for path, data in OBJECTS[bucket].items():
            if prefix:
                if not path.startswith(prefix + "/"):
                    continue
                rest = path[len(prefix) + 1:]
            else:
                rest = path
            name, sep, _ = rest.partition("/")
            if sep:
                children[name] = {
                    "name": name, "id": None, "updated_at": None, "created_at": None,
                    "last_accessed_at": None, "metadata": None,
                }
            else:
                children[name] = {
                    "name": name,
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{bucket}/{path}")),
                    "updated_at": "2024-05-03T10:00:00.000Z",
                    "created_at": "2024-05-03T10:00:00.000Z",
                    "last_accessed_at": "2024-05-03T10:00:00.000Z",
                    "metadata": {
                        "eTag": f'"{hashlib.md5(data).hexdigest()}"', "size": len(data),
                        "mimetype": "application/octet-stream", "cacheControl": "max-age=3600",
                        "lastModified": "2024-05-03T10:00:00.000Z", "contentLength": len(data),
                        "httpStatusCode": 200,
                    },
                }
        search = body.get("search") or ""
        entries = [children[n] for n in sorted(children) if n.lower().startswith(search.lower())]
        offset, limit = int(body.get("offset", 0)), int(body.get("limit", 100))
        self.state["list_bodies"].append(body)
        self._send(200, json.dumps(entries[offset:offset + limit]).encode())

    def do_GET(self):
        self.state["requests"].append(("GET", self.path, dict(self.headers), b""))
        if self._forced_failure() or not self._authorised():
            return
        path = self.path.split("?", 1)[0]
        for route in ("/storage/v1/object/authenticated/", "/storage/v1/object/"):
            if path.startswith(route):
                rest = path[len(route):]
                break
        else:
            return self._error(404, "not_found", "route not found")
        bucket, _, key = rest.partition("/")
        bucket, key = urllib.parse.unquote(bucket), urllib.parse.unquote(key)
        if bucket not in OBJECTS:
            return self._error(404, "Bucket not found", "Bucket not found")
        if key not in OBJECTS[bucket]:
            return self._error(404, "not_found", "Object not found")
        self._send(200, OBJECTS[bucket][key], "application/octet-stream")


@pytest.fixture(scope="module")
def storage_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StorageAPI)
    server.state = {"requests": [], "list_bodies": [], "fail": None, "legacy_errors": True}  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api(storage_server):
    state = storage_server.state
    state.update(fail=None, legacy_errors=True)
    state["requests"].clear()
    state["list_bodies"].clear()
    url = f"http://127.0.0.1:{storage_server.server_address[1]}"
    return url, SupabaseStorageOptions(url=url, key=KEY), state


def test_lists_recursively_skipping_hidden(api):
    url, opts, state = api
    refs = list_sources("supabase://matter/inbox", opts)
    assert [r.uri for r in refs] == [
        "supabase://matter/inbox/%2e%2e/literal.txt",
        "supabase://matter/inbox/a/b/c/deep.txt",
        "supabase://matter/inbox/letter.pdf",
        "supabase://matter/inbox/many/f1.txt",
        "supabase://matter/inbox/many/f2.txt",
        "supabase://matter/inbox/many/f3.txt",
        "supabase://matter/inbox/many/f4.txt",
        "supabase://matter/inbox/many/f5.txt",
        "supabase://matter/inbox/notes.txt",
        "supabase://matter/inbox/ünï çødé.txt",
    ]
    by_name = {r.file_name: r.size for r in refs}
    assert by_name["letter.pdf"] == len(PDF) and by_name["deep.txt"] == 4
    # what the client sent: the list endpoint, the key in both headers, the documented body
    method, path, headers, _ = state["requests"][0]
    assert (method, path) == ("POST", "/storage/v1/object/list/matter")
    assert headers.get("apiKey") == KEY and headers.get("Authorization") == f"Bearer {KEY}"
    assert state["list_bodies"][0] == {
        "limit": supabase_storage.PAGE_SIZE, "offset": 0, "sortBy": {"column": "name", "order": "asc"}, "prefix": "inbox"
    }


def test_pages_through_long_folders(api, monkeypatch):
    _, opts, state = api
    monkeypatch.setattr(supabase_storage, "PAGE_SIZE", 2)
    refs = list_sources("supabase://matter/inbox/many", opts)
    assert [r.file_name for r in refs] == ["f1.txt", "f2.txt", "f3.txt", "f4.txt", "f5.txt"]
    assert [b["offset"] for b in state["list_bodies"]] == [0, 2, 4]


def test_whole_bucket_single_object_and_empty_bucket(api):
    _, opts, _ = api
    uris = {r.uri for r in list_sources("supabase://matter", opts)}
    assert "supabase://matter/other/y.txt" in uris and "supabase://matter/inbox/letter.pdf" in uris
    [ref] = list_sources("supabase://matter/inbox/letter.pdf", opts)
    assert (ref.uri, ref.file_name, ref.size) == ("supabase://matter/inbox/letter.pdf", "letter.pdf", len(PDF))
    assert list_sources("supabase://empty", opts) == []


def test_reads_bytes_with_the_same_sha256_as_local(api, tmp_path):
    _, opts, state = api
    local = tmp_path / "letter.pdf"
    local.write_bytes(PDF)
    data = read_bytes("supabase://matter/inbox/letter.pdf", opts)
    assert data == read_bytes(str(local)) == PDF
    assert hashlib.sha256(data).hexdigest() == hashlib.sha256(PDF).hexdigest()
    assert state["requests"][-1][:2] == ("GET", "/storage/v1/object/matter/inbox/letter.pdf")


def test_odd_names_are_read_verbatim(api):
    _, opts, _ = api
    for ref in list_sources("supabase://matter/inbox", opts):
        key = ref.uri[len("supabase://matter/"):]
        assert read_bytes(ref.uri, opts) == OBJECTS["matter"][key]  # '%2e%2e' stays literal, unicode intact


def test_download_is_confined_to_dest(api, tmp_path):
    _, opts, _ = api
    dest = tmp_path / "work"
    p1 = download("supabase://matter/inbox/letter.pdf", dest, opts)
    p2 = download("supabase://matter/inbox/%2e%2e/literal.txt", dest, opts)
    assert p1 == (dest / "inbox" / "letter.pdf").resolve() and p1.read_bytes() == PDF
    assert p2 == (dest / "inbox" / "%2e%2e" / "literal.txt").resolve() and p2.read_bytes() == b"percent"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_dot_segment_keys_are_refused_not_escaped(api, tmp_path):
    _, opts, _ = api
    with pytest.raises(InputError, match="cannot read supabase://matter/../../etc/passwd"):
        read_bytes("supabase://matter/../../etc/passwd", opts)
    with pytest.raises(InputError):
        download("supabase://matter/a/../../b", tmp_path / "work", opts)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


@pytest.mark.parametrize("legacy", [True, False])
def test_missing_bucket_prefix_and_object(api, legacy):
    _, opts, state = api
    state["legacy_errors"] = legacy
    with pytest.raises(ConfigurationError, match=r"^source not found: supabase://nope/inbox$"):
        list_sources("supabase://nope/inbox", opts)
    with pytest.raises(ConfigurationError, match=r"^source not found: supabase://matter/no/such/prefix$"):
        list_sources("supabase://matter/no/such/prefix", opts)
    with pytest.raises(ObjectNotFoundError, match=r"^object not found: supabase://matter/inbox/gone.pdf$"):
        read_bytes("supabase://matter/inbox/gone.pdf", opts)


@pytest.mark.parametrize("legacy", [True, False])
def test_wrong_key(api, legacy):
    url, _, state = api
    state["legacy_errors"] = legacy
    bad = SupabaseStorageOptions(url=url, key="not-the-key")
    for call in (
        lambda: list_sources("supabase://matter/inbox", bad),
        lambda: read_bytes("supabase://matter/inbox/letter.pdf", bad),
    ):
        with pytest.raises(ConfigurationError, match=r"^access denied to supabase://matter/inbox.*: check credentials$") as info:
            call()
        assert "not-the-key" not in str(info.value) and KEY not in str(info.value)


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_and_5xx_are_transient(api, status):
    _, opts, state = api
    state["fail"] = status
    with pytest.raises(TransientError, match="retry later"):
        list_sources("supabase://matter/inbox", opts)
    with pytest.raises(TransientError, match="retry later"):
        read_bytes("supabase://matter/inbox/letter.pdf", opts)


def test_unreachable_and_silent_servers_are_transient():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    try:
        opts = SupabaseStorageOptions(url=f"http://127.0.0.1:{port}", key=KEY, timeout_s=1)
        with pytest.raises(TransientError):
            read_bytes("supabase://matter/inbox/letter.pdf", opts)
    finally:
        silent.close()
    closed = SupabaseStorageOptions(url=f"http://127.0.0.1:{port}", key=KEY, timeout_s=1)
    with pytest.raises(TransientError):
        list_sources("supabase://matter/inbox", closed)


def test_url_and_key_from_environment(api, monkeypatch):
    url, _, _ = api
    monkeypatch.setenv("LEXPREP_SUPABASE__URL", url)
    monkeypatch.setenv("LEXPREP_SUPABASE__KEY", KEY)
    assert read_bytes("supabase://matter/other/y.txt") == b"y"
    monkeypatch.delenv("LEXPREP_SUPABASE__KEY")
    monkeypatch.delenv("SUPABASE_SERVICE_ROLE_KEY", raising=False)
    monkeypatch.delenv("SUPABASE_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="Supabase key not set"):
        read_bytes("supabase://matter/other/y.txt")
    assert "secret" not in repr(SupabaseStorageOptions(url=url, key="secret"))
