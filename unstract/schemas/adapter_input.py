"""Input of the adapter resource, shared by the API and the dashboard: create, update, list ordering."""

from __future__ import annotations

from unstract.schemas.fields import BaseSchema, ConfigJSON, Text, max_length, one_of, ordering_field
from unstract.services import adapters


class AdapterCreateSchema(BaseSchema):
    """Body of POST adapter/, fields in their documented order."""

    name = Text(required=True, trim=True, allow_blank=False, validate=max_length(128))
    adapter_type = Text(validate=one_of(adapters.ADAPTER_TYPES), metadata={"default": "llm"})
    provider = Text(validate=one_of(adapters.PROVIDERS), metadata={"default": "openai"})
    config = ConfigJSON(required=True, object_only=True,
                        metadata={"description": "base_url, api_key (write-only), model, timeout_seconds, "
                                                 "max_retries, max_concurrency, input/output_cost_per_million, "
                                                 "supports_json_schema."})


class AdapterUpdateSchema(BaseSchema):
    """Body of PATCH adapter/{id}/: any subset; an absent config.api_key keeps the stored key."""

    name = Text(trim=True, allow_blank=False, validate=max_length(128))
    adapter_type = Text(validate=one_of(adapters.ADAPTER_TYPES))
    provider = Text(validate=one_of(adapters.PROVIDERS))
    config = ConfigJSON(object_only=True)


class AdapterQueryArgsSchema(BaseSchema):
    ordering = ordering_field(adapters.ORDERING, adapters.DEFAULT_ORDERING)
