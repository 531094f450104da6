"""Who is using the dashboard: the logged-in user acting in the organization chosen in the switcher."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import abort, flash, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from unstract.errors import Conflict, DomainError, FieldMessage
from unstract.policy import Requester
from unstract.schemas.parsing import page_number
from unstract.services import accounts

log = logging.getLogger(__name__)

SESSION_ORG_KEY = "org_id"


def current_requester() -> Requester:
    """The requester for this page; the org comes from the session (switcher), else the first one."""
    who = accounts.default_requester(current_user, session.get(SESSION_ORG_KEY))
    if who is None and session.get(SESSION_ORG_KEY):
        session.pop(SESSION_ORG_KEY)
        who = accounts.default_requester(current_user)
    if who is None:
        abort(403)
    return who


def user_orgs() -> list:
    """Organizations the user belongs to, for the switcher."""
    return [m.organization for m in accounts.memberships_of(current_user)]


def is_htmx() -> bool:
    """True when htmx asked for a fragment (full page or partial by the HX-Request header)."""
    # A history restore (back button after hx-push-url) needs the whole page.
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def layout_context() -> dict:
    """What base.html shows in the top bar: the user's orgs and the current one (loaded here, not in Jinja)."""
    if not current_user.is_authenticated:
        return {"layout_orgs": [], "layout_org": None}
    try:
        orgs = user_orgs()
    except SQLAlchemyError:
        # The error page for "database unavailable" must still render.
        log.warning("top bar: organizations unavailable")
        return {"layout_orgs": [], "layout_org": None}
    chosen = session.get(SESSION_ORG_KEY)
    current = next((org for org in orgs if org.org_id == chosen), orgs[0] if orgs else None)
    return {"layout_orgs": orgs, "layout_org": current}


def errors_by_field(error: DomainError, known: set[str] | None = None) -> dict[str | None, list[str]]:
    """Group a domain error's messages by attr for inline display; attrs not in `known` go under None."""
    grouped: dict[str | None, list[str]] = {}
    for message in error.messages:
        attr = message.attr if known is None or message.attr in known else None
        grouped.setdefault(attr, []).append(message.detail)
    return grouped


def first_messages(messages: list[FieldMessage]) -> dict[str | None, str]:
    """attr -> its first message, in the order they came (a filter bar shows one line per input)."""
    grouped: dict[str | None, str] = {}
    for message in messages:
        grouped.setdefault(message.attr, message.detail)
    return grouped


def request_page() -> int:
    """`page` of the query string as the API reads it; a page the API would refuse shows the first page."""
    return page_number(request.args.get("page"))


def delete_then_list(delete: Callable[[], None], deleted: str, refused: str, advice: str, index_endpoint: str):
    """The delete button of a listed resource: delete, flash `deleted`, or, when it is still in use (409),
    flash `refused` with the service's reason and `advice`; either way back to the list (303)."""
    try:
        delete()
    except Conflict as exc:
        flash(f"{refused} {exc.messages[0].detail} {advice}", "error")
    else:
        flash(deleted, "success")
    return redirect(url_for(index_endpoint), code=303)
