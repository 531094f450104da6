"""LLM connections: the adapter's configuration and the client that calls an OpenAI-compatible service."""
