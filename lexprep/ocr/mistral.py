"""Mistral OCR through the ``mistralai`` client (cloud profile).

Each page image is sent as a base64 data URL to ``POST /v1/ocr`` (``client.ocr.process``) with page
confidence scores requested; the page's markdown is the text and ``average_page_confidence_score`` the
confidence (None when the server gives none). The SDK's own retries are off: tenacity retries only
:class:`~lexprep.errors.TransientError` (429, 5xx, timeouts, connection errors) with exponential
backoff and full jitter (``wait_random_exponential``); 400 is bad input, 401/403 bad credentials. The
API key lives in ``settings.mistral_api_key`` (SecretStr, or a Prefect block) and is never logged or
put in a message.
"""

from __future__ import annotations

import base64
import io
import os
import re
import time

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from lexprep.errors import ConfigurationError, InputError, MissingDependencyError, TransientError
from lexprep.ocr import OcrResult
from lexprep.settings import OcrSettings

#: attempts per page (the first try and its retries) and the backoff's unit and cap (seconds)
MAX_ATTEMPTS = 4
BACKOFF_S = 1.0
BACKOFF_MAX_S = 30.0


def _status(exc: BaseException) -> int | None:
    for obj in (exc, getattr(exc, "raw_response", None)):
        code = getattr(obj, "status_code", None)
        if isinstance(code, int):
            return code
    return None


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's connection and timeout errors (the SDK moved from httpx to httpx2 in 2.x)."""
    found: list[type[BaseException]] = []
    for module in ("httpx2", "httpx"):
        try:
            found.append(__import__(module).TransportError)  # timeouts, connect, read, protocol errors
        except (ImportError, AttributeError):
            pass
    return tuple(found)


def _scrub(message: str, secret: str | None) -> str:
    if secret:
        message = message.replace(secret, "***")
    return re.sub(r"(?i)(bearer\s+)\S+", r"\1***", message)[:200]


class MistralOcrEngine:
    name = "mistral"

    def __init__(self, settings: OcrSettings, *, backoff_s: float = BACKOFF_S, max_attempts: int = MAX_ATTEMPTS):
        try:
            from mistralai.client import Mistral  # mistralai >= 2 (1.x: ``from mistralai import Mistral``)
        except ImportError as exc:
            raise MissingDependencyError("mistralai >= 2", "lexprep[cloud]") from exc
        key = settings.mistral_api_key.get_secret_value() if settings.mistral_api_key else os.environ.get("MISTRAL_API_KEY")
        if not key:
            raise ConfigurationError("Mistral OCR needs an API key (LEXPREP_OCR__MISTRAL_API_KEY or a MistralCredentials block)")
        self._key = key
        self.settings = settings
        from mistralai.client.utils.logger import NoOpLogger
        from mistralai.client.utils.retries import RetryConfig  # noqa: I001 - the SDK's own retries: off

        self._transport_errors = _transport_errors()
        self._client = Mistral(
            api_key=key,
            server_url=settings.mistral_base_url,
            timeout_ms=int(settings.timeout_s * 1000),
            retry_config=RetryConfig("off", None, False),  # the retry count is ours (tenacity)
            # with MISTRAL_DEBUG set the SDK's default logger prints request headers (the key): never
            debug_logger=NoOpLogger(),
        )
        self._call = retry(
            retry=retry_if_exception_type(TransientError),
            wait=wait_random_exponential(multiplier=backoff_s, max=BACKOFF_MAX_S),
            stop=stop_after_attempt(max_attempts),
            reraise=True,
        )(self._once)

    def _once(self, data_url: str):
        try:
            return self._client.ocr.process(
                model=self.settings.mistral_model,
                document={"type": "image_url", "image_url": data_url},
                confidence_scores_granularity="page",
                include_blocks=False,  # only the markdown is used: keep the response small
            )
        except self._transport_errors as exc:
            raise TransientError(f"Mistral OCR unreachable or timed out: {type(exc).__name__}") from None
        except Exception as exc:
            status = _status(exc)
            if status is None:
                kind = type(exc).__name__.lower()
                if "timeout" in kind or "connect" in kind or "noresponse" in kind:
                    raise TransientError(f"Mistral OCR unreachable or timed out: {type(exc).__name__}") from None
                raise
            reason = _scrub(str(getattr(exc, "body", "") or exc).splitlines()[0] if str(exc) else "", self._key)
            if status == 429 or status >= 500 or status == 408:
                raise TransientError(f"Mistral OCR answered {status}") from None
            if status in (401, 403):
                raise ConfigurationError(f"Mistral OCR refused the credentials ({status})") from None
            raise InputError(f"Mistral OCR rejected the page ({status}): {reason}") from None

    def recognize(self, image) -> OcrResult:
        started = time.perf_counter()
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        data_url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        response = self._call(data_url)
        page = response.pages[0] if response.pages else None
        text = page.markdown if page is not None else ""
        confidence = None
        scores = getattr(page, "confidence_scores", None) if page is not None else None
        average = getattr(scores, "average_page_confidence_score", None) if scores else None
        if isinstance(average, (int, float)):
            confidence = round(min(max(float(average), 0.0), 1.0), 4)
        dpi = image.info.get("dpi")
        return OcrResult(text, confidence, self.name, dpi=int(round(dpi[0])) if dpi else None,
                         elapsed_s=time.perf_counter() - started)
