"""Input of the API deployment resource (docs/API.md, API deployments)."""

from __future__ import annotations

from unstract.schemas.fields import BaseSchema, StrictBoolean, Text, UUIDField, max_length, ordering_field
from unstract.services import deployments


class DeploymentWriteSchema(BaseSchema):
    display_name = Text(required=True, trim=True, allow_blank=False, validate=max_length(128))
    api_name = Text(required=True, allow_blank=False, validate=max_length(30))
    description = Text(validate=max_length(490))
    workflow = UUIDField(required=True)
    is_active = StrictBoolean()


class DeploymentQueryArgsSchema(BaseSchema):
    api_name = Text(load_default=None)
    workflow = UUIDField(load_default=None)
    search = Text(load_default=None)
    ordering = ordering_field(deployments.ORDERING, deployments.DEFAULT_ORDERING)


class KeyCreateSchema(BaseSchema):
    description = Text(load_default="", validate=max_length(255))


class KeyChangeSchema(BaseSchema):
    is_active = StrictBoolean(required=True)


class RunFormSchema(BaseSchema):
    """The text parts of a deployment call; files, tags, custom_data and presigned_urls are read apart."""

    timeout = Text(load_default=None)
    include_metadata = StrictBoolean(text=True, load_default=False)
    include_metrics = StrictBoolean(text=True, load_default=False)
    include_extracted_text = StrictBoolean(text=True, load_default=False)
    tags = Text(load_default="")
    llm_profile_id = Text(load_default=None)  # accepted and ignored
    hitl_queue_name = Text(load_default=None)  # accepted and ignored
    hitl_packet_id = Text(load_default=None)  # accepted and ignored


class StatusQuerySchema(BaseSchema):
    execution_id = UUIDField(required=True)
    include_metadata = StrictBoolean(text=True, load_default=False)
    include_metrics = StrictBoolean(text=True, load_default=False)
    include_extracted_text = StrictBoolean(text=True, load_default=False)
