"""The llm NER backend and LLM-assisted resolution against a local server that speaks POST /v1/chat/completions.

The real ``openai`` client is pointed at http://127.0.0.1:<port>/v1 (``llm.base_url``); the server answers
from a script (429, 500, a slow answer, 401, a schema-invalid answer) and otherwise like a model would:
for entity extraction it names the entities of a fixed list that are in the text, plus one that is not;
for resolution it judges the pairs it is given from a fixed table. It records every request.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

pytest.importorskip("openai", reason="the openai client (lexprep[cloud]) is not installed")

from lexprep import pipeline  # noqa: E402
from lexprep.errors import ConfigurationError, InputError, TransientError  # noqa: E402
from lexprep.llm import LlmClient, metering  # noqa: E402
from lexprep.models import SourceFile, sha256_bytes  # noqa: E402
from lexprep.ner import document_mentions  # noqa: E402
from lexprep.ner.llm_ner import LlmEntities, find_verbatim  # noqa: E402
from lexprep.resolve import MentionRef, resolve  # noqa: E402
from lexprep.resolve.llm import LlmJudge, candidate_pairs  # noqa: E402
from lexprep.resolve.overrides import Override  # noqa: E402
from lexprep.settings import LlmSettings, NerSettings, ResolveSettings, Settings  # noqa: E402

API_KEY = "sk-test-llm-7c1e5a9b3d2f4e6a8b0c"

TEXT = ("On May 3, 2021, Jane Whitfield sued Northwind Traders LLC in Travis County, Texas, for $250,000 under "
        "the Texas Business and Commerce Code. See Roe v. Wade, 410 U.S. 113 (1973). Whitfield later met\n"
        "Jane   Whitfield's counsel at Northwind Traders LLC.")

#: what the fake model "knows": (text, label) it names when the text holds it
KNOWN = [("Jane Whitfield", "PERSON"), ("Northwind Traders LLC", "ORG"), ("Travis County", "GPE"),
         ("Texas", "GPE"), ("May 3, 2021", "DATE"), ("$250,000", "MONEY"), ("Wade", "PERSON")]
#: named by the model but in no text (an invention)
INVENTED = ("Jane Roe", "PERSON")

#: pairs the fake judge calls the same: frozenset of two names -> confidence
SAME = {frozenset({"Robert Miller", "Bob Miller"}): 0.93, frozenset({"Kline Holdings", "Kline Holdings Group"}): 0.55}


def chat_body(content: str, finish: str = "stop", tokens=(120, 30)) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                         "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_tokens": sum(tokens)}}


def error_body(message: str, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


def model_answer(request: dict) -> str:
    """What the fake model answers: entities (extraction) or judgements (resolution)."""
    schema = request["response_format"]["json_schema"]["name"]
    user = request["messages"][-1]["content"]
    if schema == "LlmEntities":
        found = [{"text": t, "label": label} for t, label in KNOWN if t in user]
        return json.dumps({"entities": found + [{"text": INVENTED[0], "label": INVENTED[1]}]})
    assert schema == "PairJudgements"
    judgements = []
    for n, a, b in re.findall(r"^(\d+)\. \w+: '([^']+)' \(.*?\) / '([^']+)'", user, re.M):
        conf = SAME.get(frozenset({a, b}))
        judgements.append({"pair": int(n), "same": conf is not None, "confidence": conf or 0.9,
                           "reason": f"{a} and {b}: " + ("same person, nickname" if conf else "different names")})
    return json.dumps({"judgements": judgements})


class FakeChat:
    def __init__(self):
        self.script: list[tuple] = []  # ("json", status, body) | ("sleep", s) | ("content", str[, finish])
        self.requests: list[dict] = []
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        state: FakeChat = self.server.state  # type: ignore[attr-defined]
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        with state.lock:
            state.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "json": request})
            action = state.script.pop(0) if state.script else None
        if action and action[0] == "sleep":
            time.sleep(action[1])
            action = None
        if action is None:
            status, payload = 200, chat_body(model_answer(request))
        elif action[0] == "content":
            status, payload = 200, chat_body(action[1], *action[2:])
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


@pytest.fixture()
def server():
    state = FakeChat()
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


def llm(server, **kw) -> LlmSettings:
    values = dict(base_url=server.base_url, api_key=API_KEY, timeout_s=2.0, max_attempts=3, retry_wait_s=0.0)
    values.update(kw)
    return LlmSettings(**values)


def ner(server, **kw) -> NerSettings:
    return NerSettings(backend="llm", workers=0, llm=llm(server, **kw))


# ---------------------------------------------------------------------------- the llm NER backend


def test_entities_get_their_offsets_from_the_text(server):
    with metering() as usage:
        mentions = document_mentions(TEXT, ner(server))
    by_text = {}
    for m in mentions:
        assert TEXT[m.doc_start:m.doc_end] == m.text
        by_text.setdefault((m.text, m.label, m.extractor), []).append(m.doc_start)
    assert len(by_text[("Jane Whitfield", "PERSON", "llm")]) == 1
    assert ("Jane   Whitfield", "PERSON", "llm") in by_text  # the same name across a run of spaces
    # the rules' corporate-suffix ORG and MONEY take precedence over the model's reading of the same characters
    northwind = [k for k in by_text if k[0].startswith("Northwind Traders LLC")]
    assert {k[2] for k in northwind} == {"rules"} and sum(len(by_text[k]) for k in northwind) == 2
    assert ("$250,000", "MONEY", "rules") in by_text
    assert ("Travis County", "GPE", "llm") in by_text
    assert ("May 3, 2021", "DATE", "llm") in by_text
    # eyecite and the rules keep their precedence: "Wade" inside the citation is part of the CASE mention
    assert not any(t == "Wade" for t, _l, _e in by_text)
    assert any(label == "CASE" and ext == "eyecite" for _t, label, ext in by_text)
    assert not any(t == "Jane Roe" for t, _l, _e in by_text)
    assert usage.not_in_text == 1 and usage.calls == 1 and (usage.tokens_in, usage.tokens_out) == (120, 30)
    (req,) = server.requests
    body = req["json"]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == f"Bearer {API_KEY}"
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0.0
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == LlmEntities.model_json_schema() | fmt["json_schema"]["schema"]
    assert TEXT in body["messages"][-1]["content"]


def test_find_verbatim_needs_whole_words():
    assert find_verbatim("Texas and East Texas, not Texasville", "Texas") == [(0, 5), (15, 20)]
    assert find_verbatim("Jane\nWhitfield", "Jane Whitfield") == [(0, 14)]
    assert find_verbatim("anything", "  ") == [] and find_verbatim("Jane Whitfield", "Jane Roe") == []


def test_long_windows_go_in_pieces_concurrently_on_one_clock(server):
    settings = ner(server).model_copy(update={"llm_max_chars": 600, "window_chars": 2000, "llm_concurrency": 3})
    text = (TEXT + "\n\n") * 6
    mentions = document_mentions(text, settings)
    starts = sorted(m.doc_start for m in mentions if m.text == "Travis County")
    assert len(starts) == 6 and all(text[s:s + 13] == "Travis County" for s in starts)
    sent = [r["json"]["messages"][-1]["content"] for r in server.requests]
    assert len(sent) == 3 and all(len(x) <= 600 and x in text for x in sent)  # (in any order: concurrent)
    assert sum(map(len, sent)) == len(text)


def _txt(text: str) -> tuple[SourceFile, bytes]:
    data = text.encode()
    return SourceFile(uri="/m/memo.txt", file_name="memo.txt", sha256=sha256_bytes(data), size=len(data),
                      kind="text", mime="text/plain"), data


def cloud(server, **kw) -> Settings:
    return Settings(profile="cloud", ner={"workers": 0}, resolve={"llm": False}, llm=llm(server, **kw))


def test_the_cost_ledger_and_dropped_names_of_a_document(server):
    assert cloud(server).ner_backend() == "llm"
    result = pipeline.run_document(*_txt(TEXT), cloud(server))
    assert result.status == "done", result.error
    assert {m.extractor for m in result.mentions} >= {"llm", "eyecite"}
    costs = result.costs
    assert (costs["api_tokens_in"], costs["api_tokens_out"]) == (120, 30)
    assert costs["estimated_cost_usd"] == pytest.approx(120 / 1e6 * 0.15 + 30 / 1e6 * 0.60)
    assert result.extracted.meta["llm_not_in_text"] == 1


@pytest.mark.parametrize("content", ['{"entities": [{"text": "Jane Whitfield"}]}', "Sure! Jane Whitfield is a person.",
                                     '{"entities": [{"text": "Texas", "label": "STATE"}]}'])
def test_a_schema_invalid_answer_leaves_the_window_out_and_the_document_partial(server, content):
    server.script = [("content", content)]
    result = pipeline.run_document(*_txt(TEXT), cloud(server))
    assert result.status == "partial"
    assert "LLM entity extraction left out characters 0-" in result.error and "does not fit the schema" in result.error
    assert len(server.requests) == 1  # not retried
    assert not [m for m in result.mentions if m.extractor == "llm"]
    assert [m for m in result.mentions if m.extractor == "eyecite"]  # the precise extractors still ran
    assert result.costs["api_tokens_in"] == 120  # the tokens were spent all the same


def test_an_answer_cut_short_is_reported_as_such(server):
    server.script = [("content", '{"entities": [{"text": "Jane', "length")]
    result = pipeline.run_document(*_txt(TEXT), cloud(server))
    assert result.status == "partial" and "cut at 4096 tokens" in result.error


def test_429_then_success(server):
    server.script = [("json", 429, error_body("Rate limit reached", "rate_limit_exceeded"))]
    mentions = document_mentions(TEXT, ner(server))
    assert len(server.requests) == 2 and any(m.extractor == "llm" for m in mentions)


def test_500_is_retried_and_gives_up_after_max_attempts(server):
    server.script = [("json", 500, error_body("boom"))] * 3
    with pytest.raises(TransientError, match=r"server error \(HTTP 500\)"):
        document_mentions(TEXT, ner(server))
    assert len(server.requests) == 3


def test_a_timeout_is_retried_then_succeeds(server):
    server.script = [("sleep", 1.0)]
    mentions = document_mentions(TEXT, ner(server, timeout_s=0.3))
    assert len(server.requests) == 2 and any(m.extractor == "llm" for m in mentions)


def test_timeouts_give_up_as_a_transient_error(server):
    server.script = [("sleep", 0.8)] * 2
    with pytest.raises(TransientError, match="timed out after 0.3 s"):
        document_mentions(TEXT, ner(server, timeout_s=0.3, max_attempts=2))


def test_400_is_an_input_error_not_retried(server):
    server.script = [("json", 400, error_body("context_length_exceeded"))]
    with pytest.raises(InputError, match="HTTP 400"):
        document_mentions(TEXT, ner(server))
    assert len(server.requests) == 1


def test_the_key_is_never_in_logs_errors_or_the_store(server, caplog, tmp_path: Path):
    caplog.set_level(logging.DEBUG)
    server.script = [("json", 401, error_body(f"Incorrect API key provided: {API_KEY}.", "invalid_api_key"))]
    with pytest.raises(ConfigurationError) as info:
        document_mentions(TEXT, ner(server))
    assert API_KEY not in str(info.value) and info.value.__cause__ is None
    server.script = [("json", 403, error_body(f"key {API_KEY} has no access to gpt-4o-mini"))]
    with pytest.raises(ConfigurationError) as info:
        LlmClient(llm(server)).structured("s", "u", LlmEntities)
    assert API_KEY not in str(info.value) and "***" in str(info.value)
    server.script = [("json", 429, error_body(f"slow down {API_KEY}"))] * 3
    with pytest.raises(TransientError) as info:
        document_mentions(TEXT, ner(server))
    assert API_KEY not in str(info.value)
    # a document processed and stored, with the key in the settings
    from lexprep.store import Store

    settings = cloud(server)
    result = pipeline.run_document(*_txt(TEXT), settings)
    with Store.open(f"sqlite:///{tmp_path / 'lexprep.db'}") as store:
        matter_id = store.ensure_matter("m")
        doc_id = store.register_document(matter_id, "m", result.source, None)
        store.save_document(doc_id, result, "1", settings.fingerprint())
        pipeline.resolve_matter(store, matter_id, "m", settings)
        store.export(matter_id, tmp_path / "out")
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(settings) and API_KEY not in settings.model_dump_json()
    for path in [*tmp_path.glob("lexprep.db*"), *(tmp_path / "out").iterdir()]:
        assert API_KEY.encode() not in path.read_bytes(), path


def test_no_key_is_a_configuration_error(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="LEXPREP_LLM__API_KEY"):
        document_mentions(TEXT, ner(server, api_key=None))


# ---------------------------------------------------------------------------- LLM-assisted resolution


def _refs():
    rows = [("r1", "PERSON", "Robert Miller", "A"), ("r2", "PERSON", "Robert Miller", "A"), ("r3", "PERSON", "Bob Miller", "B"),
            ("k1", "ORG", "Kline Holdings", "A"), ("k2", "ORG", "Kline Holdings Group", "B"),
            ("p1", "PERSON", "Paula Miller", "C"), ("t1", "PERSON", "Tom Baker", "C")]
    return [MentionRef(i, label, text, None, doc) for i, label, text, doc in rows]


def _entity(res, mid):
    return next(e for e in res.entities if e.id == res.assignments[mid])


def test_candidates_are_blocked_and_scored_by_rapidfuzz():
    rules = resolve(_refs(), ResolveSettings(), "m")
    pairs = {frozenset({a.name, b.name}): score for score, a, b in candidate_pairs(rules.entities, ResolveSettings())}
    assert frozenset({"Robert Miller", "Bob Miller"}) in pairs and frozenset({"Robert Miller", "Paula Miller"}) in pairs
    assert frozenset({"Kline Holdings", "Kline Holdings Group"}) in pairs
    assert not any("Tom Baker" in p for p in pairs)  # shares no word with anyone
    assert all(60 <= s <= 100 for s in pairs.values())


def test_the_llm_merges_what_it_judges_the_same_with_its_reason(server):
    judge = LlmJudge(ResolveSettings(llm=True), llm(server))
    res = resolve(_refs(), ResolveSettings(), "m", judge=judge)
    robert = _entity(res, "r1")
    assert _entity(res, "r3").id == robert.id and robert.name == "Robert Miller" and robert.mention_count == 3
    rec = next(r for r in res.merges if r.method == "llm")
    assert (rec.alias, rec.canonical, rec.score) == ("Bob Miller", "Robert Miller", 93.0)
    assert "nickname" in rec.evidence
    assert _entity(res, "p1").id != robert.id  # judged different
    assert _entity(res, "k1").id != _entity(res, "k2").id  # same, but below llm_min_confidence 0.8
    stats = res.llm
    assert stats["merged"] == 1 and stats["judged"] == stats["candidates"] >= 3 and stats["calls"] == 1
    assert stats["usd"] == pytest.approx(120 / 1e6 * 0.15 + 30 / 1e6 * 0.60) and stats["over_budget"] == 0
    assert "Robert Miller" in server.requests[0]["json"]["messages"][-1]["content"]


def test_the_calls_per_matter_are_bounded(server):
    judge = LlmJudge(ResolveSettings(llm=True, llm_max_calls=1, llm_pairs_per_call=1), llm(server))
    res = resolve(_refs(), ResolveSettings(), "m", judge=judge)
    assert len(server.requests) == 1 and res.llm["judged"] == 1 and res.llm["over_budget"] == res.llm["candidates"] - 1


def test_a_person_split_after_an_llm_merge_is_not_asked_again(server):
    judge = LlmJudge(ResolveSettings(llm=True), llm(server))
    first = resolve(_refs(), ResolveSettings(), "m", judge=judge)
    robert = _entity(first, "r1")
    split = Override("o1", "split", robert.id, alias="Bob Miller")
    server.requests.clear()
    again = resolve(_refs(), ResolveSettings(), "m", overrides=[split], judge=judge)
    assert _entity(again, "r3").id != _entity(again, "r1").id == robert.id
    asked = [line for r in server.requests for line in r["json"]["messages"][-1]["content"].splitlines()]
    assert asked and not [line for line in asked if "'Robert Miller'" in line and "'Bob Miller'" in line]
    assert not [r for r in again.merges if r.method == "llm"]


def test_judging_failures_keep_the_rules_resolution(server):
    rules = resolve(_refs(), ResolveSettings(), "m")
    server.script = [("content", '{"judgements": [{"pair": 1, "same": "maybe"}]}')]
    res = resolve(_refs(), ResolveSettings(), "m", judge=LlmJudge(ResolveSettings(llm=True), llm(server)))
    assert res.llm["invalid_answers"] == 1 and res.llm["merged"] == 0 and res.llm["calls"] == 1
    assert res.entities == rules.entities and res.assignments == rules.assignments
    server.script = [("json", 429, error_body("slow down")), ("sleep", 1.0)]
    res = resolve(_refs(), ResolveSettings(), "m", judge=LlmJudge(ResolveSettings(llm=True), llm(server, timeout_s=0.3)))
    assert res.llm["merged"] == 1 and len(server.requests) == 4  # 429, timeout, then an answer
    server.script = [("json", 503, error_body("down"))] * 3
    res = resolve(_refs(), ResolveSettings(), "m", judge=LlmJudge(ResolveSettings(llm=True), llm(server)))
    assert res.llm["errors"] and "HTTP 503" in res.llm["errors"][0] and res.entities == rules.entities


def test_resolve_matter_on_the_cloud_profile_reports_the_llm_and_throttles(server, tmp_path: Path):
    from lexprep.store import Store

    settings = Settings(profile="cloud", ner={"workers": 0}, llm=llm(server))
    assert settings.resolve_llm() and not Settings().resolve_llm()
    text = "Robert Miller met Bob Miller.\n\nRobert Miller signed. Paula Miller watched."
    result = pipeline.run_document(*_txt(text), settings.model_copy(update={"profile": "local"}))
    calls = []
    with Store.open(f"sqlite:///{tmp_path / 'x.db'}") as store:
        matter_id = store.ensure_matter("m")
        store.save_document(store.register_document(matter_id, "m", result.source, None), result, "1", "fp")
        counts = pipeline.resolve_matter(store, matter_id, "m", settings, throttle=lambda: calls.append(1))
        methods = {r.method for r in store.overrides.merges(matter_id)}
    assert counts["llm"]["merged"] == 1 and counts["llm"]["calls"] == len(calls) == 1 and "llm" in methods
