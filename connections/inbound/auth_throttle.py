"""Failed inbound authentications, limited per key at one address, per address, and per key
from all addresses together.

mParticle sends from a few shared addresses: a key whose secret is wrong (a connection set up
with an old secret) must not get another connection's traffic from the same address refused,
so the address limit is much higher than the key's. The first two limits are checked before
the secret: over them a request is refused unchecked (429), the right secret too.

The key's limit across addresses is different: whoever knows a key (it travels in every
request) could otherwise stop its traffic, and a customer's misconfigured senders (an old
secret on some of them) would lock the right ones out for as long as they keep failing. So it
applies only after the secret was checked and found wrong: over it, a wrong secret is answered
429 instead of 403, and the right secret is always accepted. Secrets are 256 random bits, so
what the limit bounds is how often one key answers "wrong" (and the load), not the odds of a
guess; the per-address limits still bound what each address can try.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from connections.inbound.errors import Refusal, retry_later
from mpbraze.throttle import Limit, Throttle, client_address

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
            Limit(
                "inbound-key-total",
                key,
                settings.MPBRAZE_INBOUND_AUTH_KEY_FAILURES_PER_MINUTE,
                WINDOW_SECONDS,
                after_check=True,
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


def auth_failure(throttle: Throttle) -> Refusal | None:
    """Counts a wrong secret; the 429 to answer when its key is over the limit of all addresses."""
    throttle.record_failure()
    seconds = throttle.retry_after(checked=True)
    if not seconds:
        return None
    return retry_later(
        429,
        "TOO_MANY_REQUESTS",
        "Too many requests with a wrong secret for this inbound key, from all addresses: wrong"
        f" secrets are refused for {seconds} s; the right secret is still accepted.",
        seconds=seconds,
    )
