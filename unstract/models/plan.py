"""The run plan as typed values; to_json/from_json are the only code that knows its stored JSON shape.

An execution's plan grows in steps: the API call stores the staged uploads (API sources only), the
listing job adds the snapshot of both endpoints and the tool chain, then the batch size; a step action
sets run_to_end. Absent parts stay absent in the JSON (None here), so stored rows keep their shape.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

BATCH_SIZE_KEY = "batch_size"  # also read in SQL by the reaper, which derives job ids from it


@dataclass(frozen=True)
class ConnectorSnapshot:
    """The connector of an endpoint as it was when the run started; secrets in it stay sealed."""

    id: str
    connector_id: str
    metadata: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "connector_id": self.connector_id, "metadata": self.metadata}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ConnectorSnapshot | None:
        if data is None:
            return None
        return cls(str(data["id"]), data["connector_id"], data.get("metadata") or {})


@dataclass(frozen=True)
class EndpointSnapshot:
    """A source or destination: its connection type, configuration and connector."""

    connection_type: str = ""
    configuration: dict[str, Any] | None = None
    connector: ConnectorSnapshot | None = None

    @property
    def settings(self) -> dict[str, Any]:
        """The configuration, {} when there is none."""
        return self.configuration or {}

    def to_json(self) -> dict[str, Any]:
        connector = None if self.connector is None else self.connector.to_json()
        return {"connection_type": self.connection_type, "configuration": self.configuration,
                "connector": connector}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> EndpointSnapshot | None:
        if data is None:
            return None
        return cls(data.get("connection_type") or "", data.get("configuration"),
                   ConnectorSnapshot.from_json(data.get("connector")))


@dataclass(frozen=True)
class ToolStep:
    """One step of the tool chain: the tool and its settings."""

    tool_id: str
    metadata: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"tool_id": self.tool_id, "metadata": self.metadata}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ToolStep:
        return cls(data["tool_id"], data.get("metadata") or {})


@dataclass(frozen=True)
class PlannedUpload:
    """A file sent with the execute call, staged on disk until its file execution reads it."""

    name: str
    staged_path: str
    sha256: str
    size: int
    mime_type: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "staged_path": self.staged_path, "sha256": self.sha256,
                "size": self.size, "mime_type": self.mime_type}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlannedUpload:
        return cls(data["name"], data["staged_path"], data["sha256"], data["size"], data["mime_type"])


@dataclass(frozen=True)
class RetryFile:
    """A file a retry lists again at its path (FILESYSTEM sources), with what it was when it failed."""

    path: str
    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RetryFile:
        return cls(data["path"], data["sha256"], data["size"])


@dataclass(frozen=True)
class ListingCap:
    """The source's `maxFiles` stopped the listing: `left` matching files (at most; history may skip some
    of them) were not selected and wait for a later run."""

    max_files: int
    left: int

    def to_json(self) -> dict[str, Any]:
        return {"max_files": self.max_files, "left": self.left}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ListingCap | None:
        return None if data is None else cls(int(data["max_files"]), int(data["left"]))


@dataclass(frozen=True)
class ExecutionPlan:
    """What one run does, frozen when it starts: endpoints, tools, uploads and fan-out settings."""

    source: EndpointSnapshot | None = None
    destination: EndpointSnapshot | None = None
    tools: tuple[ToolStep, ...] | None = None  # None until the listing job takes the snapshot
    uploads: tuple[PlannedUpload, ...] | None = None
    duplicates: tuple[tuple[str, str], ...] | None = None  # (dropped upload, the upload it repeats)
    batch_size: int | None = None
    run_to_end: bool | None = None
    # A retry (docs/EXECUTION.md, Retrying failed files): history neither skips nor reuses its files;
    # a FILESYSTEM retry lists exactly `retry_files`, an API retry runs its `uploads`.
    retry: bool | None = None
    retry_files: tuple[RetryFile, ...] | None = None
    capped: ListingCap | None = None  # set by the listing when maxFiles left files for later runs

    @property
    def has_snapshot(self) -> bool:
        """True once the endpoints and tools of the workflow are frozen in the plan."""
        return self.tools is not None

    @property
    def tool_ids(self) -> list[str]:
        """The tool chain's tool ids in step order ([] before the snapshot)."""
        return [tool.tool_id for tool in self.tools or ()]

    @property
    def destination_type(self) -> str | None:
        """The destination's connection type, None before the snapshot."""
        return None if self.destination is None else self.destination.connection_type

    def tool(self, step: int) -> ToolStep:
        """The tool of a 1-based step."""
        return self.tools[step - 1]

    def with_snapshot(self, snapshot: ExecutionPlan) -> ExecutionPlan:
        """This plan with the endpoints and tools of another (a freshly built one)."""
        return replace(self, source=snapshot.source, destination=snapshot.destination, tools=snapshot.tools)

    def to_json(self) -> dict[str, Any]:
        """The stored form: only the parts the plan has."""
        parts = {
            "source": None if self.source is None else self.source.to_json(),
            "destination": None if self.destination is None else self.destination.to_json(),
            "tools": None if self.tools is None else [tool.to_json() for tool in self.tools],
            "uploads": None if self.uploads is None else [upload.to_json() for upload in self.uploads],
            "duplicates": None if self.duplicates is None else [list(pair) for pair in self.duplicates],
            BATCH_SIZE_KEY: self.batch_size,
            "run_to_end": self.run_to_end,
            "retry": self.retry,
            "retry_files": None if self.retry_files is None else [item.to_json() for item in self.retry_files],
            "capped": None if self.capped is None else self.capped.to_json(),
        }
        return {key: value for key, value in parts.items() if value is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ExecutionPlan:
        """Read a stored plan (None, the column's value before anything is stored, is the empty plan)."""
        data = data or {}
        tools, uploads, duplicates = data.get("tools"), data.get("uploads"), data.get("duplicates")
        retry_files = data.get("retry_files")
        return cls(
            source=EndpointSnapshot.from_json(data.get("source")),
            destination=EndpointSnapshot.from_json(data.get("destination")),
            tools=None if tools is None else tuple(ToolStep.from_json(tool) for tool in tools),
            uploads=None if uploads is None else tuple(PlannedUpload.from_json(item) for item in uploads),
            duplicates=None if duplicates is None else tuple((str(a), str(b)) for a, b in duplicates),
            batch_size=data.get(BATCH_SIZE_KEY),
            run_to_end=data.get("run_to_end"),
            retry=data.get("retry"),
            retry_files=None if retry_files is None else tuple(RetryFile.from_json(item) for item in retry_files),
            capped=ListingCap.from_json(data.get("capped")),
        )
