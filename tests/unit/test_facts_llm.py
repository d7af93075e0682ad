"""The LLM fact extractor against a local server that speaks POST /v1/chat/completions.

The real ``openai`` client is pointed at http://127.0.0.1:<port>/v1 through ``facts.llm_base_url``; the
server answers from a script (a chat completion with given content, a refusal, a truncated answer, 429,
401 echoing the key, a slow answer) and records every request it got.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytestmark = pytest.mark.unit

pytest.importorskip("openai", reason="the openai client (lexprep[cloud]) is not installed")

from lexprep.errors import ConfigurationError, TransientError  # noqa: E402
from lexprep.facts import extract_facts  # noqa: E402
from lexprep.facts.llm import RESPONSE_SCHEMA, LlmFactExtractor, llm_facts, windows  # noqa: E402
from lexprep.settings import Settings  # noqa: E402

KEY = "sk-test-very-secret-key-1234567890"
TEXT = (
    "DISTRIBUTION AGREEMENT\n"
    "This Agreement is made as of March 3, 2021 by and between Acme Widgets, Inc., a Delaware\n"
    "corporation (\"Supplier\"), and Bolt Retail LLC (\"Distributor\").\n"
    "This Agreement shall be governed by the laws of the State of New York.\n"
)


def completion(content: str | None, *, finish: str = "stop", refusal: str | None = None,
               usage: tuple[int, int] = (1200, 150)) -> dict:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": finish,
                     "message": {"role": "assistant", "content": content, "refusal": refusal}}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
    }


def facts_json(*facts: dict) -> str:
    return json.dumps({"facts": [{"normalized": None, "role": None, **f} for f in facts]})


GOOD = facts_json(
    {"kind": "party", "value": "Acme Widgets, Inc.", "role": "Supplier",
     "evidence": "Acme Widgets, Inc., a Delaware corporation (\"Supplier\")"},
    {"kind": "agreement_date", "value": "March 3, 2021", "normalized": "2021-03-03",
     "evidence": "made as of March 3, 2021"},
    {"kind": "governing_law", "value": "the State of New York", "normalized": "New York",
     "evidence": "governed by the laws of the State of New York"},
)


class FakeServer:
    def __init__(self):
        self.script: list[tuple] = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.base_url = ""

    def next_action(self):
        with self.lock:
            return self.script.pop(0) if self.script else ("ok", GOOD)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        state: FakeServer = self.server.state  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        with state.lock:
            state.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        action = state.next_action()
        status, payload = 200, None
        if action[0] == "sleep":
            time.sleep(action[1])
            action = ("ok", GOOD)
        if action[0] == "ok":
            payload = completion(action[1])
        elif action[0] == "completion":
            payload = action[1]
        else:  # ("status", code, payload)
            status, payload = action[1], action[2]
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture()
def server():
    state = FakeServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def settings(server: FakeServer, **facts) -> Settings:
    base = {"kind": "llm", "llm_base_url": server.base_url, "llm_api_key": KEY, "retry_wait_s": 0.01,
            "max_attempts": 3, "timeout_s": 5.0, "rules_also": False}
    return Settings(profile="cloud", facts={**base, **facts})


def run(server: FakeServer, text: str = TEXT, **facts):
    s = settings(server, **facts)
    return llm_facts(text, "contract", {}, [], s, extractor=LlmFactExtractor(s))


def test_success_facts_spans_tokens_and_cost(server):
    calls = []
    s = settings(server)
    result = extract_facts(TEXT, "contract", {}, [], s, before_call=lambda: calls.append(1))
    by_kind = {f.kind: f for f in result.facts}
    assert set(by_kind) == {"party", "agreement_date", "governing_law"}
    party = by_kind["party"]
    assert party.value == "Acme Widgets, Inc." and party.role == "Supplier"
    assert TEXT[party.evidence_start:party.evidence_end] == party.evidence_text
    assert party.entity_span is not None and TEXT[slice(*party.entity_span)] == "Acme Widgets, Inc."
    assert by_kind["agreement_date"].normalized == "2021-03-03"
    assert by_kind["governing_law"].normalized == "New York"
    assert all(f.extractor == "llm:gpt-4o-mini" for f in result.facts)
    assert result.usage == {"api_tokens_in": 1200, "api_tokens_out": 150, "calls": 1,
                            "estimated_cost_usd": round((1200 * 0.15 + 150 * 0.60) / 1e6, 6)}
    assert result.rejected == [] and result.errors == []
    assert calls == [1]  # the rate limit is taken before the call
    (req,) = server.requests
    assert req["path"] == "/v1/chat/completions" and req["auth"] == f"Bearer {KEY}"
    fmt = req["body"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == RESPONSE_SCHEMA
    assert "Acme Widgets" in req["body"]["messages"][-1]["content"]


def test_schema_invalid_output_is_recorded_not_raised(server):
    server.script = [("ok", json.dumps({"facts": [{"kind": "gadget", "value": "x", "evidence": "x"}]}))]
    result = run(server)
    assert result.facts == []
    assert len(result.errors) == 1 and "does not fit the schema" in result.errors[0]


@pytest.mark.parametrize("answer, expected", [
    (completion("{\"facts\": [{\"kind\": "), "malformed JSON"),
    (completion(None, refusal="I cannot help with that."), "the model refused: I cannot help with that."),
    (completion(GOOD[:40], finish="length"), "output truncated"),
])
def test_malformed_refused_and_truncated_outputs_are_recorded(server, answer, expected):
    server.script = [("completion", answer)]
    result = run(server)
    assert result.facts == [] and len(result.errors) == 1 and expected in result.errors[0]
    assert result.usage["calls"] == 1 and result.usage["api_tokens_in"] == 1200  # the call is still paid for


def test_evidence_not_in_the_text_is_rejected_and_counted(server):
    server.script = [("ok", facts_json(
        {"kind": "party", "value": "Bolt Retail LLC", "role": "Distributor",
         "evidence": "Bolt Retail LLC (\"Distributor\")"},
        {"kind": "expiration_date", "value": "June 1, 2030", "normalized": "2030-06-01",
         "evidence": "This Agreement expires on June 1, 2030"},
        # a date normalised to no real day: read again from the evidence ...
        {"kind": "effective_date", "value": "soon", "normalized": "2021-02-30", "evidence": "made as of March 3, 2021"},
        # ... and rejected when the evidence has no date either
        {"kind": "expiration_date", "value": "later", "normalized": "2021-02-30", "evidence": "Bolt Retail LLC"},
    ))]
    result = extract_facts(TEXT, "contract", {}, [], settings(server))
    assert sorted((f.kind, f.value, f.normalized) for f in result.facts) == [
        ("effective_date", "soon", "2021-03-03"), ("party", "Bolt Retail LLC", None)]
    assert sorted((r["kind"], r["reason"]) for r in result.rejected) == [
        ("expiration_date", "date not a valid ISO date"), ("expiration_date", "evidence not verbatim in the text")]
    assert result.summary()["rejected"] == 2
    assert result.summary()["rejected_reasons"] == {"date not a valid ISO date": 1,
                                                    "evidence not verbatim in the text": 1}


def test_429_then_success_is_retried(server):
    server.script = [("status", 429, {"error": {"message": "slow down"}}),
                     ("status", 503, {"error": {"message": "busy"}})]
    result = run(server)
    assert len(server.requests) == 3
    assert {f.kind for f in result.facts} == {"party", "agreement_date", "governing_law"}


def test_timeout_is_retried_then_raised(server):
    server.script = [("sleep", 1.0)] * 3
    with pytest.raises(TransientError, match="timed out"):
        run(server, timeout_s=0.2, max_attempts=2)
    assert len(server.requests) == 2


def test_timeout_then_success(server):
    server.script = [("sleep", 1.0)]
    result = run(server, timeout_s=0.3, max_attempts=3)
    assert len(result.facts) == 3 and len(server.requests) == 2


def test_400_is_recorded_per_window_and_not_retried(server):
    server.script = [("status", 400, {"error": {"message": "context too long"}})]
    result = run(server)
    assert len(server.requests) == 1 and result.facts == []
    assert "HTTP 400" in result.errors[0] and "context too long" in result.errors[0]


def test_the_key_never_appears_in_errors_or_logs(server, caplog):
    caplog.set_level(logging.DEBUG)
    server.script = [("status", 429, {"error": {"message": f"rate limited for key {KEY}"}}),
                     ("status", 401, {"error": {"message": f"Incorrect API key provided: {KEY}"}})]
    with pytest.raises(ConfigurationError) as info:
        run(server)
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    assert info.value.__cause__ is None or KEY not in str(info.value.__cause__)
    assert KEY not in caplog.text
    server.script = [("status", 403, {"error": {"message": f"key {KEY} has no access"}})]
    with pytest.raises(ConfigurationError) as info:
        run(server)
    assert KEY not in str(info.value) and "***" in str(info.value)


def test_long_text_is_read_in_windows(server):
    text = TEXT + ("Filler line of the agreement.\n" * 200)
    server.script = [("ok", GOOD), ("ok", facts_json())]
    result = run(server, text=text, llm_window_chars=4000, llm_window_overlap_chars=200)
    assert len(server.requests) == 2 and result.usage["calls"] == 2
    assert len(result.facts) == 3
    spans, left = windows(text, 4000, 200, 1)
    assert left > 0
    result = run(server, text=text, llm_window_chars=4000, llm_window_overlap_chars=200, llm_max_windows=1)
    assert any("not read" in e for e in result.errors)


def test_no_key_and_no_base_url_is_a_configuration_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    s = Settings(profile="cloud", facts={"kind": "llm"})
    with pytest.raises(ConfigurationError, match="no API key"):
        llm_facts(TEXT, "contract", {}, [], s, extractor=LlmFactExtractor(s))


def test_a_rejected_key_falls_back_to_the_rules_with_the_reason(server):
    server.script = [("status", 401, {"error": {"message": f"bad key {KEY}"}})]
    s = settings(server, rules_also=False)
    result = extract_facts(TEXT, "contract", {}, [], s)
    assert {f.extractor for f in result.facts} == {"rules"} and result.facts
    assert "LLM extractor unavailable" in result.errors[0] and KEY not in result.errors[0]


def test_estimate_prices_the_llm_extractor(tmp_path):
    from lexprep.estimate import LLM_ANSWER_TOKENS, LLM_PROMPT_TOKENS, estimate, llm_tokens

    s = Settings(profile="cloud", facts={"kind": "llm", "llm_window_chars": 4000, "llm_window_overlap_chars": 200})
    assert llm_tokens(0, s) == (0, 0, 0)
    assert llm_tokens(4000, s) == (1, 1000 + LLM_PROMPT_TOKENS, LLM_ANSWER_TOKENS)
    calls, tin, _ = llm_tokens(10_000, s)
    assert calls == 3 and tin == (10_000 + 2 * 200) // 4 + 3 * LLM_PROMPT_TOKENS
    (tmp_path / "a.txt").write_text("x" * 10_000)
    est = estimate(str(tmp_path), s)
    assert (est.llm_calls, est.llm_tokens_out) == (3, 3 * LLM_ANSWER_TOKENS)
    assert est.estimated_cost_usd == round((est.llm_tokens_in * 0.15 + est.llm_tokens_out * 0.60) / 1e6, 4)
    local = estimate(str(tmp_path), Settings())
    assert local.llm_calls == 0 and local.estimated_cost_usd == 0.0
