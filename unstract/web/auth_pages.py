"""Login and logout for the dashboard (docs/API.md, Authentication), with throttling of repeated failures."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user

from unstract.services import accounts, login_throttle

bp = Blueprint("web_auth", __name__)


def _throttled(wait: int):
    detail = f"Too many failed login attempts; try again in {max(wait // 60, 1)} minute(s)."
    headers = {"Retry-After": str(wait)}
    if request.accept_mimetypes.best == "application/json":
        body = {"type": "client_error", "errors": [{"code": "throttled", "detail": detail, "attr": None}]}
        return jsonify(body), 429, headers
    return render_template("auth/login.html", error=detail, email=request.form.get("email", "")), 429, headers


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("auth/login.html", error=None, email="")
    email, address = request.form.get("email", ""), request.remote_addr or ""
    wait = login_throttle.retry_after(email, address)
    if wait:
        return _throttled(wait)
    user = accounts.verify_password(email, request.form.get("password", ""))
    if user is None:
        login_throttle.record_failure(email, address)
        return render_template("auth/login.html", error="Invalid email or password.", email=email)
    login_throttle.clear(email, address)
    login_user(user)
    return redirect(url_for("web_workflows.index"))


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("web_auth.login"))
