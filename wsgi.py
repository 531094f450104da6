"""WSGI entry point for gunicorn and `flask --app wsgi`."""

from unstract.app import create_app

app = create_app()
