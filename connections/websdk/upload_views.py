"""``POST /v3/JS/{web key}/events``: the Web SDK's batch uploads.

The SDK posts one Events-API batch per request as ``text/plain`` (a simple request: browsers
send it without a preflight, so the origin is checked here, before anything is stored). The
body gets the checks, limits, backpressure, de-duplication and storage of ``/v2/events``; the
Web output's delivery mode decides whether mpbraze forwards it (server-side) or only stores it
(kit, the default: the page's Braze kit sends).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from connections.inbound import auth, limits, parsing
from connections.inbound.errors import Refusal
from connections.inbound.storage import batches_store
from connections.models import DeliveryMode
from connections.websdk import access

logger = logging.getLogger(__name__)
METHODS = "POST, OPTIONS"


@csrf_exempt  # other sites' pages post here by design; the web key is public
@transaction.non_atomic_requests  # the 202 must follow our own commit
def upload(request: HttpRequest, key: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return access.keyed_preflight(request, key, METHODS)
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": METHODS})
    granted = ""
    try:
        connection = access.web_connection(request, key)
        output = access.web_output(connection)
        granted = access.ensure_origin_allowed(request, output)
        auth.ensure_ingest_enabled(connection)
        limits.ensure_queue_has_room(connection)
        body = limits.read_body(request)
        batches = parsing.parse_events(body, max_batch_bytes=limits.max_batch_bytes())
        # Kit mode (the default): the page's Braze kit sends to Braze; forwarding again would
        # count everything twice there.
        forward = output is not None and output.delivery_mode == DeliveryMode.SERVER_SIDE
        batches_store(connection=connection, batches=batches, historical=False, forward=forward)
    except Refusal as refusal:
        logger.info("Web SDK upload refused: %s %s", refusal.status, refusal.code)
        return access.grant(refusal.response(), granted)
    except DatabaseError:
        logger.warning("Web SDK upload: database unavailable", exc_info=True)
        return access.grant(limits.database_unavailable().response(), granted)
    return access.grant(HttpResponse(status=202), granted)
