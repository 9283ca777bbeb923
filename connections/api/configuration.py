"""Connections and their outputs over the API, through the same validation functions as the
marketer's forms (``ConnectionCreateForm``/``ConnectionEditForm`` for names,
``validate_output`` for outputs), so a rule cannot differ between page and API."""

from __future__ import annotations

from typing import Annotated, Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import ValidationError as PydanticError

from connections import hosts, selectors, services
from connections.api.auth import token
from connections.api.errors import ApiError, ErrorOut, not_found
from connections.api.pagination import MAX_LIMIT, page
from connections.api.schemas import (
    ConnectionCreated,
    ConnectionIn,
    ConnectionOut,
    ConnectionPatch,
    OutputIn,
    OutputOut,
    OutputPatch,
    Page,
    SecretOut,
)
from connections.connectivity.health import Health, connections_health
from connections.forms import OUTPUT_CONFIG_FIELDS, ConnectionCreateForm, ConnectionEditForm
from connections.ids import DatabaseId
from connections.models import BrazeOutput, Connection, Platform, platform_order
from connections.validation import OutputDraft, SiblingOutput, validate_output
from mapping.settings import OutputSettings

router = Router(tags=["connections"])
ERRORS: dict[int, Any] = dict.fromkeys((400, 401, 403, 404, 409, 413, 422), ErrorOut)
VIEW = token("read", "connections.view_connection")
ADD = token("write", "connections.add_connection", "connections.add_brazeoutput")
CHANGE = token("write", "connections.change_connection")
CHANGE_OUTPUT = token("write", "connections.change_brazeoutput")
ADD_OUTPUT = token("write", "connections.add_brazeoutput")
DELETE_OUTPUT = token("write", "connections.delete_brazeoutput")


class ConnectionPage(Page):
    items: list[ConnectionOut]


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
        "settings",
        "updated_at",
    )
    return {name: getattr(output, name) for name in fields}


def connection_out(connection: Connection, health: Health | None = None) -> dict[str, Any]:
    fields = ("id", "name", "slug", "enabled", "paused_reason", "paused_at", "inbound_key")
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


@router.get("", response={200: ConnectionPage, **ERRORS}, auth=VIEW)
def connections_list(
    request: HttpRequest,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    rows = Connection.objects.prefetch_related("outputs")
    found = page(rows, cursor=cursor, limit=limit, render=lambda c: c, newest_first=False)
    health = connections_health(found["items"])  # a fixed number of queries for the page
    found["items"] = [connection_out(c, health[c.pk]) for c in found["items"]]
    return found


@router.post("", response={201: ConnectionCreated, **ERRORS}, auth=ADD)
def connections_create(request: HttpRequest, payload: ConnectionIn) -> Status[Any]:
    name = _valid_name(ConnectionCreateForm({"name": payload.name}))
    with transaction.atomic():
        connection, secret = services.connection_create(name=name)
        _outputs_create(connection, payload.outputs)
    return Status(201, {**connection_out(connection), "inbound_secret": secret})


def _valid_name(form: ConnectionCreateForm | ConnectionEditForm) -> str:
    if not form.is_valid():
        raise ApiError.invalid(
            {name: [str(m) for m in errors] for name, errors in form.errors.items()}
        )
    return str(form.cleaned_data["name"])


def _outputs_create(connection: Connection, outputs: list[OutputIn]) -> None:
    """App outputs first, the Server output last (it needs one); any error undoes it all."""
    ordered = sorted(enumerate(outputs), key=lambda pair: pair[1].platform == Platform.SERVER)
    siblings: list[SiblingOutput] = []
    for index, item in ordered:
        prefix = f"outputs.{index}."
        draft = _draft(item, None, item.platform, item.api_key)
        settings = _settings(item.settings, None, prefix)
        result = validate_output(draft, siblings, _policy(), key_required=True)
        if result.errors:
            raise ApiError.invalid(result.errors, prefix=prefix)
        services.output_save(connection=connection, draft=result.draft, settings=settings)
        siblings.append(
            SiblingOutput(item.platform, result.draft.key_fingerprint, result.draft.rest_host)
        )


def _policy() -> hosts.EndpointPolicy:
    return hosts.EndpointPolicy.from_settings()


def _draft(
    item: OutputPatch, output: BrazeOutput | None, platform: str, api_key: str
) -> OutputDraft:
    """The output as asked: named fields from the request, the rest as stored (or defaults)."""
    base = OutputDraft(platform=platform)
    current: dict[str, Any] = {}
    for name in OUTPUT_CONFIG_FIELDS:
        value = getattr(item, name)
        if value is None:
            value = getattr(output, name) if output is not None else getattr(base, name)
        current[name] = value
    fingerprint = output.api_key_fingerprint if output is not None else ""
    return OutputDraft(
        platform=platform, api_key=api_key, stored_key_fingerprint=fingerprint, **current
    )


def _settings(patch: Any, output: BrazeOutput | None, prefix: str) -> OutputSettings:
    stored = output.settings if output is not None else {}
    changes = patch.model_dump(exclude_none=True) if patch is not None else {}
    try:
        return OutputSettings.model_validate({**stored, **changes})
    except PydanticError as error:
        raise ApiError.invalid(
            {
                ".".join(str(p) for p in e["loc"]): [str(e["msg"])]
                for e in error.errors(include_url=False)
            },
            prefix=f"{prefix}settings.",
        ) from None


@router.get("/{pk}", response={200: ConnectionOut, **ERRORS}, auth=VIEW)
def connections_read(request: HttpRequest, pk: DatabaseId) -> dict[str, Any]:
    return connection_out(connection_get(pk))


@router.patch("/{pk}", response={200: ConnectionOut, **ERRORS}, auth=CHANGE)
def connections_update(
    request: HttpRequest, pk: DatabaseId, payload: ConnectionPatch
) -> dict[str, Any]:
    connection = connection_get(pk)
    name = connection.name if payload.name is None else payload.name
    enabled = connection.enabled if payload.enabled is None else payload.enabled
    name = _valid_name(ConnectionEditForm({"name": name, "enabled": enabled or ""}))
    services.connection_update(connection=connection, name=name, enabled=enabled)
    return connection_out(connection)


@router.post("/{pk}/rotate-secret", response={200: SecretOut, **ERRORS}, auth=CHANGE)
def connections_rotate_secret(request: HttpRequest, pk: DatabaseId) -> dict[str, Any]:
    """A new inbound secret, shown once; the previous one stops working at once."""
    connection = connection_get(pk)
    secret = services.connection_rotate_inbound_secret(connection=connection)
    return {"inbound_key": connection.inbound_key, "inbound_secret": secret}


@router.get("/{pk}/outputs", response={200: list[OutputOut], **ERRORS}, auth=VIEW)
def outputs_list(request: HttpRequest, pk: DatabaseId) -> list[dict[str, Any]]:
    connection = connection_get(pk)
    return [output_out(o) for o in connection.outputs.order_by(platform_order())]


@router.post("/{pk}/outputs", response={201: OutputOut, **ERRORS}, auth=ADD_OUTPUT)
def outputs_create(request: HttpRequest, pk: DatabaseId, payload: OutputIn) -> Status[Any]:
    connection = connection_get(pk)
    draft = _draft(payload, None, payload.platform, payload.api_key)
    settings = _settings(payload.settings, None, "")
    result = validate_output(
        draft, selectors.output_siblings(connection), _policy(), key_required=True
    )
    if result.errors:
        raise ApiError.invalid(result.errors)
    output = services.output_save(connection=connection, draft=result.draft, settings=settings)
    return Status(201, output_out(output))


@router.get("/{pk}/outputs/{platform}", response={200: OutputOut, **ERRORS}, auth=VIEW)
def outputs_read(request: HttpRequest, pk: DatabaseId, platform: str) -> dict[str, Any]:
    return output_out(output_get(pk, platform))


@router.patch("/{pk}/outputs/{platform}", response={200: OutputOut, **ERRORS}, auth=CHANGE_OUTPUT)
def outputs_update(
    request: HttpRequest, pk: DatabaseId, platform: str, payload: OutputPatch
) -> dict[str, Any]:
    output = output_get(pk, platform)
    draft = _draft(payload, output, output.platform, payload.api_key)
    settings = _settings(payload.settings, output, "")
    siblings = selectors.output_siblings(output.connection, excluding=output)
    result = validate_output(draft, siblings, _policy(), key_required=False)
    if result.errors:
        raise ApiError.invalid(result.errors)
    services.output_save(
        connection=output.connection, draft=result.draft, settings=settings, output=output
    )
    return output_out(output)


@router.delete("/{pk}/outputs/{platform}", response={204: None, **ERRORS}, auth=DELETE_OUTPUT)
def outputs_delete(request: HttpRequest, pk: DatabaseId, platform: str) -> Status[Any]:
    output = output_get(pk, platform)
    try:
        services.output_delete(output=output)
    except services.OutputInUse as error:
        raise ApiError(409, "conflict", str(error), "platform") from None
    return Status(204, None)
