"""JSON responses encoded by orjson: the documents Flask's own provider writes, encoded several times
faster (docs/PERFORMANCE.md, items 20 and 22).

Only responses change; `dumps`/`loads` (templates' `tojson`, request bodies) stay the standard library's.
Differences from the standard library's output are in form only: non-ASCII text is sent as UTF-8 rather
than as \\u escapes, and NaN and infinities as null (the standard library writes them, which is not JSON).
"""

from __future__ import annotations

import orjson
from flask.json.provider import DefaultJSONProvider

# Keys that are not text become text as json.dumps makes them; dates and dataclasses go to `default`,
# which writes them as Flask always has (dates as HTTP dates).
_OPTIONS = (orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
            | orjson.OPT_PASSTHROUGH_DATACLASS)


class ORJSONProvider(DefaultJSONProvider):
    """Flask's provider whose responses orjson writes; the standard library writes what orjson refuses."""

    sort_keys = False

    def response(self, *args, **kwargs):
        if self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)  # indented for a person to read
        document = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(document, default=DefaultJSONProvider.default, option=_OPTIONS)
        except orjson.JSONEncodeError:  # what orjson refuses, e.g. an integer of more than 64 bits
            body = f"{self.dumps(document, separators=(',', ':'))}\n".encode()
        return self._app.response_class(body, mimetype=self.mimetype)

