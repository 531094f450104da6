"""Marshmallow field types and schemas shared by the JSON API and the dashboard (imports neither)."""
