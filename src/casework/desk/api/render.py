"""JSON responses through orjson: several times faster than json.dumps on ticket pages, and it writes Chinese
subjects as UTF-8 instead of \\u escapes."""

from __future__ import annotations

import json
from typing import Any

import orjson
from django.http import HttpRequest
from ninja.renderers import BaseRenderer


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        try:
            return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:
            # orjson stops at 64-bit integers; a validation error echoing a client's 10**30 must still be a clean
            # 4xx answer, not a 500. The standard library writes any integer (anything else unusual as text).
            return json.dumps(data, ensure_ascii=False, default=str).encode()
