"""The OpenDSR endpoints' answers: JSON bodies, the processor domain header, and errors in
OpenDSR's shape, ``{"error": {"code", "message", "errors": [{domain, reason, message,
field}]}}`` (the specification's §7.6, plus the field at fault)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import JsonResponse

REASONS = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "throttled",
}


class DsrHttpError(Exception):
    """An answer other than success, in OpenDSR's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers or {}


def processor_domain() -> str:
    """The host this processor answers as (``MPBRAZE_PUBLIC_URL``'s)."""
    return str(urlsplit(settings.MPBRAZE_PUBLIC_URL).netloc)


def answer(body: Any, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status, safe=False)
    response["X-OpenDSR-Processor-Domain"] = processor_domain()
    response["Cache-Control"] = "no-store"
    return response


def error_answer(error: DsrHttpError) -> JsonResponse:
    reason = REASONS.get(error.status, "error")
    domain = "Validation" if error.status in (400, 409, 413) else "Request"
    item = {"domain": domain, "reason": reason, "message": error.message, "field": error.field}
    body = {"error": {"code": error.status, "message": error.message, "errors": [item]}}
    response = answer(body, error.status)
    for name, value in error.headers.items():
        response[name] = value
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="mpbraze"'
    return response
