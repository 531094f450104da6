"""Request parsing, error mapping, ordering and pagination shared by every API resource."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from urllib.parse import urlencode

from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import Select

from unstract import errors
from unstract.errors import FieldMessage
from unstract.hosts import absolute_url
from unstract.http_errors import request_too_large
from unstract.pager import has_next, page_exists
from unstract.paging import count_rows, page_rows
from unstract.schemas.fields import BaseSchema
from unstract.schemas.parsing import PageArgsSchema, load_schema, page_args, parse, text_problems

JSON_TYPES = ("application/json",)
MAX_ROWS = 2**62  # more rows than any table holds: a page past it is invalid without asking the database


# --- Bodies ---------------------------------------------------------------------------------

def require_json_content_type() -> None:
    """415 for a body of another type; a missing body counts as {} whatever its type."""
    if not request.get_data(cache=True):
        return
    if request.mimetype not in JSON_TYPES:
        raise unsupported_media_type(request.content_type or "")


def unsupported_media_type(content_type: str) -> errors.DomainError:
    error = errors.DomainError(f'Unsupported media type "{content_type}" in request.',
                               code="unsupported_media_type")
    error.status = 415
    return error


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _parse_json(raw: bytes):
    """Strict JSON: no NaN/Infinity, and nesting too deep for the parser is a parse error too."""
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise errors.ValidationFailed("JSON parse error.", code="parse_error") from None


def _raise_text_problems(value) -> None:
    problems = text_problems(value)
    if problems:
        raise errors.ValidationFailed.of(problems)


def _read_body() -> bytes:
    """The raw body; a chunked body (no Content-Length) that reaches the limit is 413, not truncated."""
    raw = request.get_data(cache=True)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and limit is not None and len(raw) >= limit:
        raise request_too_large(limit)
    return raw


def json_object() -> dict:
    """The request body as a JSON object; 400 parse_error / invalid otherwise."""
    require_json_content_type()
    raw = _read_body()
    if not raw:
        return {}
    data = _parse_json(raw)
    if not isinstance(data, dict):
        raise errors.ValidationFailed("Expected a JSON object.", code="invalid")
    _raise_text_problems(data)
    return data


def load_body(schema: Schema, *, partial: bool = False) -> dict:
    return load_schema(schema, json_object(), partial=partial)


def parse_body(schema: Schema, *, partial: bool = False) -> tuple[dict, list[FieldMessage]]:
    """The valid part of the body and the parse errors, for services that add their own rules."""
    return parse(schema, json_object(), partial=partial)


def load_query(schema: Schema) -> dict:
    """Query parameters (first value of each) through `schema`; unknown ones are ignored."""
    args = request.args.to_dict(flat=True)
    _raise_text_problems(args)
    return load_schema(schema, args)


# --- Ordering ---------------------------------------------------------------------------------

def apply_ordering(query: Select, raw: str | None, allowed: Mapping, default: str, pk) -> Select:
    """ORDER BY the requested fields (400 for unknown ones), then the primary key (docs/API.md, Ordering)."""
    terms = []
    for item in [part.strip() for part in (raw or default).split(",") if part.strip()] or [default]:
        name = item.lstrip("-")
        if name not in allowed:
            raise errors.field_error("ordering", "invalid", f"Unknown ordering field: {name}.")
        column = allowed[name]
        terms.append(column.desc() if item.startswith("-") else column.asc())
    return query.order_by(*terms, pk.asc())


# --- Pagination (docs/API.md, Pagination) ---------------------------------------------------------

def _page_args() -> tuple[int, int]:
    args = request.args.to_dict(flat=True)
    _raise_text_problems(args)
    return page_args(args)


def page_url(page: int) -> str:
    """The current absolute URL with `page` replaced in place, or appended when absent."""
    pairs = list(request.args.items(multi=True))
    if any(key == "page" for key, _ in pairs):
        pairs = [(key, str(page) if key == "page" else value) for key, value in pairs]
    else:
        pairs.append(("page", str(page)))
    return f"{absolute_url(request.path)}?{urlencode(pairs)}"


def invalid_page() -> errors.NotFound:
    return errors.NotFound("Invalid page.", code="invalid_page")


def envelope(page: int, size: int, count: int, items: list) -> dict:
    return {"count": count, "next": page_url(page + 1) if has_next(page, count, size) else None,
            "previous": page_url(page - 1) if page > 1 else None, "results": items}


def paginate(query: Select, present: Callable | None = None, *, count: int | None = None,
             scalars: bool = True, columns: tuple | None = None,
             present_rows: Callable[[list], list] | None = None) -> dict:
    """One page of `query` in the contract's envelope; 404 invalid_page past the last page. A page shorter
    than page_size is the last, so its offset plus its rows is the count: no count query is needed.
    `present` turns each row into its representation; `present_rows` the whole page at once. `columns`
    reads only these attributes of the entity (and labelled expressions), as plain rows
    (paging.page_rows), for presenters that read nothing else."""
    page, size = _page_args()
    offset = (page - 1) * size
    if not page_exists(page, MAX_ROWS if count is None else count, size):
        raise invalid_page()
    rows = page_rows(query, offset, size, scalars=scalars, columns=columns)
    if count is None:
        if page > 1 and not rows:
            raise invalid_page()
        count = offset + len(rows) if len(rows) < size else count_rows(query)
    if present_rows is not None:
        return envelope(page, size, count, present_rows(rows))
    return envelope(page, size, count, [present(row) for row in rows] if present else rows)


def paginate_list(items: list, present: Callable | None = None) -> dict:
    """`paginate` for an in-memory list already in its final order."""
    page, size = _page_args()
    if not page_exists(page, len(items), size):
        raise invalid_page()
    rows = items[(page - 1) * size:page * size]
    return envelope(page, size, len(items), [present(row) for row in rows] if present else rows)


_page_schemas: dict[type, type] = {}


def page_schema(item_schema: type[Schema]) -> type[Schema]:
    """A `{count, next, previous, results: [item]}` schema class for one item schema."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _page_schemas[item_schema] = BaseSchema.from_dict(
            {
                "count": fields.Integer(required=True),
                "next": fields.String(allow_none=True),
                "previous": fields.String(allow_none=True),
                "results": fields.List(fields.Nested(item_schema)),
            },
            name=name,
        )
    return _page_schemas[item_schema]


# --- Documentation helpers ---------------------------------------------------------------------

def documented(blp: Blueprint, *, body: type[Schema] | str | None = None, query: type[Schema] | None = None,
               paginated: bool = False, form: type[Schema] | str | None = None):
    """Describe the request for OpenAPI while the view parses it itself, after lookups (docs/API.md, Order of checks).

    `body` is a schema class or the name of a component (api/openapi.py); `form` the multipart fields.
    A `patch` view reads any subset of the body, so its body is documented with no required field and
    may be left out; another view's body is required when it has a required field (an absent body is {}).
    """
    def decorate(func):
        doc: dict = {}
        parameters = []
        if query is not None:
            parameters.append({"in": "query", "schema": query})
        if paginated:
            parameters.append({"in": "query", "schema": PageArgsSchema})
        if parameters:
            doc["parameters"] = parameters
        if body is not None:
            patch = func.__name__ == "patch"
            content = {"application/json": {"schema": _body_schema(body, patch)}}
            if form is not None:
                content["multipart/form-data"] = {"schema": _body_schema(form, patch)}
            doc["requestBody"] = {"required": not patch and _has_required(body), "content": content}
        return blp.doc(**doc)(func)
    return decorate


def _body_schema(body: type[Schema] | str, patch: bool):
    if isinstance(body, str):
        return {"$ref": f"#/components/schemas/{body}"}
    return optional_fields(body) if patch else body


def _has_required(body: type[Schema] | str) -> bool:
    """A component body (api/openapi.py: typed variants, or a rule across fields) always requires something."""
    return isinstance(body, str) or any(field.required for field in body._declared_fields.values())


_optional_schemas: dict[type, type] = {}


def optional_fields(schema: type[Schema]) -> type[Schema]:
    """`schema` itself when no field is required, else a `<Name>PatchSchema` copy with none required."""
    required = [name for name, field in schema._declared_fields.items() if field.required]
    if not required:
        return schema
    if schema not in _optional_schemas:
        declared = {name: copy.copy(field) for name, field in schema._declared_fields.items()}
        for name in required:
            declared[name].required = False
        name = schema.__name__.removesuffix("Schema") + "PatchSchema"
        _optional_schemas[schema] = BaseSchema.from_dict(declared, name=name)
    return _optional_schemas[schema]
