"""Domain errors raised by services and rendered by the API (envelope) or pages (HTML)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldMessage:
    """One entry of the error envelope: code, human detail and the offending field (or None)."""

    code: str
    detail: str
    attr: str | None = None

    def as_dict(self) -> dict:
        return {"code": self.code, "detail": self.detail, "attr": self.attr}


class DomainError(Exception):
    """Base of every error a request can end with; carries status and envelope entries."""

    status = 400
    code = "invalid"
    detail = "Invalid input."

    def __init__(self, detail: str | None = None, *, code: str | None = None, attr: str | None = None,
                 headers: dict | None = None):
        self.messages = [FieldMessage(code or self.code, detail or self.detail, attr)]
        self.headers = headers or {}
        super().__init__(self.messages[0].detail)

    @property
    def error_type(self) -> str:
        if self.status == 400:
            return "validation_error"
        return "server_error" if self.status >= 500 else "client_error"

    def envelope(self) -> dict:
        return {"type": self.error_type, "errors": [m.as_dict() for m in self.messages]}


class ValidationFailed(DomainError):
    """400 with one or more field messages."""

    status = 400

    @classmethod
    def of(cls, messages: list[FieldMessage]) -> ValidationFailed:
        error = cls(messages[0].detail, code=messages[0].code, attr=messages[0].attr)
        error.messages = list(messages)
        return error


class BadHost(DomainError):
    """A `Host` header that may not appear in links (unstract.hosts)."""

    status = 400
    code = "bad_host"

    def __init__(self, host: str):
        super().__init__(f'Host "{host[:200]}" is not allowed; see UNSTRACT_TRUSTED_HOSTS.')


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    detail = "Authentication credentials were not provided."

    def __init__(self, detail: str | None = None, *, code: str | None = None):
        super().__init__(detail, code=code, headers={"WWW-Authenticate": "Bearer"})


class AuthenticationFailed(NotAuthenticated):
    code = "authentication_failed"
    detail = "Invalid authentication credentials."


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"
    detail = "You do not have permission to perform this action."


class NotFound(DomainError):
    status = 404
    code = "not_found"
    detail = "Not found."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    detail = "Conflict."


class Throttled(DomainError):
    status = 429
    code = "throttled"
    detail = "Too many queued executions; retry later."

    def __init__(self, detail: str | None = None, *, retry_after: int = 5):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class QueueUnavailable(DomainError):
    status = 503
    code = "queue_unavailable"
    detail = "The task queue is unavailable."


class ServiceUnavailable(DomainError):
    status = 503
    code = "service_unavailable"
    detail = "The service is temporarily unavailable."


def field_error(attr: str | None, code: str, detail: str) -> ValidationFailed:
    """Shorthand for the common single-field 400."""
    return ValidationFailed(detail, code=code, attr=attr)
