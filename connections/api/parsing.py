"""The API's body parser: JSON only, refusing what the database cannot store (NUL
characters) with the field named, instead of failing on save. (A NUL in the address is refused
before any view by ``mpbraze.middleware``.)"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser

from connections.api.errors import ApiError

MAX_DEPTH = 32


class StrictParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        if not request.body:
            return {}
        try:
            data = json.loads(request.body, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            raise ApiError(400, "malformed_json", "The body is not valid JSON.") from None
        _refuse_nul(data, "", 0)
        return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _refuse_nul(value: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ApiError(422, "invalid", f"The body nests deeper than {MAX_DEPTH} levels.", path)
    if isinstance(value, str):
        if "\x00" in value:
            raise _nul(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                raise _nul(child)
            _refuse_nul(item, child, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_nul(item, f"{path}.{index}" if path else str(index), depth + 1)


def _nul(field: str) -> ApiError:
    return ApiError(422, "invalid", f"{field or 'body'}: NUL characters are not allowed.", field)
