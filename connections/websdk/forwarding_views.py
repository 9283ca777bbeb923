"""``POST {v1SecureServiceUrl}{web key}/Forwarding``: the Web SDK's forwarding statistics.

When a kit is active, the SDK reports each event it handed to the kit (``{"mid": 28, "n":
event name, "attrs": …, "dt", "et", "ct", …}``), fire and forget, over ``https://`` whatever
``forceHttps`` says. Pointed at mpbraze (``v1SecureServiceUrl``), these reports stay here
instead of going to mParticle's servers: mpbraze checks them as any upload (key, origin, size,
JSON) and answers 202, keeping nothing (the batches the SDK uploads already hold the events).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from connections.inbound import limits, parsing
from connections.inbound.errors import Refusal, bad_request
from connections.websdk import access

logger = logging.getLogger(__name__)
METHODS = "POST, OPTIONS"


@csrf_exempt  # other sites' pages post here by design; the web key is public
def forwarding_stats(request: HttpRequest, key: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return access.keyed_preflight(request, key, METHODS)
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": METHODS})
    granted = ""
    try:
        connection = access.web_connection(request, key)
        granted = access.ensure_origin_allowed(request, access.web_output(connection))
        stats_check(parsing.decode_json(limits.read_body(request)))
    except Refusal as refusal:
        logger.info("Web SDK forwarding statistics refused: %s %s", refusal.status, refusal.code)
        return access.grant(refusal.response(), granted)
    except DatabaseError:
        logger.warning("Web SDK forwarding statistics: database unavailable", exc_info=True)
        return access.grant(limits.database_unavailable().response(), granted)
    return access.grant(HttpResponse(status=202), granted)


def stats_check(document: Any) -> None:
    """A report as the SDK sends it: an object naming the kit's module id (``mid``)."""
    if not isinstance(document, dict):
        raise bad_request("The body must be a JSON object (one forwarding report).")
    module = document.get("mid")
    if not isinstance(module, int) or isinstance(module, bool):
        raise bad_request("mid: the kit's module id must be an integer (28 for Braze).")
