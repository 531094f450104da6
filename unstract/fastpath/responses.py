"""JSON responses encoded by orjson: the documents Flask's own provider writes, and JSON read as stored
text (fastpath.wire.StoredJSON) embedded as it is (an `orjson.Fragment`) instead of parsed and encoded again.
What it buys: docs/PERFORMANCE.md, items 20 and 23.

Only responses change; `dumps`/`loads` (templates' `tojson`, request bodies) stay the standard library's.
Differences from the standard library's output are in form only: non-ASCII text is sent as UTF-8 rather
than as \\u escapes, and NaN and infinities as null (the standard library writes them, which is not JSON).
"""

from __future__ import annotations

import json

import orjson
from flask.json.provider import DefaultJSONProvider

from unstract.fastpath.wire import StoredJSON

# Keys that are not text become text as json.dumps makes them; dates and dataclasses go to `default`,
# which writes them as Flask always has (dates as HTTP dates).
_OPTIONS = (orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
            | orjson.OPT_PASSTHROUGH_DATACLASS)


class ORJSONProvider(DefaultJSONProvider):
    sort_keys = False

    @staticmethod
    def default(o):
        """For the standard library's path (`dumps`, and responses orjson refuses)."""
        if type(o) is StoredJSON:
            return json.loads(o.text)
        return DefaultJSONProvider.default(o)

    def response(self, *args, **kwargs):
        if self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)  # indented for a person to read
        document = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(document, default=_orjson_default, option=_OPTIONS)
        except orjson.JSONEncodeError:  # what orjson refuses, e.g. an integer of more than 64 bits
            body = f"{self.dumps(document, separators=(',', ':'))}\n".encode()
        return self._app.response_class(body, mimetype=self.mimetype)


def _orjson_default(o):
    if type(o) is StoredJSON:
        return orjson.Fragment(o.text)
    return DefaultJSONProvider.default(o)
