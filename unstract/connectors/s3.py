"""The S3 / S3-compatible file store (bucket under a key prefix), built on s3fs."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

import s3fs

from unstract.connectors.errors import ConnectorError, PathEscapeError
from unstract.connectors.filestore import (
    FileEntry,
    FileStore,
    check_unique_suffix,
    folder_parts,
    json_body,
    relative_parts,
)

__all__ = ["S3FileStore"]

READ_BLOCK_SIZE = 8 * 1024 * 1024


def s3_options(key: str, secret: str, region: str, endpoint_url: str) -> dict:
    """s3fs arguments: fresh instance, no listing cache, path-style and lenient checksums off AWS."""
    config: dict = {
        "connect_timeout": 10,
        "read_timeout": 60,
        "retries": {"max_attempts": 3, "mode": "standard"},
        # S3-compatible servers often reject the CRC trailers newer botocore adds by default.
        "request_checksum_calculation": "when_required",
        "response_checksum_validation": "when_required",
    }
    client: dict = {"region_name": region or "us-east-1"}
    if endpoint_url:
        client["endpoint_url"] = endpoint_url
        config["s3"] = {"addressing_style": "path"}
    options = {
        "client_kwargs": client,
        "config_kwargs": config,
        "skip_instance_cache": True,
        "use_listings_cache": False,
        "default_block_size": READ_BLOCK_SIZE,
    }
    # Without a key, requests go unsigned: the service's own cloud credentials are never lent out.
    options.update({"key": key, "secret": secret} if key else {"anon": True})
    return options


def _utc(value: object) -> datetime | None:
    """Normalize botocore's LastModified to an aware UTC datetime."""
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _clean_relative(rel: str) -> bool:
    """Skip keys that no root-relative path can name again ('a//b', './x', '../x')."""
    return all(part not in ("", ".", "..") for part in rel.split("/"))


class S3FileStore(FileStore):
    """Objects of one bucket below a key prefix; '/' in keys plays the role of directories."""

    page_size = 1000  # keys per ListObjectsV2 call (the S3 maximum)

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        key: str = "",
        secret: str = "",
        region: str = "us-east-1",
        endpoint_url: str = "",
    ) -> None:
        if not bucket:
            raise ConnectorError("the S3 connector has no bucket.")
        self.bucket = bucket
        self.prefix = "/".join(folder_parts(prefix or ""))
        self._secrets = [value for value in (key, secret) if value]
        self.fs = s3fs.S3FileSystem(**s3_options(key, secret, region, endpoint_url))

    def __repr__(self) -> str:
        return f"S3FileStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _key(self, parts: list[str]) -> str:
        """Join the prefix and root-relative segments, without an empty leading segment."""
        return "/".join([self.prefix, *parts] if self.prefix else parts)

    def _safe(self, exc: BaseException) -> str:
        """Describe a failure without ever echoing the access key or secret."""
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        for value in self._secrets:
            text = text.replace(value, "********")
        return text[:300]

    def _call(self, method: str, **kwargs: object) -> dict:
        """Run one S3 API call, mapping failures to ConnectorError with a user-fit message."""
        try:
            return self.fs.call_s3(method, Bucket=self.bucket, **kwargs)
        except FileNotFoundError as exc:
            raise ConnectorError(f"S3 bucket '{self.bucket}' does not exist.") from exc
        except PermissionError as exc:
            raise ConnectorError(f"access to S3 bucket '{self.bucket}' was denied.") from exc
        except Exception as exc:
            raise ConnectorError(f"S3 request failed: {self._safe(exc)}") from exc

    def _pages(self, **kwargs: object) -> Iterator[dict]:
        """Page through ListObjectsV2 one response at a time, so memory stays flat."""
        kwargs.setdefault("MaxKeys", self.page_size)
        while True:
            page = self._call("list_objects_v2", **kwargs)
            yield page
            if not page.get("IsTruncated"):
                return
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def is_dir(self, folder: str) -> bool:
        """A folder exists when some key starts with `<folder>/`; the root always exists."""
        try:
            parts = folder_parts(folder)
        except PathEscapeError:
            return False
        if not parts:
            return True
        page = self._call("list_objects_v2", Prefix=self._key(parts) + "/", MaxKeys=1)
        return bool(page.get("Contents"))

    def walk(self, folder: str, recursive: bool, max_depth: int = 10) -> Iterator[FileEntry]:
        """List keys below the folder page by page; `Delimiter='/'` gives direct children only."""
        base = self._key(folder_parts(folder))
        list_prefix = f"{base}/" if base else ""
        kwargs: dict = {"Prefix": list_prefix} if recursive else {"Prefix": list_prefix, "Delimiter": "/"}
        depth_limit = max_depth if recursive else 0
        for page in self._pages(**kwargs):
            for obj in page.get("Contents", ()):
                if entry := self._entry(obj, list_prefix, depth_limit):
                    yield entry

    def _entry(self, obj: dict, list_prefix: str, depth_limit: int) -> FileEntry | None:
        """Describe one listed object; directory markers and too-deep keys give None."""
        key = obj["Key"]
        below = key[len(list_prefix) :]
        if not below or below.endswith("/") or below.count("/") > depth_limit:
            return None
        rel = key[len(self.prefix) + 1 :] if self.prefix else key
        if not _clean_relative(rel):
            return None
        etag = str(obj.get("ETag") or "").strip('"') or None
        return FileEntry(rel, int(obj.get("Size", 0)), _utc(obj.get("LastModified")), etag)

    def open_read(self, path: str) -> BinaryIO:
        """Open an object for ranged streaming reads; a missing key raises FileNotFoundError."""
        parts = relative_parts(path)
        if not parts:
            raise FileNotFoundError(path)
        try:
            handle = self.fs.open(f"{self.bucket}/{self._key(parts)}", "rb", cache_type="readahead")
        except FileNotFoundError:
            raise
        except PermissionError as exc:
            raise ConnectorError(f"access to '{path}' in S3 bucket '{self.bucket}' was denied.") from exc
        except Exception as exc:
            raise ConnectorError(f"cannot read '{path}' from S3: {self._safe(exc)}") from exc
        if handle.details.get("type") != "file":
            # s3fs falls back to a listing when HEAD misses and "opens" a key prefix as an empty file.
            handle.close()
            raise FileNotFoundError(path)
        return handle

    def write_json_atomic(self, relative_path: str, payload: dict, unique_suffix: str) -> str:
        """One PutObject of the whole body: S3 readers see the old or the new object, never a part."""
        parts = relative_parts(relative_path)
        if not parts:
            raise ConnectorError("the output path is empty.")
        check_unique_suffix(unique_suffix)
        key = self._key(parts)
        self._call("put_object", Key=key, Body=json_body(payload), ContentType="application/json")
        return f"s3://{self.bucket}/{key}"
