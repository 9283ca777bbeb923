"""``POST {v1SecureServiceUrl}{web key}/Forwarding``: the Web SDK's forwarding statistics.

When a kit is active, the SDK reports each event it handed to the kit (``{"mid": 28, "n":
event name, "attrs": …, "dt", "et", "ct", …}``), fire and forget, over ``https://`` whatever
``forceHttps`` says. Pointed at mpbraze (``v1SecureServiceUrl``), these reports stay here
instead of going to mParticle's servers: mpbraze checks them as any upload (key, origin, size,
JSON) and answers 202, keeping nothing (the batches the SDK uploads already hold the events).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from connections.inbound import limits, parsing
from connections.inbound.errors import bad_request
from connections.models import BrazeOutput, Connection
from connections.websdk import access


@csrf_exempt  # other sites' pages post here by design; the web key is public
def forwarding_stats(request: HttpRequest, key: str) -> HttpResponse:
    def check(connection: Connection, output: BrazeOutput | None) -> None:
        stats_check(parsing.decode_json(limits.read_body(request)))

    return access.keyed_post(request, key, check, what="Web SDK forwarding statistics")


def stats_check(document: Any) -> None:
    """A report as the SDK sends it: an object naming the kit's module id (``mid``)."""
    if not isinstance(document, dict):
        raise bad_request("The body must be a JSON object (one forwarding report).")
    module = document.get("mid")
    if not isinstance(module, int) or isinstance(module, bool):
        raise bad_request("mid: the kit's module id must be an integer (28 for Braze).")
