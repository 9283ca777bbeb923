"""What the API's routers share: the error answers every operation may give, the lookups
that answer 404 naming what is missing, and how connections and outputs are rendered."""

from __future__ import annotations

from typing import Any

from connections.api.errors import ApiError, ErrorOut, not_found
from connections.connectivity.health import Health, connections_health
from connections.models import BrazeOutput, Connection, Platform

ERRORS: dict[int, Any] = dict.fromkeys((400, 401, 403, 404, 409, 413, 422), ErrorOut)


def output_out(output: BrazeOutput) -> dict[str, Any]:
    fields = (
        "platform",
        "api_key_masked",
        "braze_instance",
        "rest_host",
        "custom_rest_endpoint",
        "custom_sdk_endpoint",
        "custom_js_endpoint",
        "external_identity_type",
        "email_identity_type",
        "delivery_mode",
        "allowed_origins",
        "settings",
        "updated_at",
    )
    return {name: getattr(output, name) for name in fields}


def connection_out(connection: Connection, health: Health | None = None) -> dict[str, Any]:
    fields = (
        "id",
        "name",
        "slug",
        "enabled",
        "redact_live_events",
        "paused_reason",
        "paused_at",
        "inbound_key",
        "web_key",
    )
    health = health or connections_health([connection])[connection.pk]
    return {
        **{name: getattr(connection, name) for name in fields},
        "status": connection.status.value,
        "health": health_out(health),
        "created_at": connection.created_at,
        "updated_at": connection.updated_at,
        "outputs": [output_out(o) for o in _ordered(connection.outputs.all())],
    }


def health_out(health: Health) -> dict[str, Any]:
    return {
        "state": health.kind,
        "label": health.label,
        "reason": health.detail,
        "since": health.since,
    }


def _ordered(outputs: Any) -> list[BrazeOutput]:
    """iOS, Android, Web, Server (from a prefetch, so no query)."""
    return sorted(outputs, key=lambda output: Platform.values.index(output.platform))


def connection_get(pk: int) -> Connection:
    found = Connection.objects.filter(pk=pk).first()
    if found is None:
        raise not_found("connection")
    return found


def output_get(pk: int, platform: str) -> BrazeOutput:
    connection_get(pk)
    if platform not in Platform.values:
        choices = ", ".join(Platform.values)
        raise ApiError(404, "not_found", f"No platform {platform[:20]!r}; one of {choices}.")
    found = BrazeOutput.objects.filter(connection_id=pk, platform=platform).first()
    if found is None:
        raise ApiError(404, "not_found", f"This connection has no {platform} output.")
    return found
