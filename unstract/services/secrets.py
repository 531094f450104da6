"""Connector secrets (docs/API.md, Connectors): writeOnly properties are sealed with Fernet, masked on output.

The key is derived from Flask's SECRET_KEY with HKDF-SHA256, so the database never holds a secret's
plaintext and rotating SECRET_KEY makes stored secrets unreadable (they must be entered again).
Nothing here logs a value.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from unstract.connectors.errors import ConnectorError
from unstract.jsonschemas import secret_fields

SEALED_KEY = "$enc"
MASK = "********"
HKDF_INFO = b"unstract-connector-secrets"
WEBHOOK_HKDF_INFO = b"unstract-webhook-secrets"


class SecretUnreadable(ConnectorError):
    """A stored secret cannot be decrypted with the current SECRET_KEY; the engine reports it per run."""


def _fernet(secret_key: str | bytes, info: bytes = HKDF_INFO) -> Fernet:
    """Fernet keyed by HKDF-SHA256(SECRET_KEY), one derived key per kind of secret."""
    material = secret_key.encode() if isinstance(secret_key, str) else bytes(secret_key)
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)
    return Fernet(base64.urlsafe_b64encode(derived))


def is_sealed(value: Any) -> bool:
    """True for the stored form {"$enc": "<token>"}."""
    return isinstance(value, dict) and set(value) == {SEALED_KEY} and isinstance(value[SEALED_KEY], str)


def is_set(value: Any) -> bool:
    """True when a stored secret holds a value (sealed, or a non-empty legacy string)."""
    return is_sealed(value) or (isinstance(value, str) and value != "")


def seal_metadata(connector_id: str, metadata: dict, secret_key: str | bytes) -> dict:
    """Copy of metadata with every non-empty secret sealed; sealed and empty values stay as they are."""
    sealed = dict(metadata)
    fernet = None
    for name in secret_fields(connector_id):
        value = sealed.get(name)
        if isinstance(value, str) and value != "":
            fernet = fernet or _fernet(secret_key)
            sealed[name] = {SEALED_KEY: fernet.encrypt(value.encode()).decode()}
    return sealed


def open_metadata(connector_id: str, stored: dict, secret_key: str | bytes) -> dict:
    """Copy of the stored metadata with every secret in plaintext (for the engine only)."""
    opened = dict(stored)
    fernet = None
    for name in secret_fields(connector_id):
        value = opened.get(name)
        if is_sealed(value):
            fernet = fernet or _fernet(secret_key)
            opened[name] = _decrypt(fernet, value[SEALED_KEY], name)
    return opened


def _decrypt(fernet: Fernet, token: str, name: str) -> str:
    try:
        return fernet.decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(f"The stored connector secret '{name}' cannot be decrypted; "
                               "enter it again.") from None


def mask_metadata(connector_id: str, stored: dict) -> dict:
    """Copy of the stored metadata for output: each secret is "********" when set, "" when empty."""
    masked = dict(stored)
    for name in secret_fields(connector_id):
        masked[name] = MASK if is_set(stored.get(name)) else ""
    return masked


def seal_value(value: str, secret_key: str | bytes, info: bytes = HKDF_INFO) -> str:
    """One secret's sealed token: adapter API keys with the connector secrets' key, webhook credentials
    (signing secret, authorization key) with `WEBHOOK_HKDF_INFO`."""
    return _fernet(secret_key, info).encrypt(value.encode()).decode()


def open_value(token: str, secret_key: str | bytes, what: str, info: bytes = HKDF_INFO) -> str:
    """The plaintext of seal_value's token; SecretUnreadable (naming `what`) after a SECRET_KEY rotation."""
    try:
        return _fernet(secret_key, info).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(f"The stored {what} cannot be decrypted; enter it again.") from None
