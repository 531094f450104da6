"""The `unstract` command: Flask's CLI group plus org/user/apikey/serve/worker/reap."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup


def register_cli(app: Flask) -> None:
    """Commands are attached to the app in create_app so `flask --app wsgi` sees them too."""


def _create_app():
    from unstract.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main() -> None:
    """Unstract workflow service."""
