"""Input of the file history endpoints, shared by the API and the dashboard: list filters and bulk clear."""

from __future__ import annotations

from marshmallow import ValidationError, post_load, pre_load

from unstract.errors import FieldMessage
from unstract.querying import like_prefix
from unstract.schemas.execution_input import StatusList, status_list_schema, status_query
from unstract.schemas.fields import (
    BaseSchema,
    ItemList,
    StrictBoolean,
    StrictInteger,
    Text,
    UUIDField,
    min_value,
    ordering_field,
)
from unstract.services.file_history import HISTORY_ORDERING, HistoryFilter

MAX_IDS = 100
FILTER_FIELDS = ("status", "execution_count_min", "execution_count_max", "file_path")


def path_pattern(prefix: str | None) -> str | None:
    """The LIKE pattern of a case-insensitive path prefix; empty or absent means no filter."""
    return like_prefix(prefix.lower()) if prefix else None


def count_bound(**kwargs) -> StrictInteger:
    """An optional inclusive bound on execution_count: an integer >= 0."""
    return StrictInteger(load_default=None, allow_none=True, validate=min_value(0), **kwargs)


class IdList(ItemList):
    """At most MAX_IDS UUIDs; a longer list is refused before its items are looked at."""

    def __init__(self, **kwargs):
        super().__init__(UUIDField(), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list) and len(value) > MAX_IDS:
            detail = f"Cannot delete more than {MAX_IDS} items at once. Received {len(value)} IDs."
            raise ValidationError([FieldMessage("max_length", detail, attr)])
        return super()._deserialize(value, attr, data, **kwargs)


class FileHistoryQueryArgsSchema(BaseSchema):
    status = status_query()
    execution_count_min = count_bound(metadata={"description": "Inclusive lower bound."})
    execution_count_max = count_bound(metadata={"description": "Inclusive upper bound."})
    file_path = Text(load_default=None, metadata={"description": "Case-insensitive prefix."})
    ordering = ordering_field(HISTORY_ORDERING, "-created_at")

    @post_load
    def to_filter(self, data, **kwargs) -> dict:
        return {"ordering": data["ordering"], "filter": HistoryFilter(
            statuses=data["status"], count_min=data["execution_count_min"],
            count_max=data["execution_count_max"], path_pattern=path_pattern(data["file_path"]))}


class FileHistoryClearSchema(BaseSchema):
    ids = IdList(load_default=None, allow_none=True, metadata={
        "maxItems": MAX_IDS, "description": "When non-empty, only these rows; other filters are ignored."})
    status = StatusList(load_default=None, allow_none=True, allow_list=True, metadata={
        **status_list_schema(), "description": "A list of statuses or one comma-separated string."})
    execution_count_min = count_bound()
    execution_count_max = count_bound()
    file_path = Text(load_default=None, allow_none=True, metadata={"description": "Case-insensitive prefix."})
    dry_run = StrictBoolean(load_default=False, metadata={"description": "Count only; delete nothing."})

    @pre_load
    def ids_replace_filters(self, data, **kwargs):
        """A non-empty `ids` list makes the other filters irrelevant: they are not even validated."""
        if isinstance(data.get("ids"), list) and data["ids"]:
            return {key: value for key, value in data.items() if key not in FILTER_FIELDS}
        return data

    @post_load
    def to_filter(self, data, **kwargs) -> dict:
        return {"dry_run": data["dry_run"], "filter": HistoryFilter(
            ids=tuple(data["ids"] or ()), statuses=data["status"] or (),
            count_min=data["execution_count_min"], count_max=data["execution_count_max"],
            path_pattern=path_pattern(data["file_path"]))}
