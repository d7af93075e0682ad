"""The OpenAI transcription engine against a local server that speaks POST /v1/audio/transcriptions.

The real ``openai`` client is pointed at http://127.0.0.1:<port>/v1 through ``openai_base_url``; the
server follows a script of answers (429, 500, a slow answer, 400, 401, success) and counts requests.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import wave
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

pytestmark = pytest.mark.unit

pytest.importorskip("openai", reason="the openai client (lexprep[cloud]) is not installed")

from lexprep.asr import transcribe_recording  # noqa: E402
from lexprep.asr.openai_api import OpenAIApiEngine, chunk_bounds  # noqa: E402
from lexprep.errors import ConfigurationError, InputError, TransientError  # noqa: E402
from lexprep.models import Segment  # noqa: E402
from lexprep.settings import AsrSettings, Settings  # noqa: E402

API_KEY = "sk-test-5f3b9c2d7e1a4b6c8d0e2f4a"
SR = 16_000


def verbose_body(duration: float) -> dict:
    return {
        "task": "transcribe",
        "language": "english",
        "duration": duration,
        "text": "Hello there. General Kenobi.",
        "segments": [
            {"id": 0, "seek": 0, "start": 0.0, "end": 0.9, "text": " Hello there.", "tokens": [1, 2],
             "temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 1.1, "no_speech_prob": 0.01},
            {"id": 1, "seek": 0, "start": 1.0, "end": duration, "text": " General Kenobi.", "tokens": [3],
             "temperature": 0.0, "avg_logprob": -0.5, "compression_ratio": 1.1, "no_speech_prob": 0.02},
        ],
    }


def error_body(message: str, kind: str = "invalid_request_error", code: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class FakeOpenAI:
    """State shared with the handler: a script of answers and the requests received."""

    def __init__(self):
        self.script: list[tuple] = []  # ("json", status, body) | ("sleep", seconds)
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    def next_action(self) -> tuple | None:
        with self.lock:
            return self.script.pop(0) if self.script else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output quiet
        pass

    def do_POST(self):  # noqa: N802
        state: FakeOpenAI = self.server.state  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        fields = parse_multipart(self.headers.get("Content-Type", ""), body)
        with state.lock:
            state.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "fields": fields})
        action = state.next_action()
        if action and action[0] == "sleep":
            time.sleep(action[1])  # the client has given up by now
            action = None
        if action is None:
            duration = wav_duration(fields["file"][0])
            status, payload = 200, (
                verbose_body(duration) if fields.get("response_format") == ["verbose_json"]
                else {"text": "Hello there. General Kenobi."}
            )
        else:
            _, status, payload = action
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


def parse_multipart(content_type: str, body: bytes) -> dict[str, list]:
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict[str, list] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        value = payload if part.get_filename() else payload.decode()
        fields.setdefault(name.removesuffix("[]"), []).append(value)
    return fields


def wav_duration(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SR)
        return w.getnframes() / w.getframerate()


@pytest.fixture()
def server():
    state = FakeOpenAI()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"  # type: ignore[attr-defined]
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def asr_settings(server, **overrides) -> AsrSettings:
    values = dict(
        engine="openai",
        openai_base_url=server.base_url,
        openai_api_key=API_KEY,
        timeout_s=5.0,
        max_attempts=4,
        retry_wait_s=0.01,  # tiny backoff in tests
    )
    values.update(overrides)
    return AsrSettings(**values)


def speechless(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_success_gives_segments(server):
    engine = OpenAIApiEngine(asr_settings(server))
    segments, language = engine.transcribe_with_language(speechless(2.0), channel=1)
    assert [s.text for s in segments] == ["Hello there.", "General Kenobi."]
    assert all(isinstance(s, Segment) and s.channel == 1 for s in segments)
    assert segments[0].start_s == 0.0 and segments[1].end_s == pytest.approx(2.0)
    assert segments[0].confidence == pytest.approx(np.exp(-0.25))
    assert language == "english"
    (request,) = server.requests
    assert request["path"] == "/v1/audio/transcriptions"
    assert request["auth"] == f"Bearer {API_KEY}"
    fields = request["fields"]
    assert fields["model"] == ["whisper-1"]
    assert fields["response_format"] == ["verbose_json"]
    assert fields["timestamp_granularities"] == ["segment"]
    assert fields["language"] == ["en"]
    assert wav_duration(fields["file"][0]) == pytest.approx(2.0)


def test_json_only_model_gives_one_segment(server):
    engine = OpenAIApiEngine(asr_settings(server, openai_model="gpt-4o-transcribe"))
    segments = engine.transcribe(speechless(1.5))
    assert len(segments) == 1
    assert (segments[0].start_s, segments[0].end_s) == (0.0, pytest.approx(1.5))
    assert segments[0].text == "Hello there. General Kenobi."
    fields = server.requests[0]["fields"]
    assert fields["response_format"] == ["json"] and "timestamp_granularities" not in fields


def test_429_is_retried(server):
    server.script = [("json", 429, error_body("Rate limit reached", "requests", "rate_limit_exceeded"))]
    segments = OpenAIApiEngine(asr_settings(server)).transcribe(speechless())
    assert len(segments) == 2
    assert len(server.requests) == 2


def test_500_twice_is_retried(server):
    server.script = [("json", 500, error_body("boom", "server_error"))] * 2
    segments = OpenAIApiEngine(asr_settings(server)).transcribe(speechless())
    assert len(segments) == 2
    assert len(server.requests) == 3


def test_slow_answer_times_out_and_is_retried(server):
    server.script = [("sleep", 1.5)]
    started = time.perf_counter()
    segments = OpenAIApiEngine(asr_settings(server, timeout_s=0.4)).transcribe(speechless())
    assert len(segments) == 2
    assert len(server.requests) == 2
    assert time.perf_counter() - started < 1.5  # gave up on the slow one, did not wait it out


def test_transient_errors_give_up_after_max_attempts(server):
    server.script = [("json", 503, error_body("overloaded", "server_error"))] * 10
    with pytest.raises(TransientError, match="HTTP 503"):
        OpenAIApiEngine(asr_settings(server, max_attempts=3)).transcribe(speechless())
    assert len(server.requests) == 3


def test_400_is_input_error_not_retried(server):
    server.script = [("json", 400, error_body("Invalid file format. Supported formats: ['flac', 'wav']"))]
    with pytest.raises(InputError, match=r"HTTP 400.*Invalid file format") as info:
        OpenAIApiEngine(asr_settings(server)).transcribe(speechless())
    assert "\n" not in str(info.value)
    assert len(server.requests) == 1


def test_401_is_configuration_error_without_the_key(server, caplog):
    caplog.set_level(logging.DEBUG)
    server.script = [("json", 401, error_body(f"Incorrect API key provided: {API_KEY}.", code="invalid_api_key"))]
    with pytest.raises(ConfigurationError, match="HTTP 401") as info:
        OpenAIApiEngine(asr_settings(server)).transcribe(speechless())
    assert len(server.requests) == 1
    assert API_KEY not in str(info.value) and API_KEY[:12] not in str(info.value)
    assert info.value.__cause__ is None  # the client's exception (which quotes the key) is not chained
    assert API_KEY not in caplog.text


@pytest.mark.parametrize("status", [403, 404])
def test_403_404_are_configuration_errors(server, status):
    server.script = [("json", status, error_body("nope"))]
    with pytest.raises(ConfigurationError, match=f"HTTP {status}"):
        OpenAIApiEngine(asr_settings(server)).transcribe(speechless())
    assert len(server.requests) == 1


def test_missing_key_is_configuration_error(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="no OpenAI API key"):
        OpenAIApiEngine(asr_settings(server, openai_api_key=None)).transcribe(speechless())
    assert server.requests == []


def test_long_audio_is_sent_in_pieces_on_one_clock(server):
    audio = speechless(2.5)
    audio[int(0.9 * SR) : int(1.0 * SR)] = 0  # a quiet moment to cut at
    engine = OpenAIApiEngine(asr_settings(server), max_chunk_s=1.2)
    segments = engine.transcribe(audio)
    durations = [wav_duration(r["fields"]["file"][0]) for r in server.requests]
    assert len(durations) >= 3 and all(d <= 1.2 + 1e-6 for d in durations)
    assert sum(durations) == pytest.approx(2.5)
    assert durations[0] == pytest.approx(0.95, abs=0.06)  # cut inside the quiet 100 ms
    starts = [s.start_s for s in segments]
    assert starts == sorted(starts) and segments[-1].end_s == pytest.approx(2.5)


def test_chunk_bounds_cover_everything():
    audio = np.random.default_rng(0).standard_normal(SR * 25).astype(np.float32)
    bounds = chunk_bounds(audio, max_chunk_s=10.0)
    assert bounds[0][0] == 0 and bounds[-1][1] == audio.shape[0]
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    assert all(0 < end - start <= 10 * SR for start, end in bounds)
    assert chunk_bounds(audio[:100], 10.0) == [(0, 100)]


def test_transcribe_recording_through_the_api(server):
    buf = io.BytesIO()
    pcm = (speechless(1.0) * 32767).astype("<i2")
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm[::2].tobytes())
    transcript = transcribe_recording(buf.getvalue(), "call.wav", Settings(asr=asr_settings(server)))
    assert transcript.engine == "openai" and transcript.model == "whisper-1"
    assert transcript.channels == 1 and transcript.duration_s == pytest.approx(1.0, abs=0.01)
    assert [s.speaker for s in transcript.segments] == ["SPEAKER_0", "SPEAKER_0"]
    assert transcript.language == "english"
