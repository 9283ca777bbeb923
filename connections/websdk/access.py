"""Who may use the SDK endpoints: the web key finds the connection, the Web output's allowed
origins decide which sites' pages may call them, and identity requests are throttled per
address (each one may create a user).

Web keys are public (every page of the site carries its key), so an unknown key is a 401 that
says nothing about which connections exist, and failed keys are limited per address.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Final

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from connections.inbound import limits
from connections.inbound.errors import Refusal, retry_later
from connections.models import BrazeOutput, Connection, Platform
from mpbraze.throttle import Limit, Throttle, client_address

logger = logging.getLogger(__name__)
WINDOW_SECONDS: Final = 60
_KEY_FORMAT: Final = re.compile(r"[A-Za-z0-9_-]{1,40}")
ALLOWED_HEADERS: Final = "Accept, Content-Type, x-mp-key"
PREFLIGHT_MAX_AGE_SECONDS: Final = 600


def web_connection(request: HttpRequest, key: str) -> Connection:
    """The connection of this web key; a 401 Refusal (429 after too many from one address)."""
    throttle = Throttle(
        [
            Limit(
                "web-key-address",
                client_address(request),
                settings.MPBRAZE_WEB_KEY_ADDRESS_FAILURES_PER_MINUTE,
                WINDOW_SECONDS,
            )
        ]
    )
    if throttle.retry_after():
        raise _too_many("wrong web keys", throttle.retry_after())
    found = Connection.objects.filter(web_key=key).first() if _KEY_FORMAT.fullmatch(key) else None
    if found is None:
        throttle.record_failure()
        raise Refusal(401, "UNAUTHORIZED", "The web key is not valid.")
    return found


def identity_throttle(request: HttpRequest) -> None:
    """Counts an identity request of this address; a 429 Refusal over the limit."""
    throttle = Throttle(
        [
            Limit(
                "identity-address",
                client_address(request),
                settings.MPBRAZE_IDENTITY_REQUESTS_PER_MINUTE,
                WINDOW_SECONDS,
            )
        ]
    )
    seconds = throttle.retry_after()
    if seconds:
        raise _too_many("identity requests", seconds)
    throttle.record_failure()  # every request counts: each one may create a user


def web_output(connection: Connection) -> BrazeOutput | None:
    return connection.outputs.filter(platform=Platform.WEB).first()


def request_origin(request: HttpRequest) -> str:
    return str(request.headers.get("Origin", ""))


def origin_allowed(origin: str, output: BrazeOutput | None) -> bool:
    return output is not None and origin in (output.allowed_origins or [])


def ensure_origin_allowed(request: HttpRequest, output: BrazeOutput | None) -> str:
    """The request's origin when the Web output allows it, "" for a request without one (not
    a browser's: CORS does not apply); a 403 Refusal, with no CORS grant, otherwise."""
    origin = request_origin(request)
    if origin and not origin_allowed(origin, output):
        raise Refusal(
            403,
            "ORIGIN_NOT_ALLOWED",
            "This site is not among the Web output's allowed origins.",
        )
    return origin


def grant(response: HttpResponse, origin: str) -> HttpResponse:
    """The CORS grant for an allowed ``origin`` (none for "")."""
    response["Vary"] = "Origin"
    if origin:
        response["Access-Control-Allow-Origin"] = origin
    return response


def preflight(origin: str, *, allowed: bool, methods: str) -> HttpResponse:
    """The answer to a CORS preflight: 204, granting only an allowed origin."""
    response = grant(HttpResponse(status=204), origin if allowed else "")
    if allowed:
        response["Access-Control-Allow-Methods"] = methods
        response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
    return response


POST_METHODS: Final = "POST, OPTIONS"
KeyedAct = Callable[[Connection, BrazeOutput | None], None]


def keyed_post(
    request: HttpRequest,
    key: str,
    act: KeyedAct,
    *,
    what: str,
    refused: Callable[[Refusal], HttpResponse] = Refusal.response,
) -> HttpResponse:
    """A POST endpoint of the SDK with the web key in its path: its preflight, then the key's
    connection and the Web output's origins checked before ``act`` (given the connection and
    its Web output); 202 with the CORS grant, or the refusal as ``refused`` renders it (the
    grant only for an allowed origin)."""
    if request.method == "OPTIONS":
        return keyed_preflight(request, key, POST_METHODS)
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": POST_METHODS})
    granted = ""
    try:
        connection = web_connection(request, key)
        output = web_output(connection)
        granted = ensure_origin_allowed(request, output)
        act(connection, output)
    except Refusal as refusal:
        logger.info("%s refused: %s %s", what, refusal.status, refusal.code)
        return grant(refused(refusal), granted)
    except DatabaseError:
        logger.warning("%s: database unavailable", what, exc_info=True)
        return grant(refused(limits.database_unavailable()), granted)
    return grant(HttpResponse(status=202), granted)


def keyed_preflight(request: HttpRequest, key: str, methods: str) -> HttpResponse:
    """The preflight of an endpoint with the web key in its path: the key's Web output decides
    (an unknown key grants nothing)."""
    origin = request_origin(request)
    try:
        connection = web_connection(request, key)
    except Refusal:
        return preflight(origin, allowed=False, methods=methods)
    return preflight(
        origin, allowed=origin_allowed(origin, web_output(connection)), methods=methods
    )


def origin_allowed_anywhere(origin: str) -> bool:
    """Whether any Web output allows ``origin``: an identity preflight does not carry the
    key (it travels in a header the preflight asks about), so it cannot name the connection."""
    if not origin:
        return False
    outputs = BrazeOutput.objects.filter(platform=Platform.WEB).values_list(
        "allowed_origins", flat=True
    )
    return any(origin in (origins or []) for origins in outputs)


def _too_many(what: str, seconds: int) -> Refusal:
    return retry_later(
        429,
        "TOO_MANY_REQUESTS",
        f"Too many {what} from this address: retry in {seconds} s.",
        seconds=seconds,
    )
