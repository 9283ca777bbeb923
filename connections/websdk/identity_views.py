"""The Identity API as the Web SDK calls it: ``POST /identity/v1/identify|login|logout`` and
``/identity/v1/{mpid}/modify``, the connection named by the ``x-mp-key`` header.

Answers use the Identity API's shapes: ``{mpid, is_logged_in, matched_identities, context}``
with 200, ``{change_results}`` for modify, ``{Errors: [{code, message}], …}`` with 400 (the
SDK reads ``Errors``), and no body for 401.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from connections.identity.store import (
    IdentityStoreFull,
    IdentityTaken,
    identity_modify,
    identity_resolve,
)
from connections.inbound import limits
from connections.inbound.errors import Refusal
from connections.models import Connection
from connections.websdk import access
from connections.websdk.identity_requests import (
    parse_identity_request,
    parse_modify_request,
    parse_mpid,
)

logger = logging.getLogger(__name__)
METHODS = "POST, OPTIONS"
Act = Callable[[Connection, bytes], JsonResponse]


@csrf_exempt  # browsers of other sites call it by design; the web key is public
def identify(request: HttpRequest, method: str) -> HttpResponse:
    """``identify``, ``login`` and ``logout``: the MPID of the identities in the request."""
    return _answer(request, _resolved)


@csrf_exempt
def modify(request: HttpRequest, mpid: str) -> HttpResponse:
    """``{mpid}/modify``: the user gets the identities of ``identity_changes``."""
    return _answer(request, lambda connection, body: _modified(connection, body, mpid))


def _answer(request: HttpRequest, act: Act) -> HttpResponse:
    origin = access.request_origin(request)
    if request.method == "OPTIONS":
        allowed = access.origin_allowed_anywhere(origin)
        return access.preflight(origin, allowed=allowed, methods=METHODS)
    if request.method != "POST":
        return access.grant(HttpResponse(status=405, headers={"Allow": METHODS}), "")
    try:
        access.identity_throttle(request)
        connection = access.web_connection(request, request.headers.get("x-mp-key", ""))
        origin = access.ensure_origin_allowed(request, access.web_output(connection))
        response = _acted(act, connection, limits.read_body(request))
    except Refusal as refusal:
        logger.info("Identity %s refused: %s %s", request.path, refusal.status, refusal.code)
        return access.grant(_refused(refusal), origin if refusal.status == 400 else "")
    except DatabaseError:
        logger.warning("Identity %s: database unavailable", request.path, exc_info=True)
        return _refused(limits.database_unavailable())
    return access.grant(response, origin)


def _acted(act: Act, connection: Connection, body: bytes) -> JsonResponse:
    try:
        return act(connection, body)
    except IdentityStoreFull:
        raise Refusal(
            503,
            "IDENTITY_STORE_FULL",
            "The identity store of this connection holds its maximum of identities"
            f" ({settings.MPBRAZE_IDENTITY_MAX_RECORDS}); known users still resolve.",
        ) from None


def _resolved(connection: Connection, body: bytes) -> JsonResponse:
    parsed = parse_identity_request(body)
    answer = identity_resolve(
        connection=connection, known=parsed.known, device_stamp=parsed.device_stamp
    )
    return JsonResponse(
        {
            "context": None,
            "mpid": str(answer.mpid),
            "is_ephemeral": False,
            "is_logged_in": answer.is_logged_in,
            "matched_identities": answer.matched_identities,
        }
    )


def _modified(connection: Connection, body: bytes, mpid_text: str) -> JsonResponse:
    mpid = parse_mpid(mpid_text)
    changes = parse_modify_request(body)
    try:
        identity_modify(connection=connection, mpid=mpid, changes=changes)
    except IdentityTaken as taken:
        raise Refusal(
            400,
            "BAD_REQUEST",
            f"identity_changes: the {taken.identity_type} belongs to another user.",
        ) from None
    results = [{"identity_type": name, "modified_mpid": str(mpid)} for name in changes]
    return JsonResponse({"change_results": results})


def _refused(refusal: Refusal) -> HttpResponse:
    if refusal.status == 401:
        return HttpResponse(status=401)  # the SDK expects no body; none names a connection
    body = {
        "Errors": [{"code": refusal.code, "message": m} for m in refusal.messages],
        "ErrorCode": refusal.code,
        "StatusCode": refusal.status,
        "RequestId": str(uuid.uuid4()),
    }
    response = JsonResponse(body, status=refusal.status)
    for name, value in refusal.headers.items():
        response[name] = value
    return response
