"""Requests refused before any view: a NUL in the path or the query string.

No URL of the product has a NUL in it, and PostgreSQL refuses one in any text it is given, so
a view that looks a path segment or a filter value up would fail with a 500. Refused here with
400 in the shape each part of the site answers with: JSON for the REST API and the inbound API,
the error page elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, JsonResponse

from connections.inbound.errors import bad_request

MESSAGE = "The address contains a NUL character (%00), which no page or API accepts."


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _has_nul(request):
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            body = {"errors": [{"code": "invalid", "message": MESSAGE, "field": None}]}
            return JsonResponse(body, status=400)
        if request.path_info.startswith("/v2/"):
            return bad_request(MESSAGE).response()
        raise BadRequest(MESSAGE)  # Django's 400 page (templates/400.html when there is one)


def _has_nul(request: HttpRequest) -> bool:
    # "%00" is the only percent-encoding that decodes to NUL, so the raw query string needs
    # no decoding (the inbound API's hot path pays two substring searches).
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path_info or "%00" in query or "\x00" in query
