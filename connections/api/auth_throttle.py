"""Bearer tokens that fail to authenticate, limited per address and per token prefix.

A token is checked before the throttle is even read: a valid token costs no round trip to the
throttle's store and is never refused, whatever its address or its prefix has seen. A token that
does not authenticate (malformed, unknown, wrong secret, revoked, expired, inactive user) is then
checked against the limits: over one, 429 with ``Retry-After``; else it is counted and answered
401. A missing token is not counted (it is not a guess). Tokens carry 256 random bits, so the
limits bound the work and the answers bad tokens get, not the odds of a guess.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from connections.api.errors import ApiError
from connections.api.tokens import token_prefix
from mpbraze.throttle import Limit, Throttle, client_address

WINDOW_SECONDS = 60


def api_auth_failure(request: HttpRequest, raw: str) -> None:
    """Counts a token that did not authenticate; raises a 429 ApiError when over a limit."""
    throttle = Throttle(_limits(request, raw))
    seconds = throttle.retry_after()
    if seconds:
        raise ApiError(
            429,
            "throttled",
            "Too many requests with a bad API token from this address or for this token: bad"
            f" tokens are refused unchecked for {seconds} s; a valid token still works.",
            headers={"Retry-After": str(seconds)},
        )
    throttle.record_failure()


def _limits(request: HttpRequest, raw: str) -> list[Limit]:
    address = client_address(request)
    per_address = settings.MPBRAZE_API_AUTH_ADDRESS_FAILURES_PER_MINUTE
    limits = [Limit("api-address", address, per_address, WINDOW_SECONDS)]
    prefix = token_prefix(raw)
    if prefix:  # a malformed token names no token: only its address counts
        per_prefix = settings.MPBRAZE_API_AUTH_PREFIX_FAILURES_PER_MINUTE
        limits.append(Limit("api-prefix", prefix, per_prefix, WINDOW_SECONDS))
    return limits
