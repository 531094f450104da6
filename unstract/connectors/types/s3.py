"""S3 and S3-compatible object stores (a bucket under a key prefix)."""

from __future__ import annotations

from unstract.connectors.filestore import FileStore
from unstract.connectors.types.base import DRAFT7, FileStoreType


class S3(FileStoreType):
    """Objects of one bucket; the access key and secret are optional (unsigned requests without)."""

    connector_id = "s3"
    # fmt: off
    metadata_schema = {
        "$schema": DRAFT7, "title": "S3 / S3-compatible", "type": "object",
        "additionalProperties": False, "required": ["bucket"],
        "properties": {
            "bucket": {"type": "string", "pattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"},
            "endpoint_url": {"description": "Empty for AWS; set for S3-compatible servers.", "type": "string",
                             "default": "", "pattern": "^(https?://.+)?$"},
            "key": {"title": "Access key id", "type": "string", "maxLength": 128, "default": ""},
            "secret": {"title": "Secret access key", "type": "string", "maxLength": 256, "default": "",
                       "writeOnly": True},
            "region": {"type": "string", "maxLength": 64, "default": "us-east-1"},
            "prefix": {"description": "Key prefix used as the root.", "type": "string", "maxLength": 1000,
                       "default": "", "pattern": "^(?!/)(?!(?:.*/)?\\.\\.(?:/|$)).*$"}}}
    # fmt: on

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
