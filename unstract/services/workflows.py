"""Workflow use cases (placeholder until the workflows API lands)."""

from __future__ import annotations

from sqlalchemy import select

from unstract.auth import Requester, visible_workflows
from unstract.extensions import db
from unstract.models import Workflow


def list_visible(who: Requester) -> list[Workflow]:
    return list(db.session.scalars(visible_workflows(who).order_by(Workflow.modified_at.desc()).limit(200)))
