"""Input of the notification resource (webhooks), shared by the API and the dashboard."""

from __future__ import annotations

from unstract.models import AUTHORIZATION_TYPES, EVENTS, FORMATS
from unstract.schemas.fields import (
    BaseSchema,
    ItemList,
    StrictBoolean,
    StrictInteger,
    Text,
    max_length,
    max_value,
    min_value,
    one_of,
)

MAX_RETRIES = 20
WRITE_ONLY = {"writeOnly": True}


class NotificationCreateSchema(BaseSchema):
    """Body of POST workflow/{id}/notifications/, fields in their documented order."""

    url = Text(required=True, trim=True, allow_blank=False, validate=max_length(2048),
               metadata={"description": "http or https URL on a public address."})
    events = ItemList(Text(validate=one_of(EVENTS)), metadata={"description": "Default: all three events."})
    is_active = StrictBoolean()
    max_retries = StrictInteger(validate=[min_value(0), max_value(MAX_RETRIES)], metadata={"description": "Default 5."})
    format = Text(validate=one_of(FORMATS), metadata={"description": "Default json."})
    secret = Text(allow_blank=False, validate=max_length(255), load_only=True,
                  metadata={**WRITE_ONLY, "description": "Signing secret; generated (and returned once) when absent."})
    authorization_type = Text(validate=one_of(AUTHORIZATION_TYPES), metadata={"description": "Default none."})
    authorization_key = Text(allow_none=True, validate=max_length(1024), load_only=True, metadata=WRITE_ONLY)
    authorization_header = Text(allow_none=True, trim=True, validate=max_length(128))


class NotificationUpdateSchema(NotificationCreateSchema):
    """Body of PATCH workflow/notifications/{id}/: any subset; absent credentials are kept."""

    url = Text(trim=True, allow_blank=False, validate=max_length(2048))


