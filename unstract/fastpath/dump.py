"""Schema dumps without marshmallow's per-field indirections, with marshmallow's own output.

marshmallow dumps each field through `Field.serialize` (accessor, default and `_serialize` calls);
`FastDumpSchema._serialize` reads the value as `utils.get_value` reads it and skips `Field._serialize`
for the value types a field returns unchanged. It relies on marshmallow internals that
tests/test_fastpath.py checks on every upgrade: `Schema._serialize(obj, many=…)` as the dump's
per-object step, `Schema.dump_fields`, `Field._CHECK_ATTRIBUTE`, `Field._serialize(value, attr, obj)`,
`Number._format_num` and `Field.dump_default`.
"""

from __future__ import annotations

from marshmallow import Schema, fields, missing

from unstract.fastpath.wire import WireText

ANY_TYPE = "any"  # unchanged_types of a field whose dump is its value (Raw, and Boolean in marshmallow 4)

# Field dumps that return WireText as it is (registered by passes_wire_text).
_WIRE_TEXT_AS_IS: set = set()

# Field dumps that return None for None (and format every other value).
_NONE_FOR_NONE = frozenset({fields.UUID._serialize, fields.Nested._serialize, fields.List._serialize,
                            fields.Mapping._serialize, fields.DateTime._serialize})


class FastDumpSchema(Schema):
    """A schema whose dumps take the short path of `_serialize`; hooks, `only` and `many` work as ever."""

    def _serialize(self, obj, *, many: bool = False):
        """marshmallow's `Schema._serialize` without its per-field indirections: the value is read as
        `utils.get_value` reads it and formatted by the field's own `_serialize`. Fields that read
        values their own way keep marshmallow's path."""
        if many and obj is not None:
            return [self._serialize(item) for item in obj]
        plan = self.__dict__.get("_dump_plan")
        if plan is None:
            plan = self._dump_plan = dump_plan(self)
        result = {}
        for attr_name, key, field, direct, unchanged in plan:
            if direct:
                value = _value_for_key(obj, field.attribute or attr_name)
                if value is missing:
                    default = field.dump_default
                    value = default() if callable(default) else default
                    if value is missing:
                        continue
                if unchanged is ANY_TYPE or type(value) in unchanged:
                    result[key] = value
                else:
                    result[key] = field._serialize(value, attr_name, obj)
            else:
                value = field.serialize(attr_name, obj, accessor=self.get_attribute)
                if value is not missing:
                    result[key] = value
        return result


def dump_plan(schema: Schema) -> list[tuple]:
    """(attribute name, output key, field, whether the short path reads it exactly as marshmallow would,
    the value types the field dumps as they are)."""
    stock_accessor = type(schema).get_attribute is Schema.get_attribute and schema.dict_class is dict
    plan = []
    for attr_name, field in schema.dump_fields.items():
        direct = (stock_accessor and field._CHECK_ATTRIBUTE and type(field).get_value is fields.Field.get_value
                  and "." not in (field.attribute or attr_name))
        key = field.data_key if field.data_key is not None else attr_name
        plan.append((attr_name, key, field, direct, unchanged_types(field)))
    return plan


def passes_wire_text(field_class: type[fields.Field]) -> type[fields.Field]:
    """Class decorator: this field's `_serialize` returns a WireText (and None) as it is."""
    _WIRE_TEXT_AS_IS.add(field_class._serialize)
    return field_class


def unchanged_types(field: fields.Field):
    """The exact value types that `field._serialize` returns as they are, so the dump can skip the call:
    None for the stock fields (which all return None for it), plus str for String, int for Integer,
    float for Float, WireText for fields registered by passes_wire_text; ANY_TYPE for fields that
    return every value as it is."""
    dump = type(field)._serialize
    if dump is fields.Field._serialize:
        return ANY_TYPE
    if dump is fields.String._serialize:
        return frozenset({type(None), str})
    if (dump is fields.Number._serialize and type(field)._format_num is fields.Number._format_num
            and not field.as_string and field.num_type in (int, float)):
        return frozenset({type(None), field.num_type})
    if dump in _WIRE_TEXT_AS_IS:
        return frozenset({type(None), WireText})
    if dump in _NONE_FOR_NONE:
        return frozenset({type(None)})
    return frozenset()


def _value_for_key(obj, key: str):
    """`marshmallow.utils.get_value(obj, key)` for a key without dots: item first, then attribute."""
    if type(obj) is dict:
        if key in obj:
            return obj[key]
        return getattr(obj, key, missing)
    if not hasattr(obj, "__getitem__"):
        return getattr(obj, key, missing)
    try:
        return obj[key]
    except (KeyError, IndexError, TypeError, AttributeError):
        return getattr(obj, key, missing)
