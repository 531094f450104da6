"""Opening the plan's connectors with their secrets, reading sources, writing destinations (EXECUTION.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from unstract.config import Settings
from unstract.connectors import registry
from unstract.connectors.database import DatabaseTarget, write_row
from unstract.connectors.errors import ConnectorError
from unstract.connectors.filestore import FileEntry, FileStore
from unstract.jsonschemas import extension_allowed, extension_readable, mime_type_for
from unstract.models import Execution, FileExecution
from unstract.models.base import utcnow
from unstract.models.plan import ConnectorSnapshot, EndpointSnapshot, ExecutionPlan
from unstract.services.secrets import open_metadata

MAX_DEPTH = 10


def connector_metadata(connector: ConnectorSnapshot, secret_key: str) -> dict:
    """The snapshot's metadata with its secrets opened (in memory only, for this connection)."""
    return open_metadata(connector.connector_id, connector.metadata, secret_key)


def open_store(endpoint: EndpointSnapshot, settings: Settings, secret_key: str) -> FileStore:
    """The file store of a FILESYSTEM endpoint, opened by its connector type."""
    connector = endpoint.connector
    return registry.open_file_store(connector.connector_id, connector_metadata(connector, secret_key),
                                    settings.local_storage_roots)


def normalize_folder(folder: str) -> str:
    return folder.strip("/")


def source_folders(config: dict) -> list[str]:
    """Configured folders without surrounding slashes; empty means the root; repeats once."""
    folders = [normalize_folder(f) for f in config.get("folders") or []] or [""]
    return list(dict.fromkeys("" if f in ("", "/") else f for f in folders))


def _is_candidate(entry: FileEntry, groups: list[str], excluded_prefix: str | None, unreadable: list[str]) -> bool:
    """Whether the file is listed; a file of a known type the tools cannot read is added to `unreadable`."""
    name = entry.path.rsplit("/", 1)[-1]
    if name.startswith(".") or mime_type_for(name) is None:
        return False
    if excluded_prefix and (entry.path + "/").startswith(excluded_prefix + "/"):
        return False
    if not extension_readable(name):
        unreadable.append(name)
        return False
    return not groups or extension_allowed(name, groups)


def candidates(store: FileStore, config: dict, excluded_prefix: str | None,
               unreadable: list[str] | None = None) -> Iterator[FileEntry]:
    """Every candidate file once, across the configured folders (docs/EXECUTION.md, Listing, steps 2–4);
    the names of files skipped because the tools cannot read them go to `unreadable`."""
    seen: set[str] = set()
    skipped: list[str] = [] if unreadable is None else unreadable
    groups = config.get("fileExtensions") or []
    for folder in source_folders(config):
        for entry in store.walk(folder, bool(config.get("processSubDirectories", True)), MAX_DEPTH):
            if entry.path not in seen and _is_candidate(entry, groups, excluded_prefix, skipped):
                seen.add(entry.path)
                yield entry


def ordered(entries: list[FileEntry], order: str) -> list[FileEntry]:
    """fileProcessingOrder: by path, oldest first or newest first (ties by path)."""
    entries = sorted(entries, key=lambda e: e.path)
    if order == "oldest_first":
        return sorted(entries, key=lambda e: e.mtime.timestamp() if e.mtime else 0)
    if order == "newest_first":
        return sorted(entries, key=lambda e: -(e.mtime.timestamp() if e.mtime else 0))
    return entries


def excluded_output_prefix(plan: ExecutionPlan) -> str | None:
    """Files under the destination's output folder on the same connector are not candidates."""
    source, destination = plan.source.connector, plan.destination.connector
    same = (plan.destination.connection_type == "FILESYSTEM" and source and destination
            and source.id == destination.id)
    return normalize_folder(plan.destination.settings["outputFolder"]) if same else None


def read_source(fe: FileExecution, plan: ExecutionPlan, settings: Settings, secret_key: str) -> bytes:
    """The staged upload or the file under the source connector; FileNotFoundError when gone."""
    if fe.file_path is None:
        return Path(fe.staged_path or "").read_bytes()
    with open_store(plan.source, settings, secret_key) as store:
        return store.read_bytes(fe.file_path)


def destination_relative_path(fe: FileExecution) -> str:
    name = fe.file_path if fe.file_path is not None else f"{fe.execution_id}/{fe.file_name}"
    return name + ".json"


def write_destination(fe: FileExecution, execution: Execution, output: dict, settings: Settings,
                      secret_key: str) -> str | None:
    """Idempotent write keyed by the file execution id (docs/EXECUTION.md, Destinations); returns the target."""
    destination = execution.run_plan.destination
    kind, config = destination.connection_type, destination.settings
    if kind == "FILESYSTEM":
        folder = normalize_folder(config.get("outputFolder", "output"))
        with open_store(destination, settings, secret_key) as store:
            target = "/".join(part for part in (folder, destination_relative_path(fe)) if part)
            return store.write_json_atomic(target, output, str(fe.id))
    if kind == "DATABASE":
        connector = destination.connector
        target = DatabaseTarget.from_connector(connector.connector_id, connector_metadata(connector, secret_key),
                                               config, allowed_roots=settings.local_storage_roots)
        return write_row(target, file_execution_id=str(fe.id), file_path=fe.file_path or fe.file_name,
                         execution_id=str(execution.id), output=output, now=utcnow())
    return None


__all__ = ["ConnectorError", "candidates", "ordered", "read_source", "write_destination"]
