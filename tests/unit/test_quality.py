"""lexprep.quality: the gates over a SQLite store in tmp_path, with both engines (Great Expectations and
the built-in pandas evaluator must report the same failures on the same rows)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from lexprep.models import (
    Chunk,
    CleanText,
    DocStatus,
    DocumentResult,
    Entity,
    ExtractedDocument,
    Mention,
    Page,
    PageSpan,
    SourceFile,
    sha256_bytes,
)
from lexprep.quality import QualityGateError, QualityReport, quality_rows, run_quality_gates
from lexprep.quality.frames import load_frames
from lexprep.settings import QualitySettings, Settings
from lexprep.store import Store, chunk_id_for, mention_id_for
from lexprep.store import schema as t

pytestmark = pytest.mark.unit

MATTER = "Acme v. Widget"
SIZE = 64  # chunk.size_tokens in these tests

TOKENS = "token_count in [1, 64] (chunk.size_tokens)"
SPAN = "end <= length of the chunk text"
MENTION_LABEL = "label is a Label"
CONFIDENCE = "confidence is null or in [0, 1]"
NO_CHUNK = "a done document with text has at least one chunk"


ENGINES = ["gx", "builtin"]


def settings(on_failure: str = "quarantine", enabled: bool = True, engine: str = "builtin") -> Settings:
    s = Settings()
    s.chunk.size_tokens = SIZE
    s.quality = QualitySettings(enabled=enabled, on_failure=on_failure, engine=engine)  # type: ignore[arg-type]
    return s


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    """Each test that takes it runs once with Great Expectations and once with the built-in engine."""
    return request.param


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(f"sqlite:///{tmp_path / 'lexprep.db'}")
    yield s
    s.close()


def source(name: str) -> SourceFile:
    content = name.encode()
    return SourceFile(uri=f"/matter/{name}", file_name=name, sha256=sha256_bytes(content), size=len(content),
                      kind="pdf", mime="application/pdf")


def good_result(name: str, n_pages: int = 2, status: str = DocStatus.done) -> DocumentResult:
    """Pages of text, one chunk per page (its exact span), two mentions per chunk."""
    page_texts = [f"John Smith of {name} page {i} sued Acme Corp in Boston." for i in range(1, n_pages + 1)]
    text, spans, chunks, mentions = "", [], [], []
    for i, txt in enumerate(page_texts):
        if text:
            text += "\n\n"
        start = len(text)
        text += txt
        spans.append(PageSpan(number=i + 1, char_start=start, char_end=len(text)))
        chunks.append(Chunk(chunk_index=i, text=txt, char_start=start, char_end=len(text), page_start=i + 1,
                            page_end=i + 1, token_count=len(txt.split())))
        for label, word in (("PERSON", "John Smith"), ("GPE", "Boston")):
            a = txt.index(word)
            mentions.append(Mention(chunk_index=i, label=label, text=word, start=a, end=a + len(word),
                                    doc_start=start + a, doc_end=start + a + len(word), score=0.9))
    pages = [Page(number=i + 1, method="text_layer", text=txt, confidence=None if i else 0.98)
             for i, txt in enumerate(page_texts)]
    return DocumentResult(
        source=source(name), status=status,
        extracted=ExtractedDocument(kind="pdf", pages=pages), clean=CleanText(text=text, page_spans=spans),
        chunks=chunks, mentions=mentions,
    )


def empty_result(name: str) -> DocumentResult:
    """A done document whose pages have no text: empty text, no chunks (valid)."""
    pages = [Page(number=1, method="tesseract", text="", confidence=0.0)]
    return DocumentResult(source=source(name), status=DocStatus.done,
                          extracted=ExtractedDocument(kind="pdf", pages=pages), clean=CleanText(text="", page_spans=[]))


def save(store: Store, result: DocumentResult) -> str:
    matter_id = store.ensure_matter(MATTER)
    doc_id = store.register_document(matter_id, MATTER, result.source)
    store.save_document(doc_id, result, "1", "fp")
    return doc_id


def mention_id(doc_id: str, result: DocumentResult, m: Mention) -> str:
    return mention_id_for(doc_id, m.doc_start, m.doc_end)


# ---------------------------------------------------------------------------- the bad rows


def too_many_tokens(r: DocumentResult) -> None:
    r.chunks[0].token_count = SIZE + 1


def span_outside_chunk(r: DocumentResult) -> None:
    chunk = r.chunks[1]
    n = len(chunk.text)
    r.mentions.append(Mention(chunk_index=1, label="ORG", text="on.", start=n - 3, end=n + 4,
                              doc_start=chunk.char_start + n - 3, doc_end=chunk.char_start + n + 4, score=0.5))


def bad_label(r: DocumentResult) -> None:
    r.mentions.append(Mention(chunk_index=1, label="WIDGET", text="Acme Corp", start=r.chunks[1].text.index("Acme"),
                              end=r.chunks[1].text.index("Acme") + 9, doc_start=0, doc_end=9, score=1.0))
    m = r.mentions[-1]
    m.doc_start, m.doc_end = r.chunks[1].char_start + m.start, r.chunks[1].char_start + m.end


def bad_confidence(r: DocumentResult) -> None:
    r.extracted.pages[0].confidence = 1.5  # type: ignore[union-attr]


def no_chunks(r: DocumentResult) -> None:
    r.chunks, r.mentions = [], []


def expected_id(kind: str, doc_id: str, r: DocumentResult) -> tuple[str, str, str, str | None]:
    """(table, check, sample id, (quarantine table, id)) for a bad kind applied to ``r``."""
    if kind == "tokens":
        cid = chunk_id_for(doc_id, 0)
        return "chunks", TOKENS, cid, ("chunks", cid)
    if kind == "span":
        mid = mention_id(doc_id, r, r.mentions[-1])
        return "mentions", SPAN, mid, ("mentions", mid)
    if kind == "label":
        mid = mention_id(doc_id, r, r.mentions[-1])
        return "mentions", MENTION_LABEL, mid, ("mentions", mid)
    if kind == "confidence":
        return "pages", CONFIDENCE, f"{doc_id}:1", ("documents", doc_id)
    if kind == "no_chunks":
        return "documents", NO_CHUNK, doc_id, ("documents", doc_id)
    raise AssertionError(kind)


BAD: dict[str, Callable[[DocumentResult], None]] = {
    "tokens": too_many_tokens,
    "span": span_outside_chunk,
    "label": bad_label,
    "confidence": bad_confidence,
    "no_chunks": no_chunks,
}


def good_matter(store: Store) -> tuple[str, dict[str, str]]:
    """Two good documents, an empty one, a failed one and resolved entities."""
    docs = {name: save(store, good_result(name)) for name in ("a.pdf", "b.pdf")}
    docs["empty.pdf"] = save(store, empty_result("empty.pdf"))
    failed = DocumentResult(source=source("bad.pdf"), status=DocStatus.failed, error="corrupt file")
    docs["bad.pdf"] = save(store, failed)
    matter_id = store.ensure_matter(MATTER)
    store.replace_entities(
        matter_id,
        [Entity(id="e" * 32, label="PERSON", name="John Smith", aliases=["John Smith"], mention_count=4),
         Entity(id="f" * 32, label="GPE", name="Boston", aliases=["Boston"], mention_count=4)],
        {}, [],
    )
    return matter_id, docs


def failed_checks(report: QualityReport) -> list[tuple[str, dict]]:
    return [(table, f) for table, suite in report.suites.items() for f in suite["failed_expectations"]]


def flags(store: Store, table) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(select(table.c.id).where(table.c.quarantined.is_(True))).scalars())


def saved_results(store: Store) -> list:
    with store.engine.connect() as conn:
        return conn.execute(select(t.quality_results).order_by(t.quality_results.c.created_at)).all()


# ---------------------------------------------------------------------------- tests


def test_good_data_passes_every_suite(store: Store, engine: str):
    matter_id, _ = good_matter(store)
    report = run_quality_gates(store, matter_id, settings(engine=engine))
    assert report.success, report.summary()
    assert set(report.suites) == {"documents", "pages", "chunks", "mentions", "entities", "facts"}
    for table, suite in report.suites.items():
        assert suite["success"] and suite["failed_expectations"] == [], table
        assert suite["evaluated"] >= 4
    assert report.suites["documents"]["rows"] == 4
    assert report.suites["chunks"]["rows"] == 4
    assert report.suites["mentions"]["rows"] == 8
    assert report.suites["entities"]["rows"] == 2
    assert report.quarantined == {"documents": [], "chunks": [], "mentions": [], "facts": []}
    assert not report.should_fail
    report.raise_for_failure()
    assert report.engine == engine
    assert (report.gx_version or "").startswith("1.") if engine == "gx" else report.gx_version is None
    rows = saved_results(store)
    assert len(rows) == 1 and rows[0].success is True and rows[0].matter_id == matter_id
    assert rows[0].id == report.result_id and rows[0].report["success"] is True


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_row_fails_the_right_expectation(store: Store, kind: str, engine: str):
    matter_id, _ = good_matter(store)
    result = good_result("c.pdf")
    BAD[kind](result)
    doc_id = save(store, result)
    table, check, sample_id, _ = expected_id(kind, doc_id, result)

    report = run_quality_gates(store, matter_id, settings("warn", engine=engine))

    assert report.success is False
    failed = failed_checks(report)
    assert [(tb, f["check"]) for tb, f in failed] == [(table, check)]
    entry = failed[0][1]
    assert entry["unexpected_count"] == 1
    assert entry["sample_ids"] == [sample_id]
    assert entry["expectation"].startswith("expect_")
    assert report.failed_tables == [table]
    assert all(s["success"] for tb, s in report.suites.items() if tb != table)
    # warn: recorded only
    assert report.quarantined == {"documents": [], "chunks": [], "mentions": [], "facts": []}
    assert not report.should_fail
    assert flags(store, t.documents) == flags(store, t.chunks) == flags(store, t.mentions) == set()
    assert saved_results(store)[-1].success is False


def build_bad_matter(store: Store) -> tuple[str, dict[str, set[str]], dict[str, str], dict[str, DocumentResult]]:
    """Every bad kind in one matter: returns (matter_id, expected flags by table, doc ids, results)."""
    matter_id, docs = good_matter(store)
    a = good_result("c.pdf")
    for kind in ("tokens", "span", "label"):
        BAD[kind](a)
    b = good_result("d.pdf")
    bad_confidence(b)
    c = good_result("e.pdf")
    no_chunks(c)
    results = {"c": a, "d": b, "e": c}
    ids = {key: save(store, r) for key, r in results.items()}
    expected: dict[str, set[str]] = {"documents": set(), "chunks": set(), "mentions": set(), "facts": set()}
    for key, kinds in (("c", ("tokens",)), ("d", ("confidence",)), ("e", ("no_chunks",))):
        for kind in kinds:
            target, row_id = expected_id(kind, ids[key], results[key])[3]
            expected[target].add(row_id)
    # the span and label mentions are the last two of document c
    span_m, label_m = a.mentions[-2], a.mentions[-1]
    expected["mentions"] |= {mention_id(ids["c"], a, span_m), mention_id(ids["c"], a, label_m)}
    return matter_id, expected, {**docs, **ids}, results


def test_quarantine_flags_exactly_the_bad_rows_and_export_skips_them(store: Store, tmp_path: Path, engine: str):
    matter_id, expected, ids, results = build_bad_matter(store)

    report = run_quality_gates(store, matter_id, settings("quarantine", engine=engine))

    assert report.success is False and not report.should_fail
    assert {k: set(v) for k, v in report.quarantined.items()} == expected
    assert flags(store, t.documents) == expected["documents"]
    assert flags(store, t.chunks) == expected["chunks"]
    assert flags(store, t.mentions) == expected["mentions"]
    checks_failed = {(tb, f["check"]) for tb, f in failed_checks(report)}
    assert checks_failed == {("chunks", TOKENS), ("mentions", SPAN), ("mentions", MENTION_LABEL),
                             ("pages", CONFIDENCE), ("documents", NO_CHUNK)}

    out = tmp_path / "export"
    store.export(matter_id, out)
    docs = [json.loads(line) for line in (out / "documents.jsonl").read_text().splitlines()]
    chunks = [json.loads(line) for line in (out / "chunks.jsonl").read_text().splitlines()]
    doc_ids = {d["id"] for d in docs}
    assert doc_ids == set(ids.values()) - expected["documents"]
    chunk_ids = {c["id"] for c in chunks}
    assert not chunk_ids & expected["chunks"]
    assert {c["document_id"] for c in chunks} <= doc_ids
    assert ids["d"] not in {c["document_id"] for c in chunks}  # a quarantined document's chunks go too
    assert chunk_id_for(ids["c"], 1) in chunk_ids  # the good chunk of document c stays ...
    mention_ids = {m["id"] for c in chunks for m in c["mentions"]}
    assert not mention_ids & expected["mentions"]  # ... without its bad mentions
    c1 = next(c for c in chunks if c["id"] == chunk_id_for(ids["c"], 1))
    assert len(c1["mentions"]) == 2
    assert chunk_id_for(ids["a.pdf"], 0) in chunk_ids and len(chunks) == 2 + 2 + 1

    # a document saved again gets clean rows; a second gate run re-derives the flags
    store.save_document(ids["c"], good_result("c.pdf"), "1", "fp")
    again = run_quality_gates(store, matter_id, settings("quarantine", engine=engine))
    assert set(again.quarantined["documents"]) == expected["documents"]
    assert again.quarantined["chunks"] == [] and again.quarantined["mentions"] == []
    assert flags(store, t.chunks) == flags(store, t.mentions) == set()
    assert len(saved_results(store)) == 2


def test_fail_mode_reports_failure_and_flags_nothing(store: Store, engine: str):
    matter_id, _, _, _ = build_bad_matter(store)
    run_id = store.start_run(matter_id)

    report = run_quality_gates(store, matter_id, settings("fail", engine=engine), run_id=run_id)

    assert report.success is False
    assert report.should_fail
    with pytest.raises(QualityGateError, match="chunks: 1 check failed"):
        report.raise_for_failure()
    assert report.quarantined == {"documents": [], "chunks": [], "mentions": [], "facts": []}
    assert flags(store, t.documents) == flags(store, t.chunks) == flags(store, t.mentions) == set()
    (row,) = saved_results(store)
    assert row.success is False and row.run_id == run_id
    assert row.report["on_failure"] == "fail" and row.report["run_id"] == run_id
    assert row.report["suites"]["chunks"]["failed_expectations"][0]["check"] == TOKENS


def test_bad_entities_are_recorded_only(store: Store, engine: str):
    matter_id, _ = good_matter(store)
    store.replace_entities(
        matter_id,
        [Entity(id="1" * 32, label="THING", name="Widget", aliases=[], mention_count=1),
         Entity(id="2" * 32, label="ORG", name="   ", aliases=[], mention_count=0)],
        {}, [],
    )
    report = run_quality_gates(store, matter_id, settings("quarantine", engine=engine))
    assert report.failed_tables == ["entities"]
    failed = {f["check"]: f["sample_ids"] for _, f in failed_checks(report)}
    assert failed == {"label is a Label": ["1" * 32], "name is not blank": ["2" * 32],
                      "mention_count >= 1": ["2" * 32]}
    assert report.quarantined == {"documents": [], "chunks": [], "mentions": [], "facts": []}


def test_disabled_gate_touches_nothing(store: Store):
    matter_id, _, _, _ = build_bad_matter(store)
    report = run_quality_gates(store, matter_id, settings("fail", enabled=False))
    assert report.enabled is False and report.success and not report.should_fail
    assert report.suites == {} and saved_results(store) == []


def test_unknown_matter_and_run(store: Store):
    with pytest.raises(KeyError):
        run_quality_gates(store, "0" * 32, settings())
    matter_id, _, _, _ = build_bad_matter(store)
    with pytest.raises(KeyError, match="unknown run"):
        run_quality_gates(store, matter_id, settings("quarantine"), run_id="9" * 32)
    assert flags(store, t.documents) == flags(store, t.mentions) == set() and saved_results(store) == []
    with pytest.raises(KeyError):
        store.save_quality(matter_id, "9" * 32, {"success": True})
    with pytest.raises(ValueError):
        store.quarantine("pages", ["x"])
    assert store.quarantine("chunks", []) == 0


def test_quality_rows(store: Store, engine: str):
    matter_id, _, _, _ = build_bad_matter(store)
    report = run_quality_gates(store, matter_id, settings("warn", engine=engine))
    rows = quality_rows(report)
    assert rows == quality_rows(report.to_dict())
    assert {r["table"] for r in rows} == {"documents", "pages", "chunks", "mentions", "entities", "facts"}
    keys = ["table", "status", "check", "expectation", "column", "unexpected", "rows", "quarantined", "sample_ids"]
    assert all(list(r) == keys for r in rows)
    assert [r["status"] for r in rows if r["table"] == "entities"] == ["passed"]
    tokens = next(r for r in rows if r["check"] == TOKENS)
    assert tokens["status"] == "failed" and tokens["unexpected"] == 1 and tokens["column"] == "token_count"
    span = next(r for r in rows if r["check"] == SPAN)
    assert span["column"] == "chunk_len,end"
    assert json.dumps(rows)  # plain JSON for the artifact


def test_frames_hold_no_text(store: Store):
    matter_id, _ = good_matter(store)
    with store.engine.connect() as conn:
        frames = load_frames(conn, matter_id)
    assert "text" not in {c for df in frames.values() for c in df.columns}
    docs = frames["documents"].set_index("status")
    assert docs.loc["failed", "text_chars"] == 0 and docs.loc["failed", "n_chunks"] == 0
    chunks = frames["chunks"]
    assert (chunks["text_len"] == chunks["span"]).all()


def test_quarantine_on_each_back_end(store_url: str, tmp_path: Path):
    """The same gate on SQLite and (marked integration, skipped without server binaries) Postgres."""
    with Store.open(store_url) as s:
        matter_id, expected, _, _ = build_bad_matter(s)
        report = run_quality_gates(s, matter_id, settings("quarantine"))
        assert {k: set(v) for k, v in report.quarantined.items()} == expected
        assert flags(s, t.mentions) == expected["mentions"]
        counts = s.export(matter_id, tmp_path / "out")
        assert counts["documents.jsonl"] == 7 - len(expected["documents"])
        frames_docs = report.suites["documents"]
        assert frames_docs["rows"] == 7 and frames_docs["failed_expectations"][0]["check"] == NO_CHUNK


# ---------------------------------------------------------------------------- the two engines agree


def _messy_frames(seed: int) -> dict:
    """Frames with every column the checks read, full of edge cases: missing values, bounds, blanks,
    duplicated (document_id, number) pairs, unknown labels and statuses."""
    import numpy as np
    import pandas as pd

    from lexprep.quality.frames import FRAME_COLUMNS

    rng = np.random.default_rng(seed)
    n = 300

    def num(lo, hi, missing=0.15):
        values = rng.integers(lo, hi, n).astype("float64")
        values[rng.random(n) < missing] = np.nan
        return values

    def pick(options, missing=0.1):
        return pd.Series([None if rng.random() < missing else options[i] for i in rng.integers(0, len(options), n)],
                         dtype=object)

    statuses = ["done", "failed", "partial", "needs_ocr", "bogus"]
    frames = {
        "documents": {"status": pick(statuses), "text_len": num(0, 50), "text_chars": num(-1, 5),
                      "n_chunks": num(0, 3), "n_pages": num(0, 4), "n_text_pages": num(0, 3)},
        "pages": {"document_id": pick(["a", "b", "c"], 0.0), "number": num(-1, 4), "method": pick(
            ["text_layer", "tesseract", "mistral", "scribble"]), "confidence": rng.choice([-0.1, 0.0, 0.5, 1.0, 1.2, np.nan], n)},
        "chunks": {"document_id": pick(["a", "b"], 0.0), "token_count": num(0, SIZE + 3), "char_start": num(0, 10),
                   "char_end": num(0, 10), "page_start": num(1, 4, 0.3), "page_end": num(1, 4, 0.3), "text_len": num(0, 10)},
        "mentions": {"chunk_id": pick(["x", "y"], 0.0), "document_id": pick(["a"], 0.0), "label": pick(
            ["PERSON", "ORG", "WIDGET"]), "start": num(-2, 6), "end": num(0, 8), "doc_start": num(0, 8),
            "doc_end": num(0, 8), "score": rng.choice([-0.5, 0.0, 0.3, 1.0, 1.5, np.nan], n), "chunk_len": num(0, 8)},
        "entities": {"label": pick(["PERSON", "THING"]), "name": pick(["Acme", "  ", "", "John Smith"]),
                     "mention_count": num(0, 3)},
        "facts": {"document_id": pick(["a"], 0.0), "kind": pick(["party", "agreement_date", "gadget"]),
                  "evidence_source": pick(["text", "header"]), "normalized": pick(["2020-02-30", "2020-01-31", None]),
                  "confidence": rng.choice([-0.1, 0.0, 0.7, 1.0, 1.3, np.nan], n), "evidence_ok": num(0, 2)},
    }
    out = {}
    for table, cols in frames.items():
        df = pd.DataFrame({"id": [f"{table}-{i}" for i in range(n)], **cols})
        out[table] = df[list(FRAME_COLUMNS[table])]
    out["chunks"]["span"] = out["chunks"]["char_end"] - out["chunks"]["char_start"]
    out["facts"]["is_date"] = num(0, 2, 0.0)
    out["facts"]["date_ok"] = num(0, 2)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_builtin_engine_matches_great_expectations_row_for_row(seed: int):
    """Every check on messy frames: the same success, unexpected count and failing rows (in order)."""
    from lexprep.quality import _context, _import_gx, _validate_gx, checks
    from lexprep.quality.builtin import validate_builtin

    gx = _import_gx()
    context = _context(gx)
    context.data_sources.add_pandas(name="lexprep")
    frames = _messy_frames(seed)
    all_checks = list(enumerate(checks(settings())))
    compared = failing = 0
    for table, df in frames.items():
        table_checks = [(i, c) for i, c in all_checks if c.table == table]
        want = {r.index: r for r in _validate_gx(gx, context, table, df, table_checks)}
        got = {r.index: r for r in validate_builtin(df, table_checks)}
        assert set(want) == set(got) == {i for i, _ in table_checks}
        for index, check in table_checks:
            w, g = want[index], got[index]
            assert w.error is None and g.error is None, (check.name, w.error, g.error)
            assert (g.success, g.unexpected_count, g.positions) == (w.success, w.unexpected_count, w.positions), \
                (table, check.name)
            compared += 1
            failing += not w.success
    assert compared == len(all_checks) and failing >= len(all_checks) // 2  # the frames do exercise failures


def test_engine_choice():
    from lexprep.quality import choose_engine

    s = settings(engine="auto")
    s.quality.gx_min_rows = 1000
    assert choose_engine(s, 999) == "builtin" and choose_engine(s, 1000) == "gx"
    assert choose_engine(settings(engine="gx"), 1) == "gx"
    assert choose_engine(settings(engine="builtin"), 10**9) == "builtin"
    assert Settings().quality.engine == "auto"


def test_builtin_engine_reports_an_unknown_expectation_as_an_error():
    import pandas as pd

    from lexprep.quality.builtin import expectation_type, validate_builtin
    from lexprep.quality.suites import Check

    df = pd.DataFrame({"id": ["a"], "x": [1.0]})
    (result,) = validate_builtin(df, [(0, Check("t", "x is odd", "ExpectColumnValuesToBeOdd", {"column": "x"}))])
    assert not result.success and "ExpectColumnValuesToBeOdd" in result.error
    assert expectation_type("ExpectColumnPairValuesAToBeGreaterThanB") == "expect_column_pair_values_a_to_be_greater_than_b"
