"""``POST /connections/{id}/change-instance``: every output of a connection to another Braze
instance in one step, under ``validate_instance_change`` (the page's rules too); a dry run
unless confirmed, as bulk replays are."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from connections import selectors, services
from connections.api.auth import token, user_of
from connections.api.common import ERRORS, connection_get, connection_out
from connections.api.errors import ApiError
from connections.api.schemas import ConnectionOut, Strict
from connections.rules.ids import DatabaseId
from connections.rules.instance_change import (
    IN_FLIGHT,
    InstanceChange,
    instance_change_changes,
    validate_instance_change,
)
from mpbraze.addresses import EndpointPolicy

CHANGE_OUTPUT = token("write", "connections.change_brazeoutput")
router = Router(tags=["connections"])


class InstanceChangeIn(Strict):
    braze_instance: str = Field(
        description="A catalog code (US-03, EU-01, …) or custom.", max_length=20
    )
    custom_rest_endpoint: str = Field("", description="Required with custom.", max_length=300)
    custom_sdk_endpoint: str = Field("", description="With custom; app outputs.", max_length=300)
    custom_js_endpoint: str = Field("", description="With custom; the Web output.", max_length=300)
    confirm: bool = Field(False, description="Without it, a dry run: nothing is written.")


class OutputChangeOut(Schema):
    platform: str
    field: str = Field(description="braze_instance, rest_host, sdk_host or js_host.")
    before: str
    after: str


class InstanceChangeOut(Schema):
    confirmed: bool = Field(description="Whether the change was made (false: a dry run).")
    changes: list[OutputChangeOut]
    notices: list[str] = Field(description="How values were normalised (a stripped https://).")
    in_flight: str
    check_ids: list[int] = Field(description="The connectivity checks started after the change.")
    connection: ConnectionOut


@router.post(
    "/{pk}/change-instance", response={200: InstanceChangeOut, **ERRORS}, auth=CHANGE_OUTPUT
)
def connections_change_instance(
    request: HttpRequest, pk: DatabaseId, payload: InstanceChangeIn
) -> dict[str, Any]:
    """Set the Braze instance (or custom endpoints) of every output at once, validated as a
    set; recorded in the outputs' history, then a connectivity check of each output starts."""
    connection = connection_get(pk)
    outputs = selectors.connection_output_drafts(connection)
    change = InstanceChange(**payload.model_dump(exclude={"confirm"}))
    result = validate_instance_change(change, outputs, EndpointPolicy.from_settings())
    if result.errors:
        raise ApiError.invalid(result.errors)
    checks = []
    if payload.confirm:
        checks = services.connection_change_instance(
            connection=connection, change=result.change, changed_by=user_of(request)
        )
    return {
        "confirmed": payload.confirm,
        "changes": instance_change_changes(outputs, result.drafts),
        "notices": result.notices,
        "in_flight": IN_FLIGHT,
        "check_ids": [check.pk for check in checks],
        "connection": connection_out(connection),
    }
