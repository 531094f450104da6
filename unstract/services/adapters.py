"""Adapter use cases: an organization's LLM connections (docs/API.md, Adapters).

The API key is sealed on write (services.secrets) and opened only by `open_config`, for the engine and
the connection test; representations carry `api_key_set` and a hint of the key's last 4 characters
(none for a short key)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

from sqlalchemy import Select, select

from unstract import errors
from unstract.errors import FieldMessage
from unstract.extensions import db
from unstract.jsonschemas import ADAPTER_CONFIG, load_document
from unstract.llm.client import AdapterConfig, LLMClient, redact
from unstract.models import Adapter, ToolInstance, Workflow
from unstract.policy import Requester
from unstract.services import secrets
from unstract.services.validation import commit_or_duplicate, raise_if_any
from unstract.tools import ToolError
from unstract.tools.llm_extractor import ADAPTER_KEY

FIELDS = ("name", "adapter_type", "provider", "config")
ADAPTER_TYPES = ("llm",)
PROVIDERS = ("openai",)
ORDERING = {"name": Adapter.name, "created_at": Adapter.created_at}
DEFAULT_ORDERING = "name"
PRIMARY_KEY = Adapter.id
DUPLICATE_NAME = "An adapter with this name already exists."
HINT_PREFIX = "\u2026"
HINT_LENGTH = 4
# A key of this many characters or fewer gets no hint: its last 4 would give most or all of it away.
MAX_KEY_LENGTH_WITHOUT_HINT = 8
LLM_TOOL = "llm_extractor"
# The key of an adapter seeded for the user to complete (the demo's): calls are refused with a clear message.
UNCONFIGURED_KEY = "replace-with-your-api-key"
NOT_CONFIGURED = ("the adapter '{name}' is not configured yet: an org admin sets its base URL, model and API key "
                  "on the LLM adapters page.")


# --- Reading -------------------------------------------------------------------------------------

def list_query(who: Requester) -> Select:
    return select(Adapter).where(Adapter.organization_id == who.org.id)


def find(org_id: uuid.UUID, adapter_id: Any) -> Adapter | None:
    """The org's adapter with this id (any text), None when there is none."""
    try:
        key = adapter_id if isinstance(adapter_id, uuid.UUID) else uuid.UUID(str(adapter_id))
    except ValueError:
        return None
    return db.session.scalar(select(Adapter).where(Adapter.id == key, Adapter.organization_id == org_id))


def get_adapter(who: Requester, adapter_id: uuid.UUID) -> Adapter:
    adapter = find(who.org.id, adapter_id)
    if adapter is None:
        raise errors.NotFound()
    return adapter


def get_editable(who: Requester, adapter_id: uuid.UUID) -> Adapter:
    """An adapter the requester may change or test: org admins only (404 first, then 403)."""
    adapter = get_adapter(who, adapter_id)
    if not who.is_admin:
        raise errors.PermissionDenied()
    return adapter


def require_admin(who: Requester) -> None:
    if not who.is_admin:
        raise errors.PermissionDenied()


def list_for_page(who: Requester) -> list[dict]:
    """The dashboard's rows: each adapter's representation and the workflows whose steps use it."""
    listed = list_query(who).order_by(Adapter.name, Adapter.id)
    return [{"adapter": present(adapter), "used_by": workflows_using(adapter)}
            for adapter in db.session.scalars(listed)]


def present(adapter: Adapter) -> dict:
    """The representation: the configuration without the key, whether one is set and its hint."""
    return {
        "id": adapter.id, "name": adapter.name, "adapter_type": adapter.adapter_type,
        "provider": adapter.provider, "config": dict(adapter.config), "api_key_set": True,
        "api_key_hint": HINT_PREFIX + adapter.api_key_last4 if adapter.api_key_last4 else None,
        "created_by": adapter.created_by,
        "created_at": adapter.created_at, "modified_at": adapter.modified_at,
    }


def hint_tail(api_key: str) -> str:
    """The characters of the key kept for its hint: the last 4 of a long enough key, else none."""
    return api_key[-HINT_LENGTH:] if len(api_key) > MAX_KEY_LENGTH_WITHOUT_HINT else ""


def open_config(adapter: Adapter, secret_key: str | bytes) -> AdapterConfig:
    """The adapter's configuration with the key in plaintext (engine and connection test only)."""
    api_key = secrets.open_value(adapter.sealed_api_key, secret_key, "API key")
    return AdapterConfig.from_dict({**adapter.config, "api_key": api_key, "name": adapter.name})


def tool_call_settings(org_id: uuid.UUID, tool_id: str, metadata: dict, secret_key: str | bytes) -> dict:
    """The settings sent to the tool process: an llm_extractor also gets its adapter's configuration, key
    included, read now (docs/EXECUTION.md, LLM extraction). ToolError when the adapter cannot be used."""
    if tool_id != LLM_TOOL:
        return metadata
    adapter = find(org_id, metadata.get("adapter_id"))
    if adapter is None:
        raise ToolError("the adapter of this step no longer exists.")
    try:
        config = open_config(adapter, secret_key)
    except secrets.SecretUnreadable as exc:  # the SECRET_KEY changed since the key was stored
        raise ToolError(f"the adapter's API key cannot be read: {exc}") from None
    if config.api_key == UNCONFIGURED_KEY:
        raise ToolError(NOT_CONFIGURED.format(name=adapter.name))
    return {**metadata, ADAPTER_KEY: asdict(config)}


# --- Validation and writing ----------------------------------------------------------------------

def _name_taken(who: Requester, name: str, adapter: Adapter | None) -> bool:
    query = select(Adapter.id).where(Adapter.organization_id == who.org.id, Adapter.name == name)
    if adapter is not None:
        query = query.where(Adapter.id != adapter.id)
    return db.session.scalar(query.limit(1)) is not None


def _check_config(document: dict, stored: Adapter | None) -> tuple[dict | None, list[FieldMessage]]:
    """Defaults and validation; on PATCH an absent api_key keeps the stored one."""
    schema = ADAPTER_CONFIG
    if stored is not None and "api_key" not in document:
        schema = {**ADAPTER_CONFIG, "required": [name for name in ADAPTER_CONFIG["required"] if name != "api_key"]}
    config, problems = load_document(document, schema, "config")
    return config, [_without_key(problem, document.get("api_key")) for problem in problems]


def _without_key(problem: FieldMessage, api_key: Any) -> FieldMessage:
    """The validator quotes bad values in its messages; a key is never quoted back."""
    if problem.attr == "config.api_key":
        return FieldMessage(problem.code, "Must be a string of 1 to 4096 characters.", problem.attr)
    if isinstance(api_key, str) and api_key and api_key in problem.detail:
        return FieldMessage(problem.code, problem.detail.replace(api_key, "[redacted]"), problem.attr)
    return problem


def _store_config(adapter: Adapter, config: dict, secret_key: str | bytes) -> None:
    config = dict(config)
    api_key = config.pop("api_key", None)
    if api_key is not None:
        adapter.sealed_api_key = secrets.seal_value(api_key, secret_key)
        adapter.api_key_last4 = hint_tail(api_key)
    adapter.config = config


def _validated(who: Requester, data: dict, field_errors: Sequence[FieldMessage],
               adapter: Adapter | None) -> dict | None:
    """Every problem of a create or PATCH body at once (400), else the checked `config` (None when absent)."""
    messages = list(field_errors)
    if "name" in data and _name_taken(who, data["name"], adapter):
        messages.append(FieldMessage("unique", DUPLICATE_NAME, "name"))
    config = None
    if "config" in data:
        config, problems = _check_config(data["config"], adapter)
        messages.extend(problems)
    raise_if_any(messages, FIELDS)
    return config


def create(who: Requester, data: dict, field_errors: Sequence[FieldMessage], *, secret_key: str | bytes) -> dict:
    require_admin(who)
    config = _validated(who, data, field_errors, None)
    adapter = Adapter(organization_id=who.org.id, name=data["name"], adapter_type=data.get("adapter_type", "llm"),
                      provider=data.get("provider", "openai"), created_by=who.user_id)
    _store_config(adapter, config, secret_key)
    db.session.add(adapter)
    commit_or_duplicate("name", DUPLICATE_NAME)
    return present(adapter)


def update(who: Requester, adapter: Adapter, data: dict, field_errors: Sequence[FieldMessage], *,
           secret_key: str | bytes) -> dict:
    """PATCH: any subset; `config` replaces the stored one, except that an absent api_key is kept."""
    config = _validated(who, data, field_errors, adapter)
    for name in ("name", "adapter_type", "provider"):
        if name in data:
            setattr(adapter, name, data[name])
    if config is not None:
        _store_config(adapter, config, secret_key)
    commit_or_duplicate("name", DUPLICATE_NAME)
    return present(adapter)


def workflows_using(adapter: Adapter) -> list[str]:
    """Names of the workflows with an llm_extractor step on this adapter, sorted."""
    rows = db.session.execute(
        select(Workflow.workflow_name, ToolInstance.metadata_).join(Workflow, Workflow.id == ToolInstance.workflow_id)
        .where(Workflow.organization_id == adapter.organization_id, ToolInstance.tool_id == LLM_TOOL))
    return sorted({name for name, metadata in rows if _names_adapter(metadata, adapter.id)})


def _names_adapter(metadata: dict | None, adapter_id: uuid.UUID) -> bool:
    """Compared as UUIDs: a step saved before ids were stored in one spelling may hold another one."""
    try:
        return uuid.UUID(str((metadata or {}).get("adapter_id"))) == adapter_id
    except ValueError:
        return False


def delete_adapter(adapter: Adapter) -> None:
    """DELETE: 409 adapter_in_use naming the workflows whose tools use it."""
    names = workflows_using(adapter)
    if names:
        listed = ", ".join(f"'{name}'" for name in names)
        raise errors.Conflict(f"Adapter is used by the workflow(s) {listed}.", code="adapter_in_use")
    db.session.delete(adapter)
    db.session.commit()


def test_connection(adapter: Adapter, secret_key: str | bytes) -> dict:
    """POST adapter/{id}/test/: one minimal call; {"ok": false, "error"} for every failure, never raising."""
    try:
        config = open_config(adapter, secret_key)
    except secrets.SecretUnreadable as exc:
        return {"ok": False, "error": str(exc)}
    if config.api_key == UNCONFIGURED_KEY:
        return {"ok": False, "error": NOT_CONFIGURED.format(name=adapter.name)}
    try:  # one call, no retries: the answer is about this attempt, and a dead service answers at once
        client = LLMClient(replace(config, max_retries=0))
    except Exception as exc:  # noqa: BLE001 - e.g. a base_url the HTTP library cannot parse: an answer, not a 500
        return {"ok": False, "error": redact(f"{type(exc).__name__}: {exc}", config.api_key)}
    with client:
        return client.test()
