"""BaseSchema's short dump path gives exactly marshmallow's output, for every schema of the API."""

from __future__ import annotations

import importlib
import pkgutil
import random
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from marshmallow import Schema, fields, post_dump

import unstract.api
from unstract.api.common import page_schema
from unstract.schemas.fields import BaseSchema, Timestamp


def all_schemas() -> list[type[BaseSchema]]:
    for module in pkgutil.walk_packages(unstract.api.__path__, "unstract.api."):
        importlib.import_module(module.name)
    found, stack = [], [BaseSchema]
    while stack:
        for subclass in stack.pop().__subclasses__():
            found.append(subclass)
            stack.append(subclass)
    return sorted(set(found), key=lambda cls: (cls.__module__, cls.__qualname__))


def sample_value(field: fields.Field, rng: random.Random, depth: int):
    """A value of the kind the field dumps, None now and then."""
    if rng.random() < 0.15:
        return None
    if isinstance(field, fields.Nested):
        return sample_object(field.schema, rng, depth + 1) if depth < 3 else None
    if isinstance(field, fields.List):
        return [sample_value(field.inner, rng, depth) for _ in range(rng.randint(0, 3))]
    if isinstance(field, fields.Date):
        return date(2026, 1, 1) + timedelta(days=rng.randint(0, 400))
    if isinstance(field, Timestamp | fields.DateTime):
        zone = timezone(timedelta(hours=rng.choice([-5, 0, 2])))
        return datetime(2026, 1, 1, tzinfo=UTC).astimezone(zone) + timedelta(microseconds=rng.randint(0, 10**12))
    if isinstance(field, fields.UUID):
        return uuid.UUID(int=rng.getrandbits(128))
    if isinstance(field, fields.Boolean):
        return rng.choice([True, False, 0, 1])
    if isinstance(field, fields.Integer):
        return rng.choice([rng.randint(-5, 10**12), True, 7.0])  # a bool or a float dumps as an int
    if isinstance(field, fields.Float):
        return rng.choice([rng.random() * 1000, 3])  # an int dumps as a float
    if isinstance(field, fields.Dict):
        return {"k": rng.randint(0, 9), "nested": {"x": [1, "two"]}}
    if isinstance(field, fields.String):
        return rng.choice(["", "plain", "ünïcode ✓", "<b>&</b>", 42])
    return rng.choice([None, 1, "text", [1, {"a": None}], {"b": 2.5}])


def sample_object(schema: Schema, rng: random.Random, depth: int = 0):
    """A dict or an attribute object holding most of the schema's attributes (some are left out)."""
    values = {name: sample_value(field, rng, depth) for name, field in schema.dump_fields.items()
              if rng.random() > 0.1}
    return values if rng.random() < 0.5 else SimpleNamespace(**values)


def marshmallows_own_dump(schema: Schema, obj, many: bool = False):
    return Schema._serialize(schema, obj, many=many)


def same(dumped, expected) -> bool:
    """Equal with the same types and key order (3 == 3.0 and True == 1 in Python, not in JSON)."""
    return repr(dumped) == repr(expected)


SCHEMAS = all_schemas()


def test_the_api_has_schemas_to_compare():
    names = {cls.__name__ for cls in SCHEMAS}
    assert {"ExecutionSchema", "FileExecutionSchema", "ExecutionLogSchema", "WorkflowSchema"} <= names


@pytest.mark.parametrize("schema_class", SCHEMAS, ids=lambda cls: cls.__name__)
def test_dump_equals_marshmallows_for_every_schema(schema_class):
    rng = random.Random(schema_class.__name__)
    schema = schema_class()
    for _ in range(40):
        obj = sample_object(schema, rng)
        assert same(schema.dump(obj), marshmallows_own_dump(schema, obj))


@pytest.mark.parametrize("schema_class", SCHEMAS, ids=lambda cls: cls.__name__)
def test_a_page_of_items_dumps_as_marshmallow_dumps_it(schema_class):
    rng = random.Random(f"page {schema_class.__name__}")
    page = page_schema(schema_class)()
    items = [sample_object(schema_class(), rng) for _ in range(5)]
    body = {"count": 5, "next": None, "previous": "http://x/?page=1", "results": items}
    expected = marshmallows_own_dump(page, body)
    expected["results"] = [marshmallows_own_dump(schema_class(), item) for item in items]
    assert same(page.dump(body), expected)


class Odd(BaseSchema):
    """Marshmallow features the short path must honour."""

    renamed = fields.String(data_key="shownAs")
    source = fields.Integer(attribute="elsewhere")
    dotted = fields.String(attribute="inner.value")
    defaulted = fields.String(dump_default=lambda: "filled in")
    computed = fields.Function(lambda obj: "from the object")
    secret = fields.String(load_only=True)


class Hooked(BaseSchema):
    name = fields.String()

    @post_dump
    def shout(self, data, **kwargs):
        return {key: value.upper() for key, value in data.items()}


@pytest.mark.parametrize("obj", [
    {"renamed": "a", "elsewhere": 3, "inner": {"value": "deep"}, "secret": "s"},
    SimpleNamespace(renamed="a", elsewhere=3, inner=SimpleNamespace(value="deep"), secret="s"),
    {"renamed": None},
    {"items": "a dict key that is also a dict method"},
])
def test_renamed_defaulted_dotted_computed_and_hidden_fields(obj):
    schema = Odd()
    assert same(schema.dump(obj), marshmallows_own_dump(schema, obj))
    assert "secret" not in schema.dump(obj) and schema.dump(obj)["defaulted"] == "filled in"


def test_hooks_and_only_still_apply():
    assert Hooked().dump({"name": "quiet"}) == {"name": "QUIET"}
    assert Odd(only=("renamed",)).dump({"renamed": "x", "elsewhere": 1}) == {"shownAs": "x"}
    assert Odd(many=True).dump([{"renamed": "x"}]) == [marshmallows_own_dump(Odd(), {"renamed": "x"})]
