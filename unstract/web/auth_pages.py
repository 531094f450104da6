"""Login and logout for the dashboard (§2.11)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user

from unstract.services import accounts

bp = Blueprint("web_auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("auth/login.html", error=None, email="")
    email = request.form.get("email", "")
    user = accounts.verify_password(email, request.form.get("password", ""))
    if user is None:
        return render_template("auth/login.html", error="Invalid email or password.", email=email)
    login_user(user)
    return redirect(url_for("web_workflows.index"))


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("web_auth.login"))
