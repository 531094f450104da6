"""What the OpenAPI document says beyond the marshmallow fields (docs/API.md, OpenAPI document).

The settings documents of the connector types and tools are JSON Schema draft-07; here they become OpenAPI
3.0 components (`<Type>ConnectorMetadata`, `<Tool>ToolSettings`), and the connector and tool instance
bodies become `oneOf` their variants, so generated clients and fuzzers see one shape per type.
"""

from __future__ import annotations

import copy
from typing import Any

from marshmallow import Schema

from unstract.connectors import registry as connector_registry
from unstract.schemas.connector_input import ConnectorCreateSchema, ConnectorUpdateSchema
from unstract.schemas.execution_input import status_list_schema
from unstract.schemas.fields import Text
from unstract.tools.registry import TOOLS

# draft-07 keywords OpenAPI 3.0 has no place for; the server still applies `if`/`then`.
_DROPPED_KEYWORDS = ("$schema", "$id", "enumNames", "if", "then", "else", "examples")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
NON_BLANK = r"\S"  # a trimmed text that must not be blank holds at least one non-space character


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def camel(identifier: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in identifier.split("_"))


# --- draft-07 -> OpenAPI 3.0 ---------------------------------------------------------------------

def openapi_schema(schema: Any) -> Any:
    """A draft-07 schema as an OpenAPI 3.0 Schema Object: `const` as a one-value enum, a type list with
    "null" as `nullable`, and the keywords OpenAPI lacks left out."""
    if not isinstance(schema, dict):
        return schema
    out = {key: copy.deepcopy(value) for key, value in schema.items() if key not in _DROPPED_KEYWORDS}
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if isinstance(out.get("type"), list):
        out.update(_type_list(out.pop("type")))
    for key in ("properties", "patternProperties"):
        if isinstance(out.get(key), dict):
            out[key] = {name: openapi_schema(sub) for name, sub in out[key].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(out.get(key), dict):
            out[key] = openapi_schema(out[key])
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [openapi_schema(sub) for sub in out[key]]
    return out


def _type_list(types: list[str]) -> dict[str, Any]:
    nullable = "null" in types
    rest = [kind for kind in types if kind != "null"]
    out: dict[str, Any] = {"type": rest[0]} if len(rest) == 1 else {"anyOf": [{"type": kind} for kind in rest]}
    if nullable:
        out["nullable"] = True
    return out


# --- Components ----------------------------------------------------------------------------------

def connector_metadata_name(connector_id: str) -> str:
    return f"{camel(connector_id)}ConnectorMetadata"


def tool_settings_name(tool_id: str) -> str:
    return f"{camel(tool_id)}ToolSettings"


def _variant(base: str, discriminator: str, value: str, field: str, field_ref: str,
             required: list[str]) -> dict[str, Any]:
    """The base body narrowed to one type: the discriminator fixed to `value`, `field` to its document."""
    narrowed: dict[str, Any] = {"type": "object", "properties": {
        discriminator: {"type": "string", "enum": [value]}, field: ref(field_ref)}}
    if required:
        narrowed["required"] = required
    return {"allOf": [ref(base), narrowed]}


def _without(base: str, field: str) -> dict[str, Any]:
    """The base body without `field` (the variant of a PATCH that leaves the typed document alone)."""
    return {"allOf": [ref(base), {"not": {"required": [field]}}]}


def _typed_bodies(spec, *, base: str, patch_base: str, discriminator: str, field: str,
                  documents: dict[str, tuple[str, dict]]) -> None:
    """`<base>Body` (POST: one variant per type, discriminated) and `<patch_base>Body` (PATCH: the document
    with the type it claims, or no document at all)."""
    create, update, mapping = [], [], {}
    for type_id, (name, document) in sorted(documents.items()):
        variant = f"{base}{camel(type_id)}"
        must = [field] if document.get("required") else []
        spec.components.schema(variant, component=_variant(base, discriminator, type_id, field, name, must))
        create.append(ref(variant))
        mapping[type_id] = ref(variant)["$ref"]
        update.append(_variant(patch_base, discriminator, type_id, field, name, [discriminator, field]))
    spec.components.schema(f"{base}Body", component={
        "oneOf": create, "discriminator": {"propertyName": discriminator, "mapping": mapping}})
    spec.components.schema(f"{patch_base}Body", component={"oneOf": [_without(patch_base, field), *update]})


# --- Rules across fields ---------------------------------------------------------------------------

def at_least_one_filter() -> dict[str, Any]:
    """file-histories/clear/: one filter with a value (docs/EXECUTION.md, File history)."""
    filters = {
        "ids": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "uuid"}},
        "status": status_list_schema(non_empty=True),
        "execution_count_min": {"type": "integer"},
        "execution_count_max": {"type": "integer"},
        "file_path": {"type": "string", "minLength": 1},
    }
    return {"anyOf": [{"required": [name], "properties": {name: schema}} for name, schema in filters.items()]}


def execution_target(*, form: bool) -> dict[str, Any]:
    """workflow/execute/: a new execution (no execution_id; START or no action, files in a form), or an
    action on an existing one (execution_id required: NEXT, STOP, CONTINUE; no files)."""
    if form:
        new = {"not": {"required": ["execution_id"]},
               "properties": {"execution_action": {"type": "string", "enum": ["START"]}}}
        existing = {"required": ["execution_id"], "not": {"required": ["files"]}}
    else:
        new = {"properties": {"execution_id": {"nullable": True, "enum": [None]},
                              "execution_action": {"type": "string", "nullable": True, "enum": ["START", None]}}}
        existing = {"required": ["execution_id"], "properties": {"execution_id": {"type": "string", "format": "uuid"}}}
    return {"oneOf": [new, existing]}


def _ruled(spec, name: str, schema: type[Schema], rule: dict[str, Any]) -> None:
    """`<name>Body`: the schema's component and a rule across its fields."""
    _register_schema(spec, schema)
    spec.components.schema(f"{name}Body", component={"allOf": [ref(name), rule]})


def register_components(spec) -> None:
    """The per-type documents, the typed bodies of connectors and tool instances and the bodies with a rule
    across fields (after Api.init_app)."""
    from unstract.api.common import optional_fields
    from unstract.api.executions.execute_schemas import ExecuteFormSchema, ExecuteSchema
    from unstract.api.tools.schemas import ToolInstanceCreateSchema, ToolInstanceUpdateSchema
    from unstract.schemas.file_history_input import FileHistoryClearSchema

    _ruled(spec, "FileHistoryClear", FileHistoryClearSchema, at_least_one_filter())
    _ruled(spec, "Execute", ExecuteSchema, execution_target(form=False))
    _ruled(spec, "ExecuteForm", ExecuteFormSchema, execution_target(form=True))

    connectors = {}
    for connector in connector_registry.all_types():
        name = connector_metadata_name(connector.connector_id)
        spec.components.schema(name, component=openapi_schema(connector.metadata_schema))
        connectors[connector.connector_id] = (name, connector.metadata_schema)
    tools = {}
    for tool_id, tool in sorted(TOOLS.items()):
        name = tool_settings_name(tool_id)
        spec.components.schema(name, component=openapi_schema(tool.settings_schema))
        tools[tool_id] = (name, tool.settings_schema)
    for schema in (ConnectorCreateSchema, optional_fields(ConnectorUpdateSchema), ToolInstanceCreateSchema,
                   optional_fields(ToolInstanceUpdateSchema)):
        _register_schema(spec, schema)
    _typed_bodies(spec, base="ConnectorCreate", patch_base="ConnectorUpdate", discriminator="connector_id",
                  field="connector_metadata", documents=connectors)
    _typed_bodies(spec, base="ToolInstanceCreate", patch_base="ToolInstanceUpdate", discriminator="tool_id",
                  field="metadata", documents=tools)


def _register_schema(spec, schema: type[Schema]) -> None:
    name = schema.__name__.removesuffix("Schema")
    if name not in spec.components.schemas:
        spec.components.schema(name, schema=schema)


# --- Field attributes (bound to apispec's OpenAPIConverter) -----------------------------------------

def non_blank_text(self, field, **kwargs) -> dict:
    """A Text that refuses blank values declares minLength 1, and when trimmed first also a non-space."""
    if not isinstance(field, Text) or field.allow_blank:
        return {}
    return {"minLength": 1, "pattern": NON_BLANK} if field.trim else {"minLength": 1}


def query_style(self, field, **kwargs) -> dict:
    """`style`/`explode` from the field's metadata: comma-separated lists (fields.comma_separated)."""
    return {key: field.metadata[key] for key in ("style", "explode") if key in field.metadata}


def register_field_attributes(converter) -> None:
    converter.add_attribute_function(non_blank_text)
    converter.add_parameter_attribute_function(query_style)
