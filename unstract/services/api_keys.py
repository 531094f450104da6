"""A user's own API keys in one org: list, create (plaintext shown once), revoke (docs/API.md, Authentication)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from unstract import errors
from unstract.extensions import db
from unstract.models import ApiKey, ApiKeyPermission
from unstract.policy import Requester, hash_api_key
from unstract.services import accounts

PERMISSIONS = tuple(p.value for p in ApiKeyPermission)
PERMISSION_LABELS = {
    ApiKeyPermission.READ: "Read",
    ApiKeyPermission.READ_WRITE: "Read & write",
    ApiKeyPermission.FULL_ACCESS: "Full access",
}


def list_keys(who: Requester) -> list[ApiKey]:
    """The requester's keys in the requester's org, newest first."""
    query = (select(ApiKey).where(ApiKey.organization_id == who.org.id, ApiKey.user_id == who.user_id)
             .order_by(ApiKey.created_at.desc(), ApiKey.id))
    return list(db.session.scalars(query))


def create_key(who: Requester, permission: str, name: str = "") -> tuple[str, ApiKey]:
    """A new key (optionally named) for the requester in the requester's org; the plaintext is returned only here."""
    if permission not in PERMISSIONS:
        raise errors.field_error("permission", "invalid_choice", f'"{permission}" is not a valid choice.')
    plaintext = accounts.create_api_key(who.org.org_id, who.user.email, permission, name)
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_api_key(plaintext)))
    return plaintext, key


def get_own_key(who: Requester, key_id: uuid.UUID) -> ApiKey:
    """One of the requester's keys in this org; anyone else's key is a 404 (existence never leaks)."""
    key = db.session.scalar(select(ApiKey).where(
        ApiKey.id == key_id, ApiKey.organization_id == who.org.id, ApiKey.user_id == who.user_id))
    if key is None:
        raise errors.NotFound()
    return key


def revoke_key(who: Requester, key_id: uuid.UUID) -> ApiKey:
    """Delete the key: requests carrying it fail with 401 from now on."""
    key = get_own_key(who, key_id)
    db.session.delete(key)
    db.session.commit()
    return key

