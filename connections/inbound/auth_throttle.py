"""Failed inbound authentications, limited per key at one address and per address.

mParticle sends from a few shared addresses: a key whose secret is wrong (a connection set up
with an old secret) must not get another connection's traffic from the same address refused,
so the address limit is much higher than the key's. A key is never blocked everywhere: secrets
are long and random, and a block per key would let whoever knows a key stop its traffic.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from connections.inbound.errors import retry_later
from connections.throttle import Limit, Throttle, client_address

WINDOW_SECONDS = 60


def auth_throttle(request: HttpRequest, key: str) -> Throttle:
    """The throttle this request's failure counts under; raises a 429 Refusal when it is over."""
    address = client_address(request)
    throttle = Throttle(
        [
            Limit(
                "inbound-key",
                f"{key}\n{address}",
                settings.MPBRAZE_INBOUND_AUTH_FAILURES_PER_MINUTE,
                WINDOW_SECONDS,
            ),
            Limit(
                "inbound-address",
                address,
                settings.MPBRAZE_INBOUND_AUTH_ADDRESS_FAILURES_PER_MINUTE,
                WINDOW_SECONDS,
            ),
        ]
    )
    seconds = throttle.retry_after()
    if seconds:
        raise retry_later(
            429,
            "TOO_MANY_REQUESTS",
            "Too many requests with a wrong inbound key or secret from this address: nothing"
            f" is checked or stored until the limit resets in {seconds} s.",
            seconds=seconds,
        )
    return throttle
