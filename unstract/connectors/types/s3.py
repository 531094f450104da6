"""S3 and S3-compatible object stores (a bucket under a key prefix)."""

from __future__ import annotations

from unstract.connectors.filestore import FileStore
from unstract.connectors.types.base import DRAFT7, FileStoreType

BUCKET_NAME = "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
ENDPOINT_URL = "^(https?://.+)?$"
KEY_PREFIX = "^(?!/)(?!(?:.*/)?\\.\\.(?:/|$)).*$"


class S3(FileStoreType):
    """Objects of one bucket; the access key and secret are optional (unsigned requests without)."""

    connector_id = "s3"
    # fmt: off
    metadata_schema = {
        "$schema": DRAFT7, "title": "S3 / S3-compatible", "type": "object",
        "additionalProperties": False, "required": ["bucket"],
        "properties": {
            "bucket": {"type": "string", "pattern": BUCKET_NAME},
            "endpoint_url": {"description": "Empty for AWS; set for S3-compatible servers.", "type": "string",
                             "default": "", "pattern": ENDPOINT_URL},
            "key": {"title": "Access key id", "type": "string", "maxLength": 128, "default": ""},
            "secret": {"title": "Secret access key", "type": "string", "maxLength": 256, "default": "",
                       "writeOnly": True},
            "region": {"type": "string", "maxLength": 64, "default": "us-east-1"},
            "prefix": {"description": "Key prefix used as the root.", "type": "string", "maxLength": 1000,
                       "default": "", "pattern": KEY_PREFIX}}}
    # fmt: on
    pattern_hints = {
        BUCKET_NAME: "Type the bucket's name: 3 to 63 lower-case letters, digits, dots and hyphens, such as "
                     "my-invoices.",
        ENDPOINT_URL: "Leave it empty for AWS, or type the server's address such as http://127.0.0.1:9000.",
        KEY_PREFIX: "Type a prefix such as invoices/2026, without a leading / or “..”.",
    }

    def open(self, metadata: dict, allowed_roots: list[str]) -> FileStore:
        """The bucket's store; s3fs is imported only here, so local-only users never load it."""
        from unstract.connectors.s3 import S3FileStore

        return S3FileStore(
            bucket=metadata.get("bucket", ""),
            prefix=metadata.get("prefix", ""),
            key=metadata.get("key", ""),
            secret=metadata.get("secret", ""),
            region=metadata.get("region", "") or "us-east-1",
            endpoint_url=metadata.get("endpoint_url", ""),
        )


CONNECTOR = S3()
