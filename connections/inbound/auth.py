"""HTTP Basic auth with a connection's inbound key (username) and secret (password).

mParticle answers 401 when the header is missing and 403 when it is present but wrong; the
SDK sends ``Basic Og==`` for empty credentials, which is therefore a 403.
"""

from __future__ import annotations

import base64
import re
from typing import Final

from django.http import HttpRequest

from connections.inbound.auth_throttle import auth_failure, auth_throttle
from connections.inbound.errors import Refusal
from connections.inbound.limits import PendingSpan, connection_by_inbound_key
from connections.models import Connection
from connections.services import inbound_secret_matches

# Keys are "mpb_" + hex; anything else cannot match, and a NUL would make PostgreSQL raise.
_KEY_FORMAT: Final = re.compile(r"[A-Za-z0-9_-]{1,40}")
_CHALLENGE: Final = {"WWW-Authenticate": 'Basic realm="mpbraze inbound", charset="UTF-8"'}


def authenticate(request: HttpRequest) -> tuple[Connection, PendingSpan]:
    """The connection whose key and secret the request carries, with the span of its batches
    waiting to be mapped (read in the same statement, for the backpressure check); raises a
    401/403 Refusal."""
    scheme, _, encoded = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        raise Refusal(
            401,
            "UNAUTHORIZED",
            "Authentication required: send HTTP Basic credentials "
            "(the connection's inbound key and secret).",
            headers=_CHALLENGE,
        )
    key, secret = _credentials(encoded.strip())
    throttle = auth_throttle(request, key)  # a 429 after too many wrong secrets
    found = connection_by_inbound_key(key)
    if found is None or not inbound_secret_matches(found[0], secret):
        raise auth_failure(throttle) or _forbidden()
    return found


def ensure_ingest_enabled(connection: Connection) -> None:
    """Ingest off refuses data on purpose; paused or disabled forwarding still accepts it."""
    if not connection.ingest_enabled:
        raise Refusal(
            403,
            "INGEST_DISABLED",
            f"Connection “{connection.name}” is disabled for ingest: batches are refused "
            "until ingest is turned on again.",
        )


def _credentials(encoded: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are both ValueErrors
        raise _forbidden() from None
    key, colon, secret = decoded.partition(":")
    if not colon or not _KEY_FORMAT.fullmatch(key):
        raise _forbidden()
    return key, secret


def _forbidden() -> Refusal:
    # One message for every failure: do not tell a caller which half was wrong.
    return Refusal(403, "FORBIDDEN", "The inbound key or secret is not valid.")
