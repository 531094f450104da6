"""The dashboard's session cookie: always HttpOnly and SameSite=Lax (config), and Secure whenever the
request came over HTTPS, directly or through a trusted proxy, or always with UNSTRACT_SECURE_COOKIES
(docs/SECURITY.md, Sessions)."""

from __future__ import annotations

from flask import Flask, has_request_context
from flask.sessions import SecureCookieSessionInterface

from unstract.proxies import request_is_https


class SessionCookieInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the Secure flag decided per request."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config["SESSION_COOKIE_SECURE"]:
            return True
        return has_request_context() and request_is_https()
