"""The fence around the speed-ups (unstract.fastpath): every assumption they make about marshmallow,
SQLAlchemy, Flask and orjson, checked, so a library upgrade that breaks one fails here by name instead of
changing a response quietly. tests/api/test_schema_dump.py, tests/api/test_list_rows.py,
tests/test_json_responses.py and tests/test_sessions.py check the outputs end to end."""

from __future__ import annotations

import ast
import enum
import inspect
import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
from flask.json.provider import DefaultJSONProvider
from flask_sqlalchemy.session import Session
from marshmallow import Schema, fields, missing
from sqlalchemy import column, select, table
from sqlalchemy.dialects import postgresql, sqlite

import unstract
import unstract.schemas.fields as api_fields
from unstract.extensions import db
from unstract.fastpath import (
    FastDumpSchema,
    WireText,
    ordering_of,
    start_writing,
    wire_column,
    wire_timestamp,
)
from unstract.fastpath.dump import ANY_TYPE, unchanged_types
from unstract.fastpath.sessions import READ_ONLY, autocommit_view
from unstract.models import Execution, ExecutionLog
from unstract.schemas import representations

SOURCE = Path(unstract.__file__).parent

# --- marshmallow: the dump plan -------------------------------------------------------------------


def test_marshmallow_dumps_each_object_through_schema_serialize():
    """FastDumpSchema replaces this one step; if `dump` stopped calling it, the fast path would be dead code."""
    calls = []

    class Counting(Schema):
        name = fields.String()

        def _serialize(self, obj, *, many=False):
            calls.append(many)
            return super()._serialize(obj, many=many)

    assert Counting().dump({"name": "x"}) == {"name": "x"} and calls == [False]
    assert list(inspect.signature(Schema._serialize).parameters) == ["self", "obj", "many"]


def test_the_field_internals_the_plan_reads_exist():
    field = fields.String(attribute="elsewhere", data_key="shown")
    assert field._CHECK_ATTRIBUTE is True and fields.Function(lambda o: 1)._CHECK_ATTRIBUTE is False
    assert field.dump_default is missing and callable(fields.Field.get_value)
    assert list(inspect.signature(fields.Field._serialize).parameters)[:4] == ["self", "value", "attr", "obj"]
    assert callable(fields.Number._format_num) and fields.Integer().num_type is int
    assert "elsewhere" == field.attribute and "shown" == field.data_key
    assert isinstance(Schema.from_dict({"a": fields.String()})().dump_fields, dict)


def stock_field_classes() -> list[type[fields.Field]]:
    found = {obj for module in (fields, api_fields) for obj in vars(module).values()
             if isinstance(obj, type) and issubclass(obj, fields.Field)}
    return sorted(found, key=lambda cls: (cls.__module__, cls.__name__))


SAMPLES = {type(None): [None], str: ["", "text", "ünï"], int: [0, -3, 10**15], float: [0.0, 2.5, -1e300],
           WireText: [WireText("2026-01-01T00:00:00.000000Z"), WireText(str(uuid.UUID(int=5)))]}


class Colour(enum.Enum):
    RED = "red"


def buildable(cls: type[fields.Field]) -> fields.Field | None:
    """The field built with the arguments its kind needs, None when none of these fit."""
    needs = {fields.Nested: (Schema,), fields.Pluck: (Schema, "name"), fields.Enum: (Colour,),
             fields.Tuple: ((fields.String(),),), fields.List: (fields.String(),)}
    args = next((value for kind, value in needs.items() if issubclass(cls, kind)), ())
    try:
        return cls(*args)
    except TypeError:
        return None


# Abstract or argument-heavy classes (Number, Mapping, Constant, Pluck, _TemporalField) are left out: their
# concrete subclasses, which the schemas use, are all here.
@pytest.mark.parametrize("field_class", [cls for cls in stock_field_classes() if buildable(cls) is not None],
                         ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_a_field_returns_the_types_the_plan_skips_as_they_are(field_class):
    """The dump skips `_serialize` for the value types `unchanged_types` names: it must return them as they are."""
    field = buildable(field_class)
    kinds = unchanged_types(field)
    if kinds is ANY_TYPE:
        values = [None, "x", 3, 2.5, [1], {"a": 1}, WireText("t")]
    else:
        values = [value for kind in kinds for value in SAMPLES[kind]]
    for value in values:
        dumped = field._serialize(value, "attr", {"attr": value})
        assert dumped is value or (type(dumped) is type(value) and dumped == value), (field_class, value, dumped)


def test_the_fast_dump_equals_marshmallows_on_each_representation_with_wire_values():
    wire_id, moment = WireText(str(uuid.UUID(int=9))), WireText("2026-02-03T04:05:06.000007Z")
    row = {"id": wire_id, "workflow_id": wire_id, "execution_id": wire_id, "file_execution_id": None,
           "created_at": moment, "modified_at": moment, "event_time": moment, "status": "ERROR", "step": 2,
           "execution_count": 3, "metadata_": {}, "data": {"a": [1, None]}, "attempts": 1}
    for schema_class in (representations.ExecutionSchema, representations.FileExecutionSchema,
                         representations.ExecutionLogSchema, representations.FileHistorySchema,
                         representations.WorkflowToolInstanceSchema, representations.WorkflowSchema):
        schema = schema_class()
        item = {**row, "id": 7} if schema_class is representations.ExecutionLogSchema else row
        assert isinstance(schema, FastDumpSchema)
        assert repr(schema.dump(item)) == repr(Schema._serialize(schema, item)), schema_class.__name__


# --- SQLAlchemy: wire types and the private ORDER BY ----------------------------------------------


def compiled(statement, dialect) -> str:
    return str(statement.compile(dialect=dialect))


def test_wire_columns_are_cast_in_the_select_on_postgresql_and_read_as_stored_on_sqlite_json_as_the_model():
    statement = select(*(wire_column(attribute) for attribute in
                         (Execution.id, Execution.created_at, ExecutionLog.data)))
    on_postgres = compiled(statement, postgresql.dialect())
    assert "CAST(execution.id AS VARCHAR)" in on_postgres and "to_char(execution.created_at AT TIME ZONE 'UTC'" \
        in on_postgres and "execution_log.data AS data" in on_postgres
    on_sqlite = compiled(statement, sqlite.dialect())
    assert "execution.created_at AS created_at" in on_sqlite and "to_char" not in on_sqlite


def test_wire_result_processors_give_the_apis_text(app):
    with app.app_context():
        dialect = db.engine.dialect
        processors = {attribute.key: wire_column(attribute).type.result_processor(dialect, None)
                      for attribute in (Execution.id, Execution.created_at)}
    value = uuid.UUID(int=2**100 + 7)
    stored_id = value.hex if dialect.name == "sqlite" else str(value)
    stored_time = "2026-01-02 03:04:05.000006" if dialect.name == "sqlite" else "2026-01-02T03:04:05.000006Z"
    assert processors["id"](stored_id) == str(value) and type(processors["id"](stored_id)) is WireText
    assert processors["created_at"](stored_time) == wire_timestamp(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC))


def test_ordering_of_reads_the_selects_order_by():
    t = table("t", column("a"), column("b"))
    query = select(t).order_by(t.c.a.desc(), t.c.b)
    assert [str(clause) for clause in ordering_of(query)] == ["t.a DESC", "t.b"]
    assert ordering_of(select(t)) == ()


# --- Flask and orjson: responses ------------------------------------------------------------------


def test_the_orjson_response_equals_the_standard_librarys_encoding(app):
    """Same document as Flask's own provider writes it."""
    document = {"id": uuid.UUID(int=3), "day": date(2026, 1, 2), 5: [1.5, None, True, "ünï"],
                "nested": {"deep": [{"x": [1, {"y": None}]}, []]}, "nan": float("nan")}
    with app.app_context():
        fast = app.json.response(document).get_data()
        stock = DefaultJSONProvider.response(app.json, document).get_data()
    assert json.loads(fast) == json.loads(stock.replace(b"NaN", b"null"))  # the only differences: NaN, escapes
    assert fast.endswith(b"}\n") and stock.endswith(b"}\n")


def test_the_flask_and_orjson_internals_the_provider_uses_exist(app):
    assert callable(app.json._prepare_response_obj) and app.json._app.name == app.name
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps(2**70)  # the fallback to the standard library depends on this


# --- SQLAlchemy and Flask-SQLAlchemy: read-only requests ------------------------------------------


def test_the_autocommit_view_hands_out_connections_without_a_transaction(app):
    """What tests/test_sessions.py sees per request, from the engine's side."""
    with app.app_context():
        view = autocommit_view(db.engine)
        assert view is autocommit_view(db.engine) and view.pool is db.engine.pool
        with view.connect() as connection:
            driver = connection.connection.dbapi_connection
            assert driver.autocommit if hasattr(driver, "pgconn") else driver.isolation_level is None


def test_the_request_session_reads_through_the_view_while_read_only(app):
    assert list(inspect.signature(Session.get_bind).parameters)[:4] == ["self", "mapper", "clause", "bind"]
    with app.test_request_context("/", method="GET"):
        session = db.session()
        session.info[READ_ONLY] = True
        try:
            assert session.get_bind() is autocommit_view(db.engine)
            start_writing(session)
            assert session.get_bind() is db.engine
        finally:
            session.info.pop(READ_ONLY, None)
            db.session.remove()


# --- The fence itself ---------------------------------------------------------------------------


def imports_and_attributes(path: Path) -> tuple[set[str], set[str]]:
    tree = ast.parse(path.read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    return modules, attributes


FENCED_ATTRIBUTES = {"_order_by_clauses", "_CHECK_ATTRIBUTE", "_serialize", "_prepare_response_obj"}


def test_nothing_outside_the_fence_reaches_into_what_it_fences():
    """Outside unstract/fastpath: the interface only (`from unstract.fastpath import …`), no orjson, none of
    the private attributes the speed-ups rely on (a field's own `_serialize` calls its parent's: allowed)."""
    offenders = []
    for path in sorted(SOURCE.rglob("*.py")):
        if "fastpath" in path.parts:
            continue
        modules, attributes = imports_and_attributes(path)
        inside = {m for m in modules if m.startswith("unstract.fastpath.") or m in ("orjson", "unstract.models.wire")}
        reached = (attributes & FENCED_ATTRIBUTES) - ({"_serialize"} if path.name == "fields.py" else set())
        if inside or reached:
            offenders.append((str(path.relative_to(SOURCE)), sorted(inside | reached)))
    assert offenders == []
