"""One LLM call through the official `openai` SDK (docs/EXECUTION.md, LLM calls).

The SDK brings the timeouts, the retries (408/409/429/5xx, connection errors, timeouts; exponential
backoff with jitter, honouring `Retry-After`) and typed errors. Every HTTP attempt is counted by an
event hook on the SDK's own HTTP client, so the usage counts the calls that were really made.

The API key is a plain argument here and nowhere else: it is not in any repr, and every message this
module produces has it redacted."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

DEFAULT_BASE_URL = "https://api.openai.com/v1"
CREDENTIALS_REJECTED = "the LLM service rejected the adapter's credentials."
CREDENTIALS_REJECTED_BECAUSE = "the LLM service rejected the adapter's credentials: {reason}"
REDACTED = "[redacted]"
MAX_PROVIDER_MESSAGE = 300  # a provider's error text quoted in a file's error or a connection test's answer


@dataclass(frozen=True)
class AdapterConfig:
    """An adapter's connection settings with the key in plaintext (worker and tool process only)."""

    model: str
    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    timeout_seconds: float = 60
    max_retries: int = 3
    max_concurrency: int = 8
    input_cost_per_million: float | None = None
    output_cost_per_million: float | None = None
    supports_json_schema: bool = True
    name: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdapterConfig:
        known = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        return cls(**known)

    def cost(self, usage: Usage) -> float | None:
        """USD for `usage`; None when either price is unknown."""
        if self.input_cost_per_million is None or self.output_cost_per_million is None:
            return None
        return round((usage.prompt_tokens * self.input_cost_per_million
                      + usage.completion_tokens * self.output_cost_per_million) / 1_000_000, 8)


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.total_tokens += other.total_tokens

    def as_dict(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.total_tokens}


@dataclass
class Reply:
    content: str
    model: str
    usage: Usage
    calls: int  # HTTP attempts this call made, retries included


class LLMError(Exception):
    """The call failed; the message is safe to show (the key is redacted). `calls` were made."""

    def __init__(self, message: str, calls: int) -> None:
        super().__init__(message)
        self.calls = calls


class CredentialsRejected(LLMError):
    """401/403: retrying cannot help. The message is the fixed sentence a file's error shows; `provider_reason`
    is what the service said (key redacted, may be empty), for the adapter's connection test."""

    def __init__(self, message: str, calls: int, provider_reason: str = "") -> None:
        super().__init__(message, calls)
        self.provider_reason = provider_reason


def redact(text: str, secret: str) -> str:
    return text.replace(secret, REDACTED) if secret else text


def _sdk_modules():
    """The SDK and its HTTP library, imported on first use: about 50 MB and a second of start-up that only
    processes making LLM calls pay (the web app and the worker otherwise never import them)."""
    import httpx2
    import openai

    return openai, httpx2


class LLMClient:
    """A client for one adapter; safe to share between threads (each thread counts its own calls)."""

    def __init__(self, config: AdapterConfig) -> None:
        openai, httpx2 = _sdk_modules()
        self.config = config
        self._attempts = threading.local()
        self._http = httpx2.Client(event_hooks={"request": [self._count_attempt]})
        self._sdk = openai.OpenAI(base_url=config.base_url, api_key=config.api_key,
                                  timeout=config.timeout_seconds, max_retries=config.max_retries,
                                  http_client=self._http)

    def _count_attempt(self, request) -> None:
        self._attempts.count = getattr(self._attempts, "count", 0) + 1

    def chat(self, messages: list[dict[str, str]], response_format: dict | None = None,
             **options: Any) -> Reply:
        """One chat completion (with the SDK's retries); LLMError when it fails."""
        self._attempts.count = 0
        request: dict[str, Any] = {"model": self.config.model, "messages": messages, "temperature": 0, **options}
        if response_format is not None:
            request["response_format"] = response_format
        openai, _ = _sdk_modules()
        try:
            completion = self._sdk.chat.completions.create(**request)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise CredentialsRejected(CREDENTIALS_REJECTED, self._attempts.count,
                                      _provider_message(exc, self.config.api_key)) from None
        except openai.OpenAIError as exc:
            calls = self._attempts.count
            raise LLMError(f"LLM call failed after {calls} attempts: {self._reason(exc)}", calls) from None
        return Reply(content=_content(completion), model=completion.model or self.config.model,
                     usage=_usage(completion), calls=self._attempts.count)

    def test(self) -> dict[str, Any]:
        """The adapter's connection test: one minimal call, never raising (docs/API.md, Adapters)."""
        started = time.monotonic()
        try:
            reply = self.chat([{"role": "user", "content": "Reply with OK."}], max_tokens=5)
        except CredentialsRejected as exc:
            reason = exc.provider_reason
            return {"ok": False, "error": CREDENTIALS_REJECTED_BECAUSE.format(reason=reason) if reason else str(exc)}
        except LLMError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - the connection test answers, it never fails the request
            return {"ok": False, "error": redact(f"{type(exc).__name__}: {exc}", self.config.api_key)}
        return {"ok": True, "model": reply.model, "latency_ms": round((time.monotonic() - started) * 1000, 1)}

    def _reason(self, exc: Exception) -> str:
        openai, _ = _sdk_modules()
        if isinstance(exc, openai.APITimeoutError):
            reason = f"timed out after {self.config.timeout_seconds:g} s"
        elif isinstance(exc, openai.APIStatusError):
            reason = _with_reason(f"HTTP {exc.status_code}", _provider_message(exc, self.config.api_key))
        elif isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            reason = f"connection error ({cause or exc})"
        else:
            reason = str(exc)
        return redact(reason, self.config.api_key)

    def close(self) -> None:
        self._sdk.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


_shared_clients: OrderedDict[AdapterConfig, LLMClient] = OrderedDict()
_shared_clients_lock = threading.Lock()
SHARED_CLIENTS = 16  # adapters whose clients a process keeps


def shared_client(config: AdapterConfig) -> LLMClient:
    """A client kept for this exact configuration, shared by the calls of a process: building one (its
    HTTP client and TLS context) and opening a connection cost more than this path's whole budget per
    file, and a kept client reuses its connections. The least recently used is dropped past SHARED_CLIENTS
    (not closed: a call may still be using it; its connections close when it is collected)."""
    with _shared_clients_lock:
        client = _shared_clients.get(config)
        if client is None:
            client = _shared_clients[config] = LLMClient(config)
            while len(_shared_clients) > SHARED_CLIENTS:
                _shared_clients.popitem(last=False)
        _shared_clients.move_to_end(config)
        return client


def _provider_message(exc, api_key: str) -> str:
    """What the service said about a refused request: the `message` of its JSON error body (the SDK keeps the
    body's `error` object), else a plain-text body; "" when it said nothing usable. Redacted before it is
    shortened, so a cut can never leave part of the key behind."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        body = body.get("message")
    if not isinstance(body, str):
        return ""
    text = redact(" ".join(body.split()), api_key)
    return text if len(text) <= MAX_PROVIDER_MESSAGE else text[:MAX_PROVIDER_MESSAGE - 1] + "\u2026"


def _with_reason(summary: str, provider_message: str) -> str:
    return f"{summary}: {provider_message}" if provider_message else summary


def _content(completion) -> str:
    choices = completion.choices or []
    return (choices[0].message.content or "") if choices else ""


def _usage(completion) -> Usage:
    usage = completion.usage
    if usage is None:
        return Usage()
    return Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0, usage.total_tokens or 0)
