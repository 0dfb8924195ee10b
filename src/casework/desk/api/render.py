"""JSON responses through orjson: several times faster than json.dumps on ticket pages, and it writes Chinese
subjects as UTF-8 instead of \\u escapes."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest
from ninja.renderers import BaseRenderer


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
