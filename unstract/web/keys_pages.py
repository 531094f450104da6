"""Dashboard pages (placeholder blueprint until the page lands)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web_keys", __name__)
