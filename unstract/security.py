"""Response headers that make the pages hard to frame, sniff or inject into, and keep answers out of caches."""

from __future__ import annotations

from flask import Flask, request

# No inline scripts anywhere: scripts only from our own static files. Inline style attributes stay
# allowed for the server-rendered SVG charts; they cannot run code.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


# Our own static files (the dashboard's assets, Swagger UI's) keep Flask's caching; nothing else is public.
STATIC_ENDPOINTS = frozenset({"static", "swagger_static"})


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.endpoint not in STATIC_ENDPOINTS:
            # Answers carry an org's data or a session's token: no browser or proxy may keep them.
            response.headers["Cache-Control"] = "no-store"
        return response
