"""The extract-entities stage: what process_matter's mentions task sends to the deployment and folds back.

``run_deployment`` is replaced by a function that runs the real stage flow's body (``extract_entities.fn``)
on the parameters after a JSON round trip (what the Prefect API stores), so everything but the API hop is
the real code; tests/integration/test_deploy.py runs it on a real server with a lexprep-gpu worker.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.integration  # the packaged spaCy model runs in this process

from lexprep import pipeline  # noqa: E402
from lexprep.models import CategoryResult, Chunk, CleanText, PageSpan  # noqa: E402
from lexprep.settings import Settings  # noqa: E402

TEXT = ("UNITED STATES DISTRICT COURT\n\nIn No. 1:19-cv-01234, Mary Ellen Walsh sued Northwind Traders LLC "
        '(the "Company") in Boston on May 3, 2021 for $5,000 under 42 U.S.C. § 1983.\n\nThe Company owes Walsh costs.')


def _doc():
    half = TEXT.index("\n\nThe Company")
    clean = CleanText(text=TEXT, page_spans=[PageSpan(1, 0, half), PageSpan(2, half, len(TEXT))])
    chunks = [Chunk(chunk_index=0, text=TEXT[:half], char_start=0, char_end=half, page_start=1, page_end=1,
                    token_count=20),
              Chunk(chunk_index=1, text=TEXT[half:], char_start=half, char_end=len(TEXT), page_start=2, page_end=2,
                    token_count=4)]
    return clean, chunks, CategoryResult(category="pleading", reason="test")


def test_mentions_on_the_deployment_equal_mentions_here(monkeypatch):
    import lexprep_prefect.tasks.stages as stages
    from lexprep_prefect.flows.stages import extract_entities

    sent = []

    def fake_run_deployment(name, parameters, timeout):
        parameters = json.loads(json.dumps(parameters))  # what the API stores and the worker gets
        sent.append((name, parameters, timeout))
        result = json.loads(json.dumps(extract_entities.fn(**parameters)))
        return SimpleNamespace(state=SimpleNamespace(is_completed=lambda: True, result=lambda: result, name="Completed"))

    monkeypatch.setattr(stages, "run_deployment", fake_run_deployment)
    settings = Settings(ner={"workers": 0}, llm={"api_key": "sk-never-sent-1234567"},
                        deployments={"entities": "extract-entities/gpu", "timeout_s": 60})
    clean, chunks, category = _doc()
    meta: dict = {}
    remote = stages.mentions_on_deployment(clean, chunks, category, settings, meta)
    local = pipeline.mentions_stage(clean, chunks, category, settings.model_copy(update={"deployments": Settings().deployments}))
    assert remote == local and len(remote) > 5
    assert {m.label for m in remote} >= {"PERSON", "ORG", "DOCKET", "LAW", "MONEY"}
    assert any(m.link is not None for m in remote)  # in-document links survive the trip (a tuple again)
    (name, params, timeout), = sent
    assert name == "extract-entities/gpu" and timeout == 60
    assert params["text"] == TEXT and params["category"] == "pleading" and params["boundaries"] == [TEXT.index("\n\nThe Company")]
    assert params["profile"] == "local" and "sk-never-sent" not in json.dumps(params)
    assert "ner" in params["settings_overrides"] and "api_key" not in params["settings_overrides"]["llm"]
    assert stages.mentions_on_deployment(CleanText(text="  ", page_spans=[]), [], category, settings) == []
    assert len(sent) == 1  # nothing to send
