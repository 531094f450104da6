"""Connector use cases: list, read, create, update, delete, and the connector types."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from unstract import errors
from unstract.connectors import registry
from unstract.errors import FieldMessage
from unstract.extensions import db
from unstract.jsonschemas import load_document
from unstract.models import Connector, WorkflowEndpoint
from unstract.policy import Requester
from unstract.services import secrets
from unstract.services.validation import commit_or_duplicate, raise_if_any

# Body fields in their documented order; error entries follow this order.
FIELDS = ("connector_name", "connector_id", "connector_metadata")
CONNECTOR_IDS = tuple(sorted(registry.TYPES))
MODES = ("FILE_SYSTEM", "DATABASE")
TYPE_NAMES = {connector.connector_id: connector.name for connector in registry.all_types()}
ORDERING = {"connector_name": Connector.connector_name, "created_at": Connector.created_at}
DEFAULT_ORDERING = "connector_name"
PRIMARY_KEY = Connector.id
DUPLICATE_NAME = "A connector with this name already exists."
TYPE_CHANGED = "Connector type cannot be changed."


# --- Reading -------------------------------------------------------------------------------------

def list_query(who: Requester, *, connector_id: str | None = None,
               connector_mode: str | None = None) -> Select:
    """The org's connectors matching the list filters (ordering is applied by the caller)."""
    query = select(Connector).where(Connector.organization_id == who.org.id)
    if connector_id is not None:
        query = query.where(Connector.connector_id == connector_id)
    if connector_mode is not None:
        query = query.where(Connector.connector_mode == connector_mode)
    return query


def get_connector(who: Requester, connector_id: uuid.UUID) -> Connector:
    """A connector of the requester's org, else 404."""
    connector = db.session.scalar(
        select(Connector).where(Connector.id == connector_id, Connector.organization_id == who.org.id))
    if connector is None:
        raise errors.NotFound()
    return connector


def get_editable(who: Requester, connector_id: uuid.UUID) -> Connector:
    """A connector the requester may change: its creator or an org admin, else 403."""
    connector = get_connector(who, connector_id)
    if not (who.is_admin or connector.created_by == who.user_id):
        raise errors.PermissionDenied()
    return connector


def present(connector: Connector) -> dict:
    """The connector representation; secrets are masked."""
    return {
        "id": connector.id, "connector_name": connector.connector_name,
        "connector_id": connector.connector_id,
        "connector_metadata": secrets.mask_metadata(connector.connector_id, connector.connector_metadata),
        "connector_mode": connector.connector_mode, "created_by": connector.created_by,
        "created_at": connector.created_at, "modified_at": connector.modified_at,
    }


def connector_types() -> list[dict]:
    """The items of GET connector/types/, ordered by connector_id."""
    return [{"connector_id": t.connector_id, "name": t.name, "connector_mode": t.mode,
             "metadata_schema": t.metadata_schema} for t in registry.all_types()]


# --- Validation ----------------------------------------------------------------------------------

def _name_taken(who: Requester, name: str, connector: Connector | None) -> bool:
    query = select(Connector.id).where(Connector.organization_id == who.org.id,
                                       Connector.connector_name == name)
    if connector is not None:
        query = query.where(Connector.id != connector.id)
    return db.session.scalar(query.limit(1)) is not None


def _path_error(connector_id: str, document: dict, roots: list[str]) -> FieldMessage | None:
    """The connector type's path rule (docs/API.md, Connectors), as a message on connector_metadata.path."""
    message = registry.get(connector_id).path_error(document, roots)
    return None if message is None else FieldMessage("path_not_allowed", message, "connector_metadata.path")


def typed_path(connector_id: str, document: dict, roots: list[str]) -> dict:
    """Forms accept a `path` relative to an allowed root: made absolute inside one before the checks."""
    return registry.get(connector_id).typed_path(document, roots)


def path_hint(connector_id: str, roots: list[str]) -> str | None:
    """What to type in a form's `path` (naming the roots), for types with a path rule; else None."""
    rule = registry.get(connector_id).path_rule
    return None if rule is None else rule.words(rule.hint, roots)


def path_advice(connector_id: str, roots: list[str], typed: str) -> str | None:
    """What to type instead of a refused `path`, for types with a path rule; else None."""
    rule = registry.get(connector_id).path_rule
    return None if rule is None else rule.words(rule.advice, roots, typed)


def check_metadata(connector_id: str, document: dict,
                   roots: list[str]) -> tuple[dict | None, list[FieldMessage]]:
    """Fill defaults, validate against the type's metadata schema and apply the path rules."""
    loaded, problems = load_document(document, registry.get(connector_id).metadata_schema, "connector_metadata")
    messages = [FieldMessage(p.code, p.detail, p.attr) for p in problems]
    if not any(m.attr == "connector_metadata.path" for m in messages):
        path_error = _path_error(connector_id, document, roots)
        if path_error is not None:
            messages = sorted([*messages, path_error], key=lambda m: (m.attr or "", m.code))
    return (None, messages) if messages else (loaded, [])


def _split_secrets(connector_id: str, sent: dict, stored: dict) -> tuple[dict, dict]:
    """PATCH keep rule: an absent or masked secret keeps its stored value (not re-validated)."""
    document, kept = dict(sent), {}
    for name in registry.get(connector_id).secret_fields:
        if name not in document or document[name] == secrets.MASK:
            document.pop(name, None)
            kept[name] = stored.get(name, "")
    return document, kept


# --- Writing -------------------------------------------------------------------------------------

def create(who: Requester, data: dict, field_errors: Sequence[FieldMessage], *, roots: list[str],
           secret_key: str | bytes) -> dict:
    """POST connector/: validate, seal the secrets and insert."""
    messages = list(field_errors)
    if "connector_name" in data and _name_taken(who, data["connector_name"], None):
        messages.append(FieldMessage("unique", DUPLICATE_NAME, "connector_name"))
    metadata = None
    if "connector_id" in data and "connector_metadata" in data:
        metadata, problems = check_metadata(data["connector_id"], data["connector_metadata"], roots)
        messages.extend(problems)
    raise_if_any(messages, FIELDS)
    connector_id = data["connector_id"]
    connector = Connector(organization_id=who.org.id, connector_name=data["connector_name"],
                          connector_id=connector_id, connector_mode=registry.get(connector_id).mode,
                          connector_metadata=secrets.seal_metadata(connector_id, metadata, secret_key),
                          created_by=who.user_id)
    db.session.add(connector)
    commit_or_duplicate("connector_name", DUPLICATE_NAME)
    return present(connector)


def update(who: Requester, connector: Connector, data: dict, field_errors: Sequence[FieldMessage], *,
           roots: list[str], secret_key: str | bytes) -> dict:
    """PATCH connector/{id}/: name and metadata; the type never changes; kept secrets stay sealed."""
    messages = list(field_errors)
    if "connector_name" in data and _name_taken(who, data["connector_name"], connector):
        messages.append(FieldMessage("unique", DUPLICATE_NAME, "connector_name"))
    if "connector_id" in data and data["connector_id"] != connector.connector_id:
        messages.append(FieldMessage("invalid", TYPE_CHANGED, "connector_id"))
    metadata, kept = None, {}
    if "connector_metadata" in data:
        document, kept = _split_secrets(connector.connector_id, data["connector_metadata"],
                                        connector.connector_metadata)
        metadata, problems = check_metadata(connector.connector_id, document, roots)
        messages.extend(problems)
    raise_if_any(messages, FIELDS)
    if "connector_name" in data:
        connector.connector_name = data["connector_name"]
    if metadata is not None:
        connector.connector_metadata = secrets.seal_metadata(connector.connector_id, {**metadata, **kept},
                                                             secret_key)
    commit_or_duplicate("connector_name", DUPLICATE_NAME)
    return present(connector)


def usage_count(connector: Connector) -> int:
    """Workflow endpoints that reference the connector."""
    query = select(func.count()).select_from(WorkflowEndpoint).where(
        WorkflowEndpoint.connector_instance_id == connector.id)
    return db.session.scalar(query) or 0


def _in_use(count: int) -> errors.Conflict:
    return errors.Conflict(f"Connector is used by {count} workflow endpoint(s).", code="connector_in_use")


def delete_connector(connector: Connector) -> None:
    """DELETE connector/{id}/: 409 while any workflow endpoint references it (also under a race)."""
    count = usage_count(connector)
    if count:
        raise _in_use(count)
    db.session.delete(connector)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _in_use(max(usage_count(connector), 1)) from None
