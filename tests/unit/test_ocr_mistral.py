"""The real mistralai client against a local server that speaks Mistral's OCR protocol."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from pydantic import SecretStr

from lexprep.errors import ConfigurationError, InputError, TransientError
from lexprep.settings import OcrSettings

pytest.importorskip("mistralai")
pytestmark = pytest.mark.unit

KEY = "sk-test-secret-key-123"


class Handler(BaseHTTPRequestHandler):
    script: list = []
    requests: list = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.requests.append((self.path, body, self.headers.get("Authorization")))
        action = Handler.script.pop(0) if Handler.script else 200
        if action == "slow":
            time.sleep(1.5)
            action = 200
        if action != 200:
            payload = json.dumps({"message": f"error {action}", "detail": "nope"}).encode()
            self.send_response(action)
        else:
            payload = json.dumps({
                "pages": [{"index": 0, "markdown": "UNITED STATES DISTRICT COURT", "images": [],
                           "dimensions": {"dpi": 200, "height": 100, "width": 100},
                           "confidence_scores": {"average_page_confidence_score": 0.97,
                                                 "minimum_page_confidence_score": 0.5,
                                                 "word_confidence_scores": []}}],
                "model": body["model"],
                "usage_info": {"pages_processed": 1, "doc_size_bytes": 1234},
            }).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _engine(url, timeout_s=10.0):
    from lexprep.ocr.mistral import MistralOcrEngine

    settings = OcrSettings(mistral_api_key=SecretStr(KEY), mistral_base_url=url, timeout_s=timeout_s, workers=0)
    return MistralOcrEngine(settings, backoff_s=0.01)


def _run(url, script, timeout_s=10.0):
    Handler.script, Handler.requests = list(script), []
    return _engine(url, timeout_s).recognize(Image.new("L", (60, 30), 255))


def test_success(server):
    result = _run(server, [200])
    assert result.text == "UNITED STATES DISTRICT COURT" and result.confidence == 0.97 and result.engine == "mistral"
    path, body, auth = Handler.requests[0]
    assert path == "/v1/ocr" and body["document"]["type"] == "image_url"
    assert body["document"]["image_url"].startswith("data:image/png;base64,")
    assert auth == f"Bearer {KEY}"


@pytest.mark.parametrize("script", [[429, 200], [500, 503, 200]])
def test_transient_errors_are_retried(server, script):
    assert _run(server, script).text
    assert len(Handler.requests) == len(script)


def test_timeout_is_retried(server):
    assert _run(server, ["slow", 200], timeout_s=0.5).text
    assert len(Handler.requests) == 2


def test_retries_give_up_with_transient_error(server):
    with pytest.raises(TransientError, match="429"):
        _run(server, [429] * 10)
    assert len(Handler.requests) == 4


def test_bad_request_is_not_retried(server):
    with pytest.raises(InputError, match="400"):
        _run(server, [400])
    assert len(Handler.requests) == 1


def test_bad_key_is_not_retried_and_not_shown(server):
    with pytest.raises(ConfigurationError) as info:
        _run(server, [401])
    assert len(Handler.requests) == 1
    assert KEY not in str(info.value) and KEY not in repr(info.value)
