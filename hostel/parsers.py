"""The API's JSON parser and renderer: a size cap read before parsing, and a depth limit while
parsing; orjson both ways.

DRF's own parser hands the whole body to the standard library, which recurses once per
nesting level (a body of 100,000 "[" was a RecursionError, a 500) and builds whatever it is
sent before anyone has looked at it (a 14 MB body cost an anonymous caller ~98 MB of a
worker's memory on /api/token). Here at most ``max_bytes`` are read, and orjson refuses
nesting deeper than 1024 levels without recursing in Python.
"""

from typing import Any

import orjson
from rest_framework import exceptions, parsers, renderers, status


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request body is too large."


class JSONParser(parsers.BaseParser):
    """JSON bodies of at most ``max_bytes``: enough for any request without a file."""

    media_type = "application/json"
    max_bytes = 64 * 1024

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read(self.max_bytes + 1)
        if len(raw) > self.max_bytes:
            raise RequestTooLarge(
                f"The JSON body is larger than {self.max_bytes // 1024} KB; nothing was read."
            )
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise exceptions.ParseError(f"The request is not valid JSON: {exc}.") from None


class UploadJSONParser(JSONParser):
    """JSON that may carry a photo or recording as a data URL (10 MB, base64: ~13.4 MB)."""

    max_bytes = 15 * 1024 * 1024


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer on orjson: the same compact UTF-8 JSON for the API's data,
    rendered about ten times faster (a 47,000-resident occupancy list: 67 ms -> 5 ms).
    Types orjson does not know (Decimal, lazy translations) go to DRF's encoder; what it
    cannot render at all, and indented output (``Accept: application/json; indent=2``),
    DRF's renderer does, as before."""

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is None:
            try:
                return orjson.dumps(data, default=self.encoder_class().default)
            except orjson.JSONEncodeError:
                pass  # what orjson refuses (integers past 64 bits, keys that are not text)
        return super().render(data, accepted_media_type, renderer_context)
