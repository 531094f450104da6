"""Use cases shared by the API, the dashboard, the CLI and the worker; each owns its transaction."""
