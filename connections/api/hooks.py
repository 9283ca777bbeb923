"""REST hook subscriptions over the API (the resthooks.org pattern): subscribe with a target
URL and events, get the signing secret once, list, change, re-enable and unsubscribe; read
each delivery with its attempts. A user sees only their own subscriptions (a superuser all)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from connections.api.auth import token, user_of
from connections.api.common import ERRORS
from connections.api.errors import not_found
from connections.api.pagination import MAX_LIMIT, page
from connections.api.schemas import Page, Strict
from connections.hooks import selectors, services
from connections.hooks.events import EVENTS
from connections.hooks.models import HookDelivery, HookSubscription
from connections.rules.ids import DatabaseId

router = Router(tags=["REST hooks"])
VIEW = token("read", "connections.view_hooksubscription")
ADD = token("write", "connections.add_hooksubscription")
CHANGE = token("write", "connections.change_hooksubscription")
DELETE = token("write", "connections.delete_hooksubscription")


class HookIn(Strict):
    target_url: str = Field(max_length=2000, description="https URL that receives the events.")
    events: list[str] = Field(max_length=len(EVENTS), description=f"Of: {', '.join(EVENTS)}.")
    description: str = Field("", max_length=200)


class HookPatch(Strict):
    target_url: str | None = Field(None, max_length=2000)
    events: list[str] | None = Field(None, max_length=len(EVENTS))
    description: str | None = Field(None, max_length=200)
    active: bool | None = Field(None, description="true re-enables a disabled subscription.")


class HookOut(Schema):
    id: int
    target_url: str
    events: list[str]
    description: str
    active: bool
    disabled_reason: str
    failing_since: datetime | None
    created_at: datetime


class HookCreated(HookOut):
    secret: str = Field(description="whsec_… signing secret. Shown once: store it now.")


class HookPage(Page):
    items: list[HookOut]


class HookAttemptOut(Schema):
    at: datetime
    status_code: int | None
    latency_ms: int | None
    error: str
    response_body: str


class HookDeliveryOut(Schema):
    id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    created_at: datetime
    finished_at: datetime | None
    payload: Any
    attempt_records: list[HookAttemptOut]


class HookDeliveryPage(Page):
    items: list[HookDeliveryOut]


def hook_out(subscription: HookSubscription) -> dict[str, Any]:
    return {name: getattr(subscription, name) for name in HookOut.model_fields}


def delivery_out(delivery: HookDelivery) -> dict[str, Any]:
    plain = (
        "id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "finished_at",
    )
    return {
        **{name: getattr(delivery, name) for name in plain},
        "event_id": delivery.event.event_id,
        "event_type": delivery.event.type,
        "payload": delivery.event.payload,
        "attempt_records": [
            {name: getattr(a, name) for name in HookAttemptOut.model_fields}
            for a in delivery.attempt_records.order_by("at", "pk")
        ],
    }


def subscription_get(request: HttpRequest, hook_id: DatabaseId) -> HookSubscription:
    """One of the caller's subscriptions; another person's answers 404, as if absent."""
    found = selectors.hook_subscriptions_for(user_of(request)).filter(pk=hook_id).first()
    if found is None:
        raise not_found("hook subscription of yours")
    return found


@router.post("/hooks", response={201: HookCreated, **ERRORS}, auth=ADD)
def hooks_create(request: HttpRequest, payload: HookIn) -> Status[Any]:
    """Subscribe: deliveries are signed with the Standard Webhooks scheme and this secret."""
    subscription, secret = services.hook_subscription_create(
        user=user_of(request),
        target_url=payload.target_url,
        events=payload.events,
        description=payload.description,
    )
    return Status(201, {**hook_out(subscription), "secret": secret})


@router.get("/hooks", response={200: HookPage, **ERRORS}, auth=VIEW)
def hooks_list(
    request: HttpRequest,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    rows = selectors.hook_subscriptions_for(user_of(request))
    return page(rows, cursor=cursor, limit=limit, render=hook_out)


@router.get("/hooks/{hook_id}", response={200: HookOut, **ERRORS}, auth=VIEW)
def hooks_read(request: HttpRequest, hook_id: DatabaseId) -> dict[str, Any]:
    return hook_out(subscription_get(request, hook_id))


@router.patch("/hooks/{hook_id}", response={200: HookOut, **ERRORS}, auth=CHANGE)
def hooks_update(request: HttpRequest, hook_id: DatabaseId, payload: HookPatch) -> dict[str, Any]:
    subscription = subscription_get(request, hook_id)
    services.hook_subscription_update(
        subscription=subscription,
        target_url=payload.target_url,
        events=payload.events,
        description=payload.description,
    )
    if payload.active is True and not subscription.active:
        services.hook_subscription_enable(subscription=subscription)
    elif payload.active is False and subscription.active:
        services.hook_subscription_disable(subscription=subscription, reason="Paused over the API.")
    subscription.refresh_from_db()
    return hook_out(subscription)


@router.delete("/hooks/{hook_id}", response={204: None, **ERRORS}, auth=DELETE)
def hooks_delete(request: HttpRequest, hook_id: DatabaseId) -> Status[None]:
    """Unsubscribe: nothing more is sent to the target, waiting deliveries included."""
    services.hook_subscription_delete(subscription=subscription_get(request, hook_id))
    return Status(204, None)


@router.get("/hooks/{hook_id}/deliveries", response={200: HookDeliveryPage, **ERRORS}, auth=VIEW)
def hooks_deliveries(
    request: HttpRequest,
    hook_id: DatabaseId,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    """What was sent to this subscription, newest first, with every attempt."""
    subscription = subscription_get(request, hook_id)
    rows = selectors.hook_deliveries_for(subscription).prefetch_related("attempt_records")
    return page(rows, cursor=cursor, limit=limit, render=delivery_out)
