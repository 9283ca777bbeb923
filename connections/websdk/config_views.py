"""``GET {configUrl}{web key}/config?env=0|1``: what the Web SDK reads when ``requestConfig`` is
on. A browser may keep the answer ``MPBRAZE_WEB_CONFIG_MAX_AGE_SECONDS``; a change to the Web
output shows in the next answer after that. The answer carries an ETag: once the time is up, a
browser revalidates (``If-None-Match``) and gets a bodiless 304 while nothing changed.

The SDK keeps no copy of the document itself (its storage holds identities and unsent
batches), so the browser's HTTP cache is the only cache between a change and the site."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag

from connections.inbound import limits
from connections.inbound.errors import Refusal
from connections.websdk import access
from connections.websdk.kit_config import sdk_configuration

logger = logging.getLogger(__name__)
METHODS = "GET, OPTIONS"


def configuration(request: HttpRequest, key: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return access.keyed_preflight(request, key, METHODS)
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": METHODS})
    try:
        connection = access.web_connection(request, key)
        granted = access.ensure_origin_allowed(request, access.web_output(connection))
        document = sdk_configuration(connection, development=request.GET.get("env") == "1")
    except Refusal as refusal:
        return refusal.response()
    except DatabaseError:
        logger.warning("Web SDK configuration: database unavailable", exc_info=True)
        return limits.database_unavailable().response()
    response = JsonResponse(document)
    patch_cache_control(response, max_age=settings.MPBRAZE_WEB_CONFIG_MAX_AGE_SECONDS)
    set_response_etag(response)
    # A 304 when the browser's copy is current; the full answer otherwise.
    answer = get_conditional_response(request, etag=response["ETag"], response=response)
    return access.grant(answer or response, granted)
