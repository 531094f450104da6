"""What every job needs from the app: settings, the secret key, the data dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from unstract.config import Settings


class StopFlag:
    """A flag signal handlers may set: unlike threading.Event it takes no lock, so a handler that
    interrupts the main thread inside the flag's own code cannot deadlock it."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def clear(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set


# Set when this worker process was asked to stop (SIGTERM/SIGINT): a job of many files hands the files
# it has not started back to the queue instead of making the stop wait for all of them.
shutdown_requested = StopFlag()


@dataclass(frozen=True)
class JobContext:
    app: Flask
    settings: Settings
    secret_key: str

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def lease_seconds(self) -> int:
        return self.settings.file_lease_seconds


def job_context() -> JobContext:
    app = current_app._get_current_object()
    return JobContext(app, app.config["UNSTRACT_SETTINGS"], app.config["SECRET_KEY"])
