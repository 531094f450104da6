"""The LLM test server for these tests (tests/llm_server.py)."""

from tests.llm_server import llm_server, llm_server_process  # noqa: F401 - fixtures
