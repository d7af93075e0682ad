"""Typed records that flow through the pipeline.

SourceFile -> ExtractedDocument(pages, attachments) -> CleanText(text, page spans) -> Chunk -> Mention
-> Entity -> Relationship.

All offsets are Python string indices (characters, end exclusive). Page numbers are 1-based.
Records are plain dataclasses so that they pickle cheaply into worker processes.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

#: namespace of every deterministic id (uuid5), so that a re-run derives the same ids
ID_NAMESPACE = uuid.UUID("6f1c2a52-6c1e-4f7e-9d0a-6c6578707265")


def stable_id(*parts: object) -> str:
    """A deterministic id (uuid5 hex string, 32 characters) from the parts' ``str``."""
    return uuid.uuid5(ID_NAMESPACE, "\x1f".join(str(p) for p in parts)).hex


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data`` (64 characters)."""
    return hashlib.sha256(data).hexdigest()


class DocStatus(str, enum.Enum):
    """Where a document stands. Terminal: done, failed, unsupported, needs_ocr, needs_transcription."""

    pending = "pending"
    extracting = "extracting"
    ocr = "ocr"
    transcribing = "transcribing"
    cleaning = "cleaning"
    chunking = "chunking"
    extracting_mentions = "extracting_mentions"
    storing = "storing"
    done = "done"
    #: text was taken from every page that has it, but one or more pages wait for OCR
    needs_ocr = "needs_ocr"
    #: a recording, waiting for a transcription engine
    needs_transcription = "needs_transcription"
    #: processed, but one or more pages failed (their errors are on the pages)
    partial = "partial"
    failed = "failed"
    unsupported = "unsupported"
    #: found but deliberately not read (a symlink leading outside the source folder, a FIFO, a socket)
    skipped = "skipped"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {DocStatus.done, DocStatus.needs_ocr, DocStatus.needs_transcription, DocStatus.partial, DocStatus.failed,
     DocStatus.unsupported, DocStatus.skipped}
)


class PageMethod(str, enum.Enum):
    """How a page's text was obtained."""

    text_layer = "text_layer"  # a PDF's own text layer (pypdfium2)
    native = "native"  # parsed from the file's own structure (DOCX, HTML, e-mail, plain text)
    converter = "converter"  # an external converter (antiword, wpd2text, LibreOffice)
    needs_ocr = "needs_ocr"  # no usable text layer: waits for OCR
    blank = "blank"  # no text layer and no ink: nothing to OCR
    tesseract = "tesseract"  # OCR engines: the page's text came from this engine
    rapidocr = "rapidocr"
    mistral = "mistral"
    qwen2_vl = "qwen2-vl"


class Label(str, enum.Enum):
    """Entity labels (DESIGN.md). Anything a backend finds that maps to none is OTHER, never dropped."""

    PERSON = "PERSON"
    ORG = "ORG"
    GPE = "GPE"
    DATE = "DATE"
    MONEY = "MONEY"
    LAW = "LAW"
    CASE = "CASE"
    COURT = "COURT"
    DOCKET = "DOCKET"
    OTHER = "OTHER"


class Category(str, enum.Enum):
    """Document categories (see lexprep.text.categorize for the rules)."""

    opinion = "opinion"
    order = "order"
    brief = "brief"  # briefs and motions
    pleading = "pleading"
    contract = "contract"
    correspondence = "correspondence"  # letters and e-mail
    transcript = "transcript"
    exhibit = "exhibit"
    other = "other"


@dataclass(slots=True)
class SourceFile:
    """A file found under a matter's source.

    Attributes:
        uri: fsspec URI or local path the bytes came from (for an attachment: ``parent_uri#name``).
        file_name: base name as the user knows it.
        sha256: hex digest of the content; with the matter, the document's identity.
        size: bytes.
        kind: sniffed format (``pdf``, ``docx``, ``doc``, ``wpd``, ``eml``, ``msg``, ``html``, ``text``,
            ``audio``, ``image``, ``empty``, ``unknown`` ...), decided from content, not the extension.
        parent_sha256: the containing e-mail's sha256 for an attachment, else None.
        depth: 0 for a file found in the source, 1 for its attachments, 2 for theirs ...
    """

    uri: str
    file_name: str
    sha256: str
    size: int
    kind: str = "unknown"
    mime: str | None = None
    parent_sha256: str | None = None
    depth: int = 0


@dataclass(slots=True)
class Page:
    """One page (PDF) or part (the whole of a DOCX, an e-mail body) of a document's raw text.

    Attributes:
        number: 1-based page number.
        method: how the text was obtained (PageMethod value).
        text: raw extracted text ('' when the page needs OCR).
        confidence: 0..1; 1.0 for a text layer or native parse, None when there is no text yet.
        error: a one-line reason when this page alone failed.
        dpi: the render resolution (dots per inch) of an OCRed page.
        attempts: the OCR escalation record, ``[{"engine", "confidence", "error"}]`` in order tried.
    """

    number: int
    method: str
    text: str
    confidence: float | None = 1.0
    error: str | None = None
    dpi: int | None = None
    attempts: list[dict] | None = None


@dataclass(slots=True)
class Segment:
    """A stretch of a recording's transcript.

    Attributes:
        start_s, end_s: seconds from the start of the recording.
        text: what was said.
        speaker: a speaker label (``SPEAKER_0``, ``channel_1`` ...), None when unknown.
        confidence: 0..1 (e.g. exp of whisper's average log-probability), None when the engine gives none.
        channel: the audio channel (0-based) for per-channel transcription, else None.
    """

    start_s: float
    end_s: float
    text: str
    speaker: str | None = None
    confidence: float | None = None
    channel: int | None = None


@dataclass(slots=True)
class Attachment:
    """A file carried inside another (an e-mail attachment): processed as a document of its own."""

    file_name: str
    data: bytes
    mime: str | None = None


@dataclass(slots=True)
class ExtractedDocument:
    """What an extractor returns for one file.

    Attributes:
        pages: raw text per page or part, in order.
        attachments: files inside this one, to be processed as child documents.
        meta: format metadata (e-mail headers: from, to, cc, date, subject, message_id, in_reply_to;
            PDF: title, author, page_count; HTML: title ...). JSON-serialisable. ``meta["left_out"]``
            lists, one line each, what a limit kept out of the document (it is then ``partial``).
        title: a title if the format has one.
    """

    kind: str
    pages: list[Page]
    attachments: list[Attachment] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    #: a recording's transcript (empty for paper)
    segments: list[Segment] = field(default_factory=list)


@dataclass(slots=True)
class PageSpan:
    """Where a page's text sits in the cleaned document text: ``text[char_start:char_end]``."""

    number: int
    char_start: int
    char_end: int


@dataclass(slots=True)
class SegmentSpan:
    """Where a transcript segment sits in the cleaned text, with its time range (seconds) and speaker."""

    index: int
    char_start: int
    char_end: int
    start_s: float
    end_s: float
    speaker: str | None


@dataclass(slots=True)
class CleanText:
    """A document's cleaned text and the map from cleaned offsets back to pages (or, for a
    recording, to transcript segments)."""

    text: str
    page_spans: list[PageSpan]
    segment_spans: list[SegmentSpan] = field(default_factory=list)

    def page_at(self, offset: int) -> int | None:
        """The page number holding cleaned offset ``offset`` (the nearest earlier page in a gap)."""
        found = None
        for span in self.page_spans:
            if span.char_start <= offset:
                found = span.number
            else:
                break
        return found


@dataclass(slots=True)
class CategoryResult:
    category: str
    reason: str
    score: float = 1.0


@dataclass(slots=True)
class Chunk:
    """A retrieval unit of a document's cleaned text.

    ``text == document_text[char_start:char_end]``; token_count is in the chunker's tokens.
    """

    chunk_index: int
    text: str
    char_start: int
    char_end: int
    page_start: int | None
    page_end: int | None
    token_count: int
    #: a recording's chunk: time range (seconds) and the speakers heard in it, in order of first turn
    start_s: float | None = None
    end_s: float | None = None
    speakers: list[str] | None = None


@dataclass(slots=True)
class Mention:
    """A span of a document's cleaned text that names an entity: one mention per document span.

    Mentions are found over the document's text (lexprep.ner), not over its overlapping chunks; each
    is then placed in the first chunk that holds the whole span (``chunk_index``, ``start``/``end``
    relative to that chunk). Every chunk whose span holds the mention lists it in the export.

    Attributes:
        chunk_index: the first chunk holding the whole span (else the chunk where it starts).
        label: Label value.
        text: the surface text, ``document_text[doc_start:doc_end]``.
        start, end: the span relative to chunk ``chunk_index`` (``doc_start - chunk.char_start``).
        doc_start, doc_end: the span in the document's cleaned text (characters, end exclusive).
        score: extractor confidence 0..1 (1.0 for rules and eyecite).
        extractor: ``spacy``, ``eyecite``, ``rules``, ``definition`` ...
        source_label: the backend's own label (e.g. spaCy's ``NORP``) before mapping.
        normalized: a canonical form the extractor knows (a citation without pin cite, a docket number).
        link: ``(doc_start, doc_end)`` of the mention in the same document that this one stands for
            (a defined term, a role word, a surname, an acronym, "Id." or "supra"), or None.
        link_method: how the link was made (``defined_term``, ``role``, ``surname``, ``acronym``,
            ``short_cite``, ``id_cite``, ``supra``, ``parallel``), None without a link.
        scope: ``matter`` (resolved across the matter by its key) or ``document`` (resolved only
            inside its document: a bare "Supreme Court", a surname with no full name beside it).
        attrs: extra facts as JSON (CASE: ``case_name``, ``parenthetical``, ``pin_cite``,
            ``parallel`` citations; a defined term: ``definition`` evidence).
    """

    chunk_index: int
    label: str
    text: str
    start: int
    end: int
    doc_start: int
    doc_end: int
    score: float = 1.0
    extractor: str = "spacy"
    source_label: str | None = None
    normalized: str | None = None
    link: tuple[int, int] | None = None
    link_method: str | None = None
    scope: str = "matter"
    attrs: dict | None = None


@dataclass(slots=True)
class Entity:
    """A canonical entity within a matter: the resolution of one or more mentions.

    ``document_id`` is set for an entity that lives inside one document only (a role word or a
    bare court name with nothing in its document to resolve it to): such an entity is never
    merged with anything outside that document. None for a matter-wide entity.
    """

    id: str
    label: str
    name: str
    aliases: list[str]
    mention_count: int
    document_id: str | None = None


@dataclass(slots=True)
class MergeRecord:
    """The audit of one resolution decision: ``alias`` was merged into ``entity_id``.

    method: ``exact`` (same normalised key), ``fuzzy`` (rapidfuzz score >= threshold), ``citation``
    (same normalised citation), ``parallel`` (a parallel citation of the same case), and the
    in-document links (``defined_term``, ``role``, ``surname``, ``acronym``, ``id_cite``, ``supra``,
    ``short_cite``); score 0..100 for fuzzy, 100 otherwise. ``evidence`` says why: the document and
    the text that made the link (a definition, the full name beside a surname), or None.
    """

    entity_id: str
    label: str
    alias: str
    canonical: str
    method: str
    score: float
    evidence: str | None = None


@dataclass(slots=True)
class Relationship:
    """An edge of the matter's graph.

    Node kinds: ``document``, ``chunk``, ``entity`` (and ``message``: an e-mail outside the matter that
    one inside replies to). Types: CONTAINS (document->chunk), MENTIONS (chunk->entity), CO_OCCURS
    (entity->entity), CITES (document->CASE/LAW entity), HAS_ATTACHMENT (document->document), and the
    typed edges built from facts (lexprep.facts.edges): PARTY_TO, SENT, RECEIVED, REPLY_TO,
    REPRESENTS, JUDGE_OF, FILED_IN, GOVERNED_BY. ``role`` is set on typed edges that have one.
    """

    source_kind: str
    source_id: str
    target_kind: str
    target_id: str
    type: str
    weight: float = 1.0
    evidence_chunk_id: str | None = None
    role: str | None = None


@dataclass(slots=True)
class Fact:
    """A typed statement a document makes about itself, with the evidence that supports it.

    Found by lexprep.facts (rules per category, or an LLM); kinds in :data:`lexprep.facts.KINDS`.
    Offsets index the document's cleaned text (characters, end exclusive).

    Attributes:
        kind: what the fact is (``party``, ``agreement_date``, ``governing_law``, ``court``, ``email_from`` ...).
        value: the value as the document words it (a name, "April 6, 1999", "the State of Florida").
        normalized: a canonical form: ISO 8601 ``YYYY-MM-DD`` for dates, the jurisdiction's name for
            governing law ("Florida"), a lower-case address for e-mail participants, None when none applies.
        evidence_start, evidence_end: the evidence's span in the cleaned text (``evidence_source ==
            "text"``), or in the header value named by ``attrs["header"]`` (``"header"``).
        evidence_text: the evidence itself, verbatim (``text[evidence_start:evidence_end]``).
        evidence_source: ``text`` (the cleaned text) or ``header`` (an e-mail header kept in the
            document's metadata, e.g. Message-ID, which is not part of the text).
        role: the party's role (``plaintiff``, ``appellee``; a contract party's defined term
            "Distributor"), the recipient's field (``to``, ``cc``, ``bcc``), counsel's client side.
        entity_span: ``(doc_start, doc_end)`` of the mention naming the fact's entity, if any
            (resolved to ``entity_id`` with the matter's entities).
        entity_id: the canonical entity (set by the store after resolution).
        extractor: ``rules`` or ``llm:<model>``.
        confidence: 0..1 (1.0 for a rule that matched its whole pattern).
        attrs: extra detail (a party's ``defined_term``, a docket's ``lower_court``, the header name).
    """

    kind: str
    value: str
    normalized: str | None
    evidence_start: int
    evidence_end: int
    evidence_text: str
    evidence_source: str = "text"
    role: str | None = None
    entity_span: tuple[int, int] | None = None
    entity_id: str | None = None
    extractor: str = "rules"
    confidence: float = 1.0
    attrs: dict | None = None


@dataclass(slots=True)
class DocumentResult:
    """Everything the per-document pipeline derives from one file."""

    source: SourceFile
    status: str
    error: str | None = None
    extracted: ExtractedDocument | None = None
    clean: CleanText | None = None
    category: CategoryResult | None = None
    chunks: list[Chunk] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: the cost ledger: ocr_pages {engine: n}, audio_seconds, api_tokens_in/out, estimated_cost_usd
    costs: dict[str, Any] = field(default_factory=dict)
    #: structured facts with verbatim evidence (lexprep.facts); rejects and errors are in ``extracted.meta["facts"]``
    facts: list[Fact] = field(default_factory=list)
