"""The API's one error shape, ``{"errors": [{"code", "message", "field"}]}``, with stable
codes, and the handlers that turn every failure into it (never Django's HTML pages)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from connections.rules.field_errors import FieldError

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger(__name__)

#: Every code the API answers with; clients may rely on these names.
CODES = {
    "invalid": "A value is missing, of the wrong type or breaks a rule.",
    "unknown_field": "The body names a field the endpoint does not take.",
    "malformed_json": "The body is not a JSON document.",
    "too_large": "The body is over the size limit.",
    "unauthenticated": "No token, or a token that is unknown, revoked or expired.",
    "forbidden": "The token's scope or its user's role does not allow this.",
    "throttled": "Too many bad tokens from this address or for this token; see Retry-After.",
    "not_found": "No such object.",
    "conflict": "The request clashes with the object's current state.",
    "unavailable": "A dependency (such as the task queue) is down; try again.",
    "server_error": "A fault on our side; it is logged.",
}


class ErrorItem(Schema):
    code: str
    message: str
    field: str | None = None


class ErrorOut(Schema):
    errors: list[ErrorItem]


class ApiError(Exception):
    """An answer other than success: status, and one or more (code, message, field)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.items = [{"code": code, "message": message, "field": field}]
        self.headers = dict(headers or {})

    @classmethod
    def invalid(cls, errors: Mapping[str, Iterable[str]], *, prefix: str = "") -> ApiError:
        """A 422 from field → messages, as the validation functions return them."""
        error = cls(422, "invalid", "")
        error.items = [
            {"code": "invalid", "message": message, "field": _field(prefix, name)}
            for name, messages in errors.items()
            for message in messages
        ]
        return error


def _field(prefix: str, name: str) -> str | None:
    if name == "__all__":
        return prefix.rstrip(".") or None
    return f"{prefix}{name}"


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"No {what} with that id.")


def install(api: NinjaAPI) -> None:
    handlers: list[tuple[type[Exception], Any]] = [
        (ApiError, _api_error),
        (FieldError, _field_error),
        (ValidationError, _validation_error),
        (AuthenticationError, _unauthenticated),
        (HttpError, _http_error),
        (Http404, _not_found),
        (RequestDataTooBig, _too_large),
        (Exception, _server_error),
    ]
    for exception, handler in handlers:
        api.add_exception_handler(exception, partial(handler, api))


def _answer(
    api: NinjaAPI, request: HttpRequest, status: int, items: list[dict[str, Any]]
) -> HttpResponse:
    response = api.create_response(request, {"errors": items}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="mpbraze"'
    return response


def _api_error(api: NinjaAPI, request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = _answer(api, request, exc.status, exc.items)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def _field_error(api: NinjaAPI, request: HttpRequest, exc: FieldError) -> HttpResponse:
    item = {"code": "invalid", "message": f"{exc.field}: {exc.message}", "field": exc.field}
    return _answer(api, request, 422, [item])


def _validation_error(api: NinjaAPI, request: HttpRequest, exc: ValidationError) -> HttpResponse:
    items = [_pydantic_item(error) for error in exc.errors]
    if any(item["code"] == "malformed_json" for item in items):
        return _answer(
            api, request, 400, [item for item in items if item["code"] == "malformed_json"]
        )
    return _answer(api, request, 422, items)


def _pydantic_item(error: Mapping[str, Any]) -> dict[str, Any]:
    # ninja prefixes the location with where the value came from: body, query, path.
    location = [str(part) for part in error.get("loc", ())]
    source = location[0] if location else ""
    parts = location[1:]
    if source == "body" and parts and parts[0] in ("payload", "body"):
        parts = parts[1:]
    field = ".".join(parts) or None
    kind = error.get("type", "")
    if kind == "json_invalid" or (source == "body" and kind == "value_error.json"):
        return {"code": "malformed_json", "message": "The body is not valid JSON.", "field": None}
    if kind == "extra_forbidden":
        message = f"Unknown field “{field}”; see /api/v1/docs for the fields this endpoint takes."
        return {"code": "unknown_field", "message": message, "field": field}
    message = str(error.get("msg", "invalid value"))
    return {"code": "invalid", "message": f"{field or source}: {message}", "field": field}


def _unauthenticated(api: NinjaAPI, request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = "Send a valid API token: Authorization: Bearer mpb_…; it may be revoked or expired."
    return _answer(
        api, request, 401, [{"code": "unauthenticated", "message": message, "field": None}]
    )


def _http_error(api: NinjaAPI, request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, ApiError):  # ninja wraps what the body parser raises
        return _api_error(api, request, exc.__cause__)
    code = {400: "malformed_json", 401: "unauthenticated", 403: "forbidden", 404: "not_found"}
    # ninja answers 400 only for a body it cannot parse.
    message = "The body is not valid JSON." if exc.status_code == 400 else str(exc)
    item = {"code": code.get(exc.status_code, "invalid"), "message": message, "field": None}
    return _answer(api, request, exc.status_code, [item])


def _not_found(api: NinjaAPI, request: HttpRequest, exc: Http404) -> HttpResponse:
    return _answer(
        api, request, 404, [{"code": "not_found", "message": "Not found.", "field": None}]
    )


def _too_large(api: NinjaAPI, request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    message = "The body is over the API's size limit."
    return _answer(api, request, 413, [{"code": "too_large", "message": message, "field": None}])


def _server_error(api: NinjaAPI, request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    message = "Something failed on our side; it is logged. Try again, or tell your operator."
    return _answer(api, request, 500, [{"code": "server_error", "message": message, "field": None}])
