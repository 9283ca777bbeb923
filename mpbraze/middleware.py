"""Requests refused before any view (a NUL in the path or the query string), the bodies of
refused requests read out so the connection stays usable, and the Content-Security-Policy
header on every response.

No URL of the product has a NUL in it, and PostgreSQL refuses one in any text it is given, so
a view that looks a path segment or a filter value up would fail with a 500. Refused here with
400 in the shape each part of the site answers with: JSON for the REST API and the inbound API,
the error page elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, JsonResponse

from connections.inbound.errors import bad_request

logger = logging.getLogger(__name__)
MESSAGE = "The address contains a NUL character (%00), which no page or API accepts."
# Bodies up to this size are read out after an early refusal; the largest the app takes is
# Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), and deploy/nginx.conf refuses anything bigger.
DRAIN_MAX_BYTES = 4 * 1024 * 1024
CHUNK = 64 * 1024
# With DEBUG on, Django answers these with its debug pages, whose styles and scripts are inline
# (Django 6.0 gives them a nonce; 5.2 cannot): on a developer's machine they go without a policy.
DEBUG_PAGE_STATUSES = frozenset({400, 404, 500})


class DrainUnreadBodyMiddleware:
    """Reads what a refused request left of its body (a 401, 403 or 413 answered from the
    headers, a CSRF failure, a redirect). gunicorn discards at most 64 KiB of an unread body
    before the next request on a kept-alive connection; past that it closes the connection
    after answering as if it stayed open, and the client's (or nginx's) next request on it
    fails. Outermost, so every refusal below it is covered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        _drain(request)
        return response


def _drain(request: HttpRequest) -> None:
    stream = getattr(request, "_stream", None)
    length = request.META.get("CONTENT_LENGTH") or "0"
    if stream is None or not length.isdigit() or not 0 < int(length) <= DRAIN_MAX_BYTES:
        return
    try:
        while stream.read(CHUNK):  # the stream stops at Content-Length; b"" once read
            pass
    except Exception:
        logger.debug("The body of a refused request could not be read out", exc_info=True)


class ContentSecurityPolicyMiddleware:
    """Sends ``SECURE_CSP`` (directive → sources) as the Content-Security-Policy header of every
    response: pages, admin, API docs, error pages, JSON answers and static files alike. A
    response that already carries the header keeps its own, and Django's debug pages (DEBUG
    on) get none. (Django 6.0 has this built in, reading the same setting; mpbraze is on 5.2.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = csp_header_value(settings.SECURE_CSP)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response.headers and not _debug_page(response):
            response.headers["Content-Security-Policy"] = self.policy
        return response


def _debug_page(response: HttpResponse) -> bool:
    html = response.get("Content-Type", "").startswith("text/html")
    return settings.DEBUG and html and response.status_code in DEBUG_PAGE_STATUSES


def csp_header_value(policy: dict[str, list[str]]) -> str:
    """``{"default-src": ["'self'"], "object-src": ["'none'"]}`` →
    ``default-src 'self'; object-src 'none'``."""
    return "; ".join(" ".join([directive, *sources]) for directive, sources in policy.items())


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
