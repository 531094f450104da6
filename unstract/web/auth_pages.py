"""Login and logout for the dashboard (docs/API.md, Authentication), with throttling of repeated failures
(docs/SECURITY.md, Throttling) and server-side sessions (docs/SECURITY.md, Sessions)."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from unstract.auth import log_in, log_out
from unstract.proxies import client_address
from unstract.services import accounts, throttle

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
    email, address = request.form.get("email", ""), client_address()
    account = throttle.account_source(email, address)
    wait = throttle.first_refusal((throttle.LOGIN_PER_ACCOUNT, account), (throttle.LOGIN_PER_ADDRESS, (address,)))
    if wait:
        return _throttled(wait)
    user = accounts.verify_password(email, request.form.get("password", ""))
    if user is None:
        throttle.record_failure(throttle.LOGIN_PER_ACCOUNT, *account)
        throttle.record_failure(throttle.LOGIN_PER_ADDRESS, address)
        return render_template("auth/login.html", error="Invalid email or password.", email=email)
    # Only the account's counter is cleared: one good login must not reset a spray from the same address.
    throttle.clear(throttle.LOGIN_PER_ACCOUNT, *account)
    log_in(user)
    return redirect(url_for("web_workflows.index"))


@bp.post("/logout")
@login_required
def logout():
    log_out()
    return redirect(url_for("web_auth.login"))
