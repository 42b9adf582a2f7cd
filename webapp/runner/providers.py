"""Model providers: `echo` (offline, deterministic) and `openai` (any compatible chat completions API)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import requests

from webapp.models.types import utcnow
from webapp.runner.templates import Rendered


class ProviderError(Exception):
    """A model call failed; `transient` ones (429, 5xx, network) are retried after a backoff."""

    def __init__(self, message: str, *, transient: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.retry_after = retry_after


@dataclass(frozen=True)
class Completion:
    """A model's answer and, when the provider reports it, its token usage."""

    text: str
    usage: dict[str, Any] | None = None


class Provider(Protocol):
    name: str
    label: str

    def complete(self, rendered: Rendered, timeout_s: float) -> Completion:
        """Answer a rendered prompt within `timeout_s` seconds or raise ProviderError."""
        ...


class EchoProvider:
    """Answer with the rendered prompt (for chat, the last user message), after an optional delay."""

    name = "echo"
    label = "echo (offline test provider: every answer repeats its prompt)"

    def __init__(self, delay_ms: int = 0) -> None:
        self.delay_s = max(0, delay_ms) / 1000

    def complete(self, rendered: Rendered, timeout_s: float) -> Completion:
        """Return the prompt as the answer."""
        if self.delay_s > timeout_s:
            time.sleep(max(0.0, timeout_s))
            message = f"No echo within {timeout_s:.3g} s (delay {self.delay_s:g} s)"
            raise ProviderError(message, transient=True)
        if self.delay_s:
            time.sleep(self.delay_s)
        return Completion(text=rendered.text)


class OpenAIProvider:
    """Call an OpenAI-compatible `POST {base_url}/chat/completions` endpoint."""

    name = "openai"

    def __init__(self, base_url: str, api_key: str | None, model: str, timeout_s: float) -> None:
        base = base_url.rstrip("/")
        self.url = base if base.endswith("/chat/completions") else base + "/chat/completions"
        self.api_key = api_key
        self.model = model
        self.timeout_s = timeout_s
        self.label = f"openai-compatible: {model} at {base}"
        self._local = threading.local()

    def _http(self) -> requests.Session:
        # One connection pool per thread: requests.Session is not thread-safe.
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = requests.Session()
        return http

    def complete(self, rendered: Rendered, timeout_s: float) -> Completion:
        """Send the prompt as chat messages and return the first choice's content."""
        messages = rendered.messages or [{"role": "user", "content": rendered.text}]
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        timeout = max(0.1, min(self.timeout_s, timeout_s))
        try:
            response = self._http().post(
                self.url,
                json={"model": self.model, "messages": messages},
                headers=headers,
                timeout=(min(timeout, 10.0), timeout),
            )
        except requests.Timeout as exc:
            raise ProviderError(f"No answer from {self.url} within {timeout:g} s", transient=True) from exc
        except requests.RequestException as exc:
            raise ProviderError(f"Could not reach {self.url}: {exc}", transient=True) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise ProviderError(
                f"HTTP {status} from {self.url}: {_detail(response)}",
                transient=True,
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 400:
            hint = " (check FLASK_MODEL_API_KEY)" if status in (401, 403) else ""
            raise ProviderError(f"HTTP {status} from {self.url}{hint}: {_detail(response)}")
        try:
            data = response.json()
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderError(
                f"{self.url} did not answer like a chat completions API (no choices[0].message.content)"
            ) from exc
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
        return Completion(text=content if isinstance(content, str) else str(content or ""), usage=usage)


def _detail(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:300] or response.reason or "no detail"
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:300]
    return str(error or data)[:300]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None


def make_provider(config: dict[str, Any]) -> Provider:
    """Build the provider FLASK_MODEL_PROVIDER names."""
    name = str(config.get("MODEL_PROVIDER") or "echo").lower()
    if name == "echo":
        return EchoProvider(int(config.get("MODEL_ECHO_DELAY_MS") or 0))
    if name == "openai":
        return OpenAIProvider(
            base_url=str(config.get("MODEL_BASE_URL") or "https://api.openai.com/v1"),
            api_key=config.get("MODEL_API_KEY"),
            model=str(config.get("MODEL_NAME") or "gpt-4o-mini"),
            timeout_s=float(config.get("MODEL_TIMEOUT_S") or 30),
        )
    raise ValueError(f"FLASK_MODEL_PROVIDER={name!r} is not a provider; use 'echo' or 'openai'")
