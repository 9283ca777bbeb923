"""Connections and their outputs over the API, through the same validation functions as the
marketer's forms (``ConnectionCreateForm``/``ConnectionEditForm`` for names,
``validate_output`` for outputs), so a rule cannot differ between page and API."""

from __future__ import annotations

from typing import Annotated, Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import ValidationError as PydanticError

from connections import selectors, services
from connections.api.auth import token
from connections.api.common import (
    ERRORS,
    connection_get,
    connection_out,
    output_get,
    output_out,
)
from connections.api.errors import ApiError
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
from connections.connectivity.health import connections_health
from connections.models import BrazeOutput, Connection, Platform, platform_order
from connections.pages.forms import OUTPUT_CONFIG_FIELDS, ConnectionCreateForm, ConnectionEditForm
from connections.rules.ids import DatabaseId
from connections.rules.validation import OutputDraft, SiblingOutput, validate_output
from mapping.output_settings import OutputSettings
from mpbraze.addresses import EndpointPolicy

router = Router(tags=["connections"])
VIEW = token("read", "connections.view_connection")
ADD = token("write", "connections.add_connection", "connections.add_brazeoutput")
CHANGE = token("write", "connections.change_connection")
CHANGE_OUTPUT = token("write", "connections.change_brazeoutput")
ADD_OUTPUT = token("write", "connections.add_brazeoutput")
DELETE_OUTPUT = token("write", "connections.delete_brazeoutput")


class ConnectionPage(Page):
    items: list[ConnectionOut]


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


def _policy() -> EndpointPolicy:
    return EndpointPolicy.from_settings()


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
    origins = item.allowed_origins
    if origins is None:
        origins = list(output.allowed_origins or []) if output is not None else []
    return OutputDraft(
        platform=platform,
        api_key=api_key,
        stored_key_fingerprint=fingerprint,
        allowed_origins="\n".join(origins),
        **current,
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
    services.connection_update(
        connection=connection,
        name=name,
        enabled=enabled,
        redact_live_events=payload.redact_live_events,
    )
    return connection_out(connection)


@router.post("/{pk}/rotate-secret", response={200: SecretOut, **ERRORS}, auth=CHANGE)
def connections_rotate_secret(request: HttpRequest, pk: DatabaseId) -> dict[str, Any]:
    """A new inbound secret, shown once; the previous one stops working at once."""
    connection = connection_get(pk)
    secret = services.connection_rotate_inbound_secret(connection=connection)
    return {"inbound_key": connection.inbound_key, "inbound_secret": secret}


@router.post("/{pk}/rotate-web-key", response={200: ConnectionOut, **ERRORS}, auth=CHANGE)
def connections_rotate_web_key(request: HttpRequest, pk: DatabaseId) -> dict[str, Any]:
    """A new web key for the mParticle Web SDK; the previous one stops working at once."""
    connection = connection_get(pk)
    services.connection_rotate_web_key(connection=connection)
    return connection_out(connection)


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
