"""``POST /v3/JS/{web key}/events``: the Web SDK's batch uploads.

The SDK posts one Events-API batch per request as ``text/plain`` (a simple request: browsers
send it without a preflight, so the origin is checked here, before anything is stored). The
body gets the checks, limits, backpressure, de-duplication and storage of ``/v2/events``; the
Web output's delivery mode decides whether mpbraze forwards it (server-side) or only stores it
(kit, the default: the page's Braze kit sends).
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from connections.inbound import auth, limits, parsing
from connections.inbound.storage import batches_store
from connections.models import BrazeOutput, Connection, DeliveryMode
from connections.websdk import access


@csrf_exempt  # other sites' pages post here by design; the web key is public
@transaction.non_atomic_requests  # the 202 must follow our own commit
def upload(request: HttpRequest, key: str) -> HttpResponse:
    def store(connection: Connection, output: BrazeOutput | None) -> None:
        auth.ensure_ingest_enabled(connection)
        limits.ensure_queue_has_room(connection)
        body = limits.read_body(request)
        batches = parsing.parse_events(body, max_batch_bytes=limits.max_batch_bytes())
        # Kit mode (the default): the page's Braze kit sends to Braze; forwarding again would
        # count everything twice there.
        forward = output is not None and output.delivery_mode == DeliveryMode.SERVER_SIDE
        batches_store(connection=connection, batches=batches, historical=False, forward=forward)

    return access.keyed_post(request, key, store, what="Web SDK upload")
