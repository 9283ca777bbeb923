"""``POST /v1/identity/{web key}/Alias``: the Web SDK's alias requests
(``mParticle.Identity.aliasUsers``), which say that one user (the anonymous MPID a device had
before login) is another (the known user) for a time window.

The SDK posts JSON (so browsers preflight it) and reads the status: 202 accepted, 400 with
``{code, message}`` (what ``sendAliasRequest`` reports to the page's callback), 401 without a
body for an unknown key. Alias requests count against the address's identity requests.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from connections.identity.store import UnknownUser, identity_alias
from connections.inbound import limits
from connections.inbound.errors import Refusal, bad_request
from connections.models import BrazeOutput, Connection
from connections.websdk import access
from connections.websdk.identity_requests import parse_alias_request


@csrf_exempt  # other sites' pages post here by design; the web key is public
def alias(request: HttpRequest, key: str) -> HttpResponse:
    def record(connection: Connection, output: BrazeOutput | None) -> None:
        access.identity_throttle(request)
        _record(connection, limits.read_body(request))

    return access.keyed_post(request, key, record, what="Alias request", refused=_refused)


def _record(connection: Connection, body: bytes) -> None:
    parsed = parse_alias_request(body)
    try:
        identity_alias(
            connection=connection,
            request_id=parsed.request_id,
            source_mpid=parsed.source_mpid,
            destination_mpid=parsed.destination_mpid,
            starts_at=_moment(parsed.start_ms),
            ends_at=_moment(parsed.end_ms),
        )
    except UnknownUser as unknown:
        raise bad_request(
            f"data.{unknown.field}: no user of this connection has this MPID."
        ) from None


def _moment(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)


def _refused(refusal: Refusal) -> HttpResponse:
    if refusal.status == 401:
        return HttpResponse(status=401)  # names no connection
    body = {"code": refusal.code, "message": " ".join(refusal.messages)}
    response = JsonResponse(body, status=refusal.status)
    for name, value in refusal.headers.items():
        response[name] = value
    return response
