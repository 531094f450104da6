"""Connector secrets (docs/API.md, Connectors): sealed with a SECRET_KEY-derived Fernet key, masked on output."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from unstract.connectors.errors import ConnectorError
from unstract.services.secrets import MASK, SecretUnreadable, mask_metadata, open_metadata, seal_metadata

KEY = "test-secret-key"
S3 = {"bucket": "bkt", "endpoint_url": "", "key": "AKIA1", "secret": "wJalr/K7MDENG", "region": "us-east-1",
      "prefix": ""}


def test_seal_encrypts_only_the_secret_and_open_restores_it():
    sealed = seal_metadata("s3", S3, KEY)
    assert set(sealed["secret"]) == {"$enc"}
    assert "wJalr" not in json.dumps(sealed)
    assert {**sealed, "secret": None} == {**S3, "secret": None}
    assert open_metadata("s3", sealed, KEY) == S3


def test_seal_does_not_change_its_input_and_uses_a_fresh_token_each_time():
    original = dict(S3)
    first, second = seal_metadata("s3", S3, KEY), seal_metadata("s3", S3, KEY)
    assert S3 == original
    assert first["secret"] != second["secret"]


def test_key_is_hkdf_sha256_of_secret_key_with_the_connector_info():
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"unstract-connector-secrets").derive(KEY.encode())
    token = seal_metadata("postgresql", {"password": "pw"}, KEY)["password"]["$enc"]
    assert Fernet(base64.urlsafe_b64encode(derived)).decrypt(token.encode()) == b"pw"


def test_bytes_and_text_secret_keys_derive_the_same_key():
    sealed = seal_metadata("postgresql", {"password": "pw"}, KEY.encode())
    assert open_metadata("postgresql", sealed, KEY)["password"] == "pw"


def test_another_secret_key_cannot_open_and_says_so_without_the_value():
    sealed = seal_metadata("postgresql", {"password": "topsecret"}, KEY)
    with pytest.raises(SecretUnreadable) as caught:
        open_metadata("postgresql", sealed, "another-key")
    assert "topsecret" not in str(caught.value) and "password" in str(caught.value)
    assert isinstance(caught.value, ConnectorError)


def test_sealing_twice_keeps_the_sealed_value():
    sealed = seal_metadata("postgresql", {"password": "pw"}, KEY)
    assert seal_metadata("postgresql", sealed, KEY) == sealed


def test_empty_secret_stays_empty_and_masks_to_empty():
    sealed = seal_metadata("postgresql", {"host": "h", "password": ""}, KEY)
    assert sealed == {"host": "h", "password": ""}
    assert mask_metadata("postgresql", sealed) == {"host": "h", "password": ""}
    assert open_metadata("postgresql", sealed, KEY) == {"host": "h", "password": ""}


def test_mask_hides_set_secrets_and_fills_missing_ones_with_empty():
    sealed = seal_metadata("s3", S3, KEY)
    assert mask_metadata("s3", sealed) == {**S3, "secret": MASK}
    assert mask_metadata("s3", {"bucket": "bkt"}) == {"bucket": "bkt", "secret": ""}
    assert mask_metadata("s3", {"bucket": "bkt", "secret": "legacy-plain"})["secret"] == MASK


def test_types_without_secrets_pass_through_unchanged():
    metadata = {"path": "/data/inbox"}
    assert seal_metadata("local_storage", metadata, KEY) == metadata
    assert mask_metadata("sqlite", metadata) == metadata
    assert open_metadata("local_storage", metadata, KEY) == metadata
