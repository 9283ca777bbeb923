"""The REST API root (docs/api.md): ``/api/v1/``, its OpenAPI document and a docs page served
from the vendored Swagger UI (no CDN)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from ninja import NinjaAPI, Swagger

from connections.api import (
    configuration,
    deliveries,
    errors,
    health,
    hooks,
    instance_change,
    live_events,
    replays,
    retries,
)
from connections.api import connectivity as checks
from connections.api.parsing import StrictParser
from mapping import api as mapping_api

api = NinjaAPI(
    title="mpbraze",
    version="1",
    description=(
        "Ops API of mpbraze. Authenticate with `Authorization: Bearer <token>` (create one in "
        "the admin or with `manage.py create_api_token`). Errors are "
        '`{"errors": [{"code", "message", "field"}]}`; lists are paged with `next_cursor`.'
    ),
    urls_namespace="api",
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
    parser=StrictParser(),
)
errors.install(api)
api.add_router("/connections", configuration.router)
api.add_router("/connections", instance_change.router)
api.add_router("/connections", live_events.router)
api.add_router("", checks.router)
api.add_router("", deliveries.router)
api.add_router("", replays.router)
api.add_router("", retries.router)
api.add_router("", mapping_api.router)
api.add_router("", health.router)
api.add_router("", hooks.router)


def api_not_found(request: HttpRequest) -> JsonResponse:
    """Any other path under /api/: a JSON 404 in the API's error shape, not an HTML page."""
    message = f"No API endpoint at {request.path[:200]}; see /api/v1/docs."
    return JsonResponse(
        {"errors": [{"code": "not_found", "message": message, "field": None}]}, status=404
    )
