"""``GET /metrics``: Prometheus text, open or behind ``MPBRAZE_METRICS_TOKEN``."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from connections.metrics import definitions  # noqa: F401 - the metrics exist in every process
from connections.metrics.collector import OutboxCollector


def metrics_scrape(*, accept: str = "") -> tuple[bytes, str]:
    """Every process's counters (summed from the multiprocess files) and the outbox gauges,
    in the format ``accept`` asks for (Prometheus text 0.0.4 unless told otherwise), with
    its content type.

    A registry per scrape, as multiprocess mode requires: the files change between scrapes.
    """
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    registry.register(OutboxCollector())
    encode, content_type = choose_encoder(accept)
    return bytes(encode(registry)), content_type


def _authorised(request: HttpRequest) -> bool:
    token = settings.MPBRAZE_METRICS_TOKEN
    if not token:
        return True  # open: a scrape on a private network
    supplied = request.headers.get("Authorization", "")
    return hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _authorised(request):
        response = HttpResponse("A bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics_scrape(accept=request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)
