"""Facts on the shared corpus: the CUAD contracts against their gold answers (bench/eval_facts.py), the
court opinions and orders (court, docket number, caption parties), and the e-mails (SENT, RECEIVED
and REPLY_TO edges for every message with the headers), through lexprep's per-document stages, the
store, resolution and the graph. Skipped with a reason when ../shared is absent."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from lexprep import PIPELINE_VERSION, pipeline
from lexprep.settings import Settings
from lexprep.sources import describe
from lexprep.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.shared]

REPO = Path(__file__).resolve().parents[2]
#: opinions and orders of the shared corpus (born digital; the scanned order is OCR's, not ours)
COURT_FILES = ("ca1_00117684624.pdf", "ca5_00516242060.pdf", "gov.uscourts.azd.1085839.3.0.pdf",
               "gov.uscourts.cacd.652774.40.0.pdf", "missouri.pdf", "vector-pdf.pdf", "word-doc.doc",
               "word-perfect.wpd")


def _bench():
    spec = importlib.util.spec_from_file_location("eval_facts", REPO / "bench" / "eval_facts.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def settings() -> Settings:
    s = Settings()
    s.limits.workers = 0
    s.ner.workers = 0
    return s


def test_contracts_meet_the_targets(shared_dir):
    bench = _bench()
    gold = shared_dir / "eval" / "contracts" / "cuad_gold.csv"
    scores, rows = bench.evaluate(gold, shared_dir / "corpus" / "contracts")
    assert len(rows) == 5
    for field, target in bench.TARGETS.items():
        s = scores[field]
        assert s.precision >= target and s.recall >= target, (field, s.precision, s.recall, s.misses)


@pytest.fixture(scope="module")
def processed(shared_dir, tmp_path_factory):
    """The court documents and e-mails of the corpus, processed, stored, resolved and graphed."""
    s = settings()
    db = tmp_path_factory.mktemp("facts") / "facts.db"
    store = Store.open(f"sqlite:///{db}")
    matter_id = store.ensure_matter("facts")
    paths = [shared_dir / "corpus" / "court" / n for n in COURT_FILES]
    paths += sorted(p for p in (shared_dir / "corpus" / "email").iterdir() if p.suffix in (".eml", ".msg"))
    results = {}
    for path in paths:
        data = path.read_bytes()
        src = describe(str(path), path.name, data)
        result = pipeline.run_document(src, data, s)
        doc_id = store.register_document(matter_id, "facts", src, None)
        store.save_document(doc_id, result, PIPELINE_VERSION, s.fingerprint())
        results[path.name] = (doc_id, result)
    pipeline.resolve_matter(store, matter_id, "facts", s)
    pipeline.graph_matter(store, matter_id, s)
    out = db.parent / "export"
    store.export(matter_id, out)
    rels = [json.loads(x) for x in (out / "relationships.jsonl").read_text().splitlines()]
    yield results, rels, store.status(matter_id)
    store.close()


@pytest.mark.parametrize("name", COURT_FILES)
def test_every_opinion_and_order_has_court_docket_and_parties(processed, name):
    results, rels, _ = processed
    doc_id, result = results[name]
    kinds = {f.kind for f in result.facts}
    assert {"court", "docket_number", "party"} <= kinds, (name, sorted(kinds))
    assert any(r["type"] == "FILED_IN" and r["source"] == doc_id for r in rels)
    assert any(r["type"] == "PARTY_TO" and r["target"] == doc_id for r in rels)


def test_every_email_with_headers_has_its_edges(processed):
    results, rels, status = processed
    emails = {n: v for n, v in results.items() if n.endswith((".eml", ".msg"))}
    assert len(emails) >= 9
    for name, (doc_id, result) in emails.items():
        meta = result.extracted.meta
        if meta.get("from"):
            assert any(r["type"] == "SENT" and r["target"] == doc_id for r in rels), name
        if meta.get("to") or meta.get("cc") or meta.get("bcc"):
            recipients = [r for r in rels if r["type"] == "RECEIVED" and r["target"] == doc_id]
            expected = sum(len([a for a in str(meta.get(k) or "").split(",") if "@" in a]) for k in ("to", "cc", "bcc"))
            assert len(recipients) >= min(expected, 1) and len(recipients) <= expected, name
        if meta.get("in_reply_to"):
            assert any(r["type"] == "REPLY_TO" and r["source"] == doc_id for r in rels), name
    assert status["facts_rejected"] == 0
    # the bounded CO_OCCURS edges never dominate the graph
    by_type = status["relationships_by_type"]
    assert by_type.get("CO_OCCURS", 0) < 0.5 * sum(by_type.values())
