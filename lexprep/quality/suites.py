"""The checks of each table, as plain data (Great Expectations objects are built from them lazily).

One :class:`Check` is one GX expectation on one table's frame (see :mod:`lexprep.quality.frames` for
the columns). ``quarantine`` names the table and the frame column whose ids are flagged when the
check fails in ``quarantine`` mode: a failing page flags its document (pages have no flag of their
own, and a document is exported with its pages); entities are rebuilt by every resolution and have
no flag, so their failures are recorded only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lexprep.facts import KINDS
from lexprep.models import DocStatus, Label, PageMethod
from lexprep.settings import Settings

#: OCR engines that may name how a page's text was obtained (besides PageMethod values)
OCR_ENGINES = ("tesseract", "rapidocr", "mistral", "qwen2-vl")
#: every valid ``pages.method``
PAGE_METHODS = tuple(m.value for m in PageMethod) + OCR_ENGINES
#: every valid ``documents.status``
DOC_STATUSES = tuple(s.value for s in DocStatus)
#: every valid mention or entity label
LABELS = tuple(label.value for label in Label)

#: the tables validated, in order
TABLES = ("documents", "pages", "chunks", "mentions", "entities", "facts")

#: a row condition: all of (column, operator, value) must hold; operators ==, !=, <, <=, >, >=
Condition = tuple[tuple[str, str, Any], ...]


@dataclass(frozen=True, slots=True)
class Check:
    """One expectation on one table.

    Attributes:
        table: the frame validated.
        name: what must hold, in words (shown in reports).
        expectation: the GX expectation class name (in ``great_expectations.expectations``).
        kwargs: its arguments (column, bounds ...).
        condition: only rows meeting it are validated (None: every row).
        quarantine: ``(table, id column)`` flagged for failing rows, or None (recorded only).
    """

    table: str
    name: str
    expectation: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    condition: Condition | None = None
    quarantine: tuple[str, str] | None = None

    @property
    def column(self) -> str:
        """The column(s) checked, for reports (``a,b`` for a pair)."""
        kw = self.kwargs
        if "column" in kw:
            return str(kw["column"])
        if "column_A" in kw:
            return f"{kw['column_A']},{kw['column_B']}"
        return ",".join(kw.get("column_list", ()))


def checks(settings: Settings) -> list[Check]:
    """Every check, by table (TABLES order)."""
    size = settings.chunk.size_tokens
    doc = ("documents", "id")
    page_doc = ("documents", "document_id")
    chunk = ("chunks", "id")
    mention = ("mentions", "id")
    fact = ("facts", "id")
    done = ("status", "==", DocStatus.done.value)
    return [
        # documents
        Check("documents", "status is a DocStatus", "ExpectColumnValuesToBeInSet",
              {"column": "status", "value_set": list(DOC_STATUSES)}, quarantine=doc),
        Check("documents", "a done document with text on its pages has non-empty text",
              "ExpectColumnValuesToBeBetween", {"column": "text_chars", "min_value": 1},
              condition=(done, ("n_text_pages", ">", 0)), quarantine=doc),
        Check("documents", "a done document with empty text has no chunks", "ExpectColumnValuesToBeBetween",
              {"column": "n_chunks", "max_value": 0}, condition=(done, ("text_chars", "==", 0)), quarantine=doc),
        Check("documents", "a done document with text has at least one chunk", "ExpectColumnValuesToBeBetween",
              {"column": "n_chunks", "min_value": 1}, condition=(done, ("text_chars", ">", 0)), quarantine=doc),
        # pages
        Check("pages", "page number >= 1", "ExpectColumnValuesToBeBetween",
              {"column": "number", "min_value": 1}, quarantine=page_doc),
        Check("pages", "method is a page method or an OCR engine", "ExpectColumnValuesToBeInSet",
              {"column": "method", "value_set": list(PAGE_METHODS)}, quarantine=page_doc),
        Check("pages", "confidence is null or in [0, 1]", "ExpectColumnValuesToBeBetween",
              {"column": "confidence", "min_value": 0, "max_value": 1}, quarantine=page_doc),
        Check("pages", "(document_id, number) is unique", "ExpectCompoundColumnsToBeUnique",
              {"column_list": ["document_id", "number"]}, quarantine=page_doc),
        # chunks
        Check("chunks", f"token_count in [1, {size}] (chunk.size_tokens)", "ExpectColumnValuesToBeBetween",
              {"column": "token_count", "min_value": 1, "max_value": size}, quarantine=chunk),
        Check("chunks", "char_start < char_end", "ExpectColumnPairValuesAToBeGreaterThanB",
              {"column_A": "char_end", "column_B": "char_start"}, quarantine=chunk),
        Check("chunks", "len(text) == char_end - char_start", "ExpectColumnPairValuesToBeEqual",
              {"column_A": "text_len", "column_B": "span"}, quarantine=chunk),
        Check("chunks", "page_start <= page_end where both are set", "ExpectColumnPairValuesAToBeGreaterThanB",
              {"column_A": "page_end", "column_B": "page_start", "or_equal": True,
               "ignore_row_if": "either_value_is_missing"}, quarantine=chunk),
        # mentions
        Check("mentions", "label is a Label", "ExpectColumnValuesToBeInSet",
              {"column": "label", "value_set": list(LABELS)}, quarantine=mention),
        Check("mentions", "start >= 0", "ExpectColumnValuesToBeBetween",
              {"column": "start", "min_value": 0}, quarantine=mention),
        Check("mentions", "start < end", "ExpectColumnPairValuesAToBeGreaterThanB",
              {"column_A": "end", "column_B": "start"}, quarantine=mention),
        Check("mentions", "end <= length of the chunk text", "ExpectColumnPairValuesAToBeGreaterThanB",
              {"column_A": "chunk_len", "column_B": "end", "or_equal": True}, quarantine=mention),
        Check("mentions", "doc_start < doc_end", "ExpectColumnPairValuesAToBeGreaterThanB",
              {"column_A": "doc_end", "column_B": "doc_start"}, quarantine=mention),
        Check("mentions", "score in [0, 1]", "ExpectColumnValuesToBeBetween",
              {"column": "score", "min_value": 0, "max_value": 1}, quarantine=mention),
        Check("mentions", "score is set", "ExpectColumnValuesToNotBeNull", {"column": "score"}, quarantine=mention),
        # entities (no quarantine flag: recorded only)
        Check("entities", "label is a Label", "ExpectColumnValuesToBeInSet",
              {"column": "label", "value_set": list(LABELS)}),
        Check("entities", "name is set", "ExpectColumnValuesToNotBeNull", {"column": "name"}),
        Check("entities", "name is not blank", "ExpectColumnValuesToMatchRegex", {"column": "name", "regex": r"\S"}),
        Check("entities", "mention_count >= 1", "ExpectColumnValuesToBeBetween",
              {"column": "mention_count", "min_value": 1}),
        # facts
        Check("facts", "kind is a fact kind", "ExpectColumnValuesToBeInSet",
              {"column": "kind", "value_set": list(KINDS)}, quarantine=fact),
        Check("facts", "evidence is the document's text at its span, verbatim", "ExpectColumnValuesToBeBetween",
              {"column": "evidence_ok", "min_value": 1}, condition=(("evidence_source", "==", "text"),),
              quarantine=fact),
        Check("facts", "a date's normalized value is a valid ISO 8601 date", "ExpectColumnValuesToBeBetween",
              {"column": "date_ok", "min_value": 1}, condition=(("is_date", "==", 1),), quarantine=fact),
        Check("facts", "confidence in [0, 1]", "ExpectColumnValuesToBeBetween",
              {"column": "confidence", "min_value": 0, "max_value": 1}, quarantine=fact),
    ]
