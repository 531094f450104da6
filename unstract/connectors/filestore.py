"""File stores of the FILESYSTEM connectors (listing and destination writes): local directories and S3."""

import contextlib
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from unstract.connectors.errors import ConnectorError, PathEscapeError
from unstract.connectors.paths import is_inside

__all__ = [
    "ConnectorError",
    "FileEntry",
    "FileStore",
    "LocalFileStore",
    "PathEscapeError",
    "check_unique_suffix",
    "folder_parts",
    "json_body",
    "relative_parts",
]

CHUNK_SIZE = 1024 * 1024
ESCAPE_MESSAGE = "path escapes the connector root."
_SUFFIX_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One regular file found by a walk; `path` is root-relative and '/'-separated."""

    path: str
    size: int
    mtime: datetime | None
    etag: str | None = None


def relative_parts(path: str) -> list[str]:
    """Split a root-relative path into segments, refusing absolute paths, '..' and NUL bytes."""
    if not isinstance(path, str) or "\x00" in path or path.startswith("/"):
        raise PathEscapeError(ESCAPE_MESSAGE)
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise PathEscapeError(ESCAPE_MESSAGE)
    return parts


def folder_parts(folder: str) -> list[str]:
    """Split a listing folder; leading and trailing '/' are dropped first."""
    return relative_parts(folder.strip("/") if isinstance(folder, str) else folder)


def json_body(payload: dict) -> bytes:
    """Serialize an output object for a FILESYSTEM destination: UTF-8, non-ASCII kept, indent 2, final newline."""
    return (json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def check_unique_suffix(unique_suffix: str) -> None:
    """Keep the temporary-file suffix a plain token so it cannot smuggle path separators."""
    if not isinstance(unique_suffix, str) or not _SUFFIX_RE.fullmatch(unique_suffix):
        raise ValueError("unique_suffix must be 1-64 characters of [A-Za-z0-9_-].")


def _is_utf8(text: str) -> bool:
    """Reject names holding undecodable bytes (surrogate escapes): they cannot travel in JSON or SQL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class FileStore:
    """Root-relative file access shared by sources and destinations; subclasses do the I/O."""

    def is_dir(self, folder: str) -> bool:
        """Tell whether a root-relative folder exists (the root always does)."""
        raise NotImplementedError

    def walk(self, folder: str, recursive: bool, max_depth: int = 10) -> Iterator[FileEntry]:
        """Yield regular files below a folder lazily, at most max_depth directory levels down."""
        raise NotImplementedError

    def open_read(self, path: str) -> BinaryIO:
        """Open a root-relative file for streaming binary reads."""
        raise NotImplementedError

    def write_json_atomic(self, relative_path: str, payload: dict, unique_suffix: str) -> str:
        """Write one output object so that readers never see a partial file; return the target."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; a no-op where there are none."""

    def __enter__(self) -> "FileStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def read_bytes(self, path: str) -> bytes:
        """Read a whole root-relative file (small files only)."""
        with self.open_read(path) as handle:
            return _read_or_fail(handle.read, path)

    def sha256_and_size(self, path: str) -> tuple[str, int]:
        """Hash a file in 1 MiB chunks so memory stays flat whatever its size."""
        digest, size = hashlib.sha256(), 0
        with self.open_read(path) as handle:
            while chunk := _read_or_fail(lambda: handle.read(CHUNK_SIZE), path):
                digest.update(chunk)
                size += len(chunk)
        return digest.hexdigest(), size


def _read_or_fail(read, path: str) -> bytes:
    """Run one read, turning I/O failures (other than a vanished file) into ConnectorError."""
    try:
        return read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConnectorError(f"cannot read '{path}': {exc.strerror or type(exc).__name__}.") from exc


class LocalFileStore(FileStore):
    """A directory on this machine; every access is confined to its resolved root."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)

    def __repr__(self) -> str:
        return f"LocalFileStore({self.root!r})"

    def _resolve(self, path: str) -> str:
        """Return the real path of a root-relative path, refusing anything that leaves the root."""
        real = os.path.realpath(os.path.join(self.root, *relative_parts(path)))
        if not is_inside(real, self.root):
            raise PathEscapeError(ESCAPE_MESSAGE)
        return real

    def _relative(self, real: str) -> str:
        """Turn a resolved path inside the root into a '/'-separated root-relative one."""
        rel = os.path.relpath(real, self.root)
        return "" if rel == "." else rel.replace(os.sep, "/")

    def is_dir(self, folder: str) -> bool:
        """Tell whether the folder resolves to a directory inside the root."""
        try:
            return os.path.isdir(self._resolve("/".join(folder_parts(folder))))
        except PathEscapeError:
            return False

    def walk(self, folder: str, recursive: bool, max_depth: int = 10) -> Iterator[FileEntry]:
        """Depth-first scandir walk holding one open iterator per level, so memory stays flat."""
        start = self._resolve("/".join(folder_parts(folder)))
        try:
            top = os.scandir(start)
        except OSError as exc:
            raise ConnectorError(f"cannot list '{folder}': {exc.strerror or type(exc).__name__}.") from exc
        stack = [(top, self._relative(start), 0)]
        try:
            while stack:
                iterator, rel, depth = stack[-1]
                entry = _next_entry(iterator)
                if entry is None:
                    iterator.close()
                    stack.pop()
                    continue
                child = f"{rel}/{entry.name}" if rel else entry.name
                if _is_real_dir(entry):
                    if recursive and depth < max_depth and (sub := _scandir_or_none(entry.path)):
                        stack.append((sub, child, depth + 1))
                elif found := self._file_entry(entry, child):
                    yield found
        finally:
            for iterator, _, _ in stack:
                iterator.close()

    def _file_entry(self, entry: os.DirEntry, rel: str) -> FileEntry | None:
        """Describe a regular file (or a symlink to one inside the root); None for anything else."""
        try:
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if not is_inside(target, self.root):
                    return None
                info = os.stat(target)
            else:
                info = entry.stat(follow_symlinks=False)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode) or not _is_utf8(rel):
            return None
        return FileEntry(rel, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC), None)

    def open_read(self, path: str) -> BinaryIO:
        """Open the resolved file without following a last-moment symlink or blocking on a FIFO."""
        real = self._resolve(path)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(real, flags)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise ConnectorError(f"cannot read '{path}': {exc.strerror or type(exc).__name__}.") from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ConnectorError(f"'{path}' is not a regular file.")
        return os.fdopen(fd, "rb")

    def write_json_atomic(self, relative_path: str, payload: dict, unique_suffix: str) -> str:
        """Write `<target>.<suffix>.tmp`, fsync it and rename it over the target (never a partial file)."""
        parts = relative_parts(relative_path)
        if not parts:
            raise ConnectorError("the output path is empty.")
        check_unique_suffix(unique_suffix)
        try:
            target = os.path.join(self._make_parents(parts[:-1]), parts[-1])
            if not is_inside(os.path.realpath(target), self.root):
                raise PathEscapeError(ESCAPE_MESSAGE)
            _replace_atomically(target, json_body(payload), unique_suffix)
        except PathEscapeError:
            raise
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConnectorError(f"cannot write '{relative_path}': {reason}.") from exc
        return target

    def _make_parents(self, parts: list[str]) -> str:
        """Create missing directories one level at a time, checking each resolves inside the root."""
        current = self.root
        for part in parts:
            with contextlib.suppress(FileExistsError):
                os.mkdir(os.path.join(current, part))
            current = os.path.realpath(os.path.join(current, part))
            if not is_inside(current, self.root):
                raise PathEscapeError(ESCAPE_MESSAGE)
        return current


def _next_entry(iterator: Iterator[os.DirEntry]) -> os.DirEntry | None:
    """Advance a scandir iterator, treating a read error as the end of that directory."""
    try:
        return next(iterator, None)
    except OSError:
        return None


def _is_real_dir(entry: os.DirEntry) -> bool:
    """A directory that is not a symlink: linked directories are never descended."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _scandir_or_none(path: str):
    """Open a subdirectory for listing; an unreadable one is skipped rather than failing the walk."""
    try:
        return os.scandir(path)
    except OSError:
        return None


def _replace_atomically(target: str, body: bytes, unique_suffix: str) -> None:
    """Write a sibling temporary file, fsync it, then os.replace it over the target."""
    tmp = f"{target}.{unique_suffix}.tmp"
    fd = os.open(
        tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o666
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(os.path.dirname(target))


def _fsync_directory(path: str) -> None:
    """Persist the rename itself; best effort, since some filesystems refuse directory fsync."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def __getattr__(name: str):
    """Import the S3 store lazily so that local-only users never load s3fs/aiobotocore."""
    if name == "S3FileStore":
        from unstract.connectors.s3 import S3FileStore

        return S3FileStore
    raise AttributeError(name)
