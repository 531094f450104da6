"""Upload rules and staging for API-source executions (docs/API.md, Uploads and limits)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from werkzeug.datastructures import FileStorage
from werkzeug.http import parse_options_header

from unstract import errors
from unstract.jsonschemas import CONVERT_HINT, extension_allowed, mime_type_for, unreadable_extensions
from unstract.models.plan import PlannedUpload

CHUNK_BYTES = 1024 * 1024
# A backslash that does not escape a quote: a Windows path separator, not an escape (see client_filename).
PATH_BACKSLASH = re.compile(r'\\(?!")')


@dataclass
class UploadPart:
    """One `files` part as received: the client's filename and a readable stream."""

    filename: str
    stream: BinaryIO

    @classmethod
    def of(cls, part: FileStorage) -> UploadPart:
        return cls(client_filename(part), part.stream)


def client_filename(part: FileStorage) -> str:
    """The part's filename as the client sent it, its path separators kept.

    Werkzeug reads backslashes in a quoted filename as escapes, so `C:\\Users\\me\\win.txt` (as browsers
    and most clients send a Windows path) would arrive as `C:Usersmewin.txt`. Reading the raw header with
    every backslash that does not escape a quote taken as `/` keeps the separators for sanitized_name.
    """
    raw = part.headers.get("Content-Disposition")
    if not raw or "\\" not in raw:
        return part.filename or ""
    _, options = parse_options_header(PATH_BACKSLASH.sub("/", raw))
    return options.get("filename") or ""


def sanitized_name(filename: str) -> str:
    """The text after the last `/` or `\\`, validated (1–255 UTF-8 bytes, no controls, not . or ..)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    has_control = any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name)
    if not name or len(name.encode("utf-8")) > 255 or has_control or name in (".", ".."):
        raise errors.field_error("files", "invalid_file_name", f"Invalid file name: '{name}'.")
    return name


def check_parts(parts: list[UploadPart], max_files: int, groups: list[str]) -> list[str]:
    """Count, names and types, before anything is written; returns the sanitized names."""
    if len(parts) > max_files:
        raise errors.field_error("files", "max_files",
                                 f"At most {max_files} files are allowed per request; received {len(parts)}.")
    names = [sanitized_name(part.filename or "") for part in parts]
    rejected = [n for n in names if not extension_allowed(n, groups)]
    if rejected:
        raise errors.field_error("files", "unsupported_file_type",
                                 f"Unsupported file type: {', '.join(rejected)}.{_unreadable_hint(rejected)}")
    return names


def _unreadable_hint(rejected: list[str]) -> str:
    """For known types the tools cannot read (.doc, .pptx): say so and what to do, after the names."""
    extensions = unreadable_extensions(rejected)
    return f" The tools cannot read {', '.join(extensions)} files: {CONVERT_HINT}." if extensions else ""


def _stage_one(part: UploadPart, target: Path) -> tuple[str, int]:
    """Copy in 1 MiB chunks while hashing, so no part is held whole in memory."""
    digest, size = hashlib.sha256(), 0
    with open(target, "wb") as out:
        while chunk := part.stream.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def stage_parts(parts: list[UploadPart], names: list[str], directory: Path) -> tuple[list[PlannedUpload], list[tuple]]:
    """Write parts to `directory`; drop exact duplicates. Returns (kept, [(dropped name, first name)])."""
    directory.mkdir(parents=True, exist_ok=True)
    kept: list[PlannedUpload] = []
    dropped: list[tuple] = []
    by_hash: dict[str, PlannedUpload] = {}
    by_name: dict[str, str] = {}
    for index, (part, name) in enumerate(zip(parts, names, strict=True)):
        target = directory / f"{index:04d}"
        sha, size = _stage_one(part, target)
        if name in by_name and by_name[name] != sha:
            raise errors.field_error("files", "duplicate_file_name", f"Duplicate file name: '{name}'.")
        by_name.setdefault(name, sha)
        if sha in by_hash:
            target.unlink()
            dropped.append((name, by_hash[sha].name))
            continue
        staged = PlannedUpload(name, str(target), sha, size, mime_type_for(name))
        by_hash[sha] = staged
        kept.append(staged)
    return kept, dropped
