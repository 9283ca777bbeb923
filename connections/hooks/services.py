"""Writes of REST hooks: subscriptions, and recording an event for the subscriptions that want
it (in the caller's transaction; the send task is published after commit)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from connections.crypto import encryption
from connections.hooks.events import EVENTS, event_body, event_id_new
from connections.hooks.models import HookDelivery, HookEvent, HookSubscription
from connections.hooks.signing import secret_new
from connections.hooks.targets import HookError, target_url_check
from connections.models import Connection
from mpbraze.publish import publish

logger = logging.getLogger(__name__)
# Which events any active subscription wants, per process, for this long: emitting an event
# nobody wants costs no query (a subscription made in another process is seen this late).
WANTED_SECONDS = 5.0
_wanted: tuple[float, frozenset[str]] = (0.0, frozenset())
# Deliveries per send message: an event for 30 subscriptions is two tasks, not 30 (a task
# sends its batch a few at once, connections.hooks.batch).
HOOK_BATCH_SIZE = 25


def hook_events_wanted() -> frozenset[str]:
    """The event names at least one active subscription receives (cached briefly)."""
    global _wanted
    until, events = _wanted
    if time.monotonic() < until:
        return events
    names = HookSubscription.objects.filter(active=True).values_list("events", flat=True)
    events = frozenset(name for listed in names for name in listed)
    _wanted = (time.monotonic() + WANTED_SECONDS, events)
    return events


def hook_subscribers_forget() -> None:
    """Subscriptions changed: the next emit asks the database again."""
    global _wanted
    _wanted = (0.0, frozenset())


def _changed() -> None:
    hook_subscribers_forget()
    transaction.on_commit(hook_subscribers_forget)


def hook_events_parse(events: Iterable[str]) -> list[str]:
    """Known event names, each once, in the catalogue's order; ``HookError("events")``."""
    if isinstance(events, str):
        raise HookError("events", "expected a list of event names")
    names = [str(name).strip() for name in events]
    unknown = sorted({name for name in names if name not in EVENTS})
    if unknown or not names:
        got = ", ".join(unknown) or "none"
        raise HookError("events", f"expected one or more of {', '.join(EVENTS)}, got {got}")
    return [name for name in EVENTS if name in names]


def hook_subscription_create(
    *, user: User, target_url: str, events: list[str], description: str = ""
) -> tuple[HookSubscription, str]:
    """A new subscription of ``user``; returns it and its plain signing secret (shown once,
    stored encrypted because every delivery is signed with it)."""
    url = target_url_check(target_url)
    names = hook_events_parse(events)
    secret = secret_new()
    subscription = HookSubscription.objects.create(
        owner=user,
        target_url=url,
        events=names,
        description=description.strip()[:200],
        secret_encrypted=encryption.encrypt(secret),
    )
    _changed()
    return subscription, secret


def hook_subscription_update(
    *,
    subscription: HookSubscription,
    target_url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
) -> HookSubscription:
    """Change what is given (each checked as on creation); the secret stays."""
    if target_url is not None:
        subscription.target_url = target_url_check(target_url)
    if events is not None:
        subscription.events = hook_events_parse(events)
    if description is not None:
        subscription.description = description.strip()[:200]
    subscription.save(update_fields=["target_url", "events", "description"])
    _changed()
    return subscription


def hook_subscription_delete(*, subscription: HookSubscription) -> None:
    subscription.delete()
    _changed()


def hook_subscription_enable(*, subscription: HookSubscription) -> None:
    """Send again: the failing state and the reason it was disabled are cleared."""
    HookSubscription.objects.filter(pk=subscription.pk).update(
        active=True, disabled_reason="", failing_since=None
    )
    subscription.active, subscription.disabled_reason, subscription.failing_since = True, "", None
    _changed()


def hook_subscription_disable(*, subscription: HookSubscription, reason: str) -> bool:
    """Stop sending, say why to the owner, and cancel what waited. False if already off."""
    with transaction.atomic():
        changed = HookSubscription.objects.filter(pk=subscription.pk, active=True).update(
            active=False, disabled_reason=reason[:1000]
        )
        HookDelivery.objects.filter(
            subscription_id=subscription.pk, status=HookDelivery.Status.PENDING
        ).update(
            status=HookDelivery.Status.CANCELLED,
            finished_at=timezone.now(),
            last_error="the hook was disabled",
        )
    if changed:
        subscription.active, subscription.disabled_reason = False, reason[:1000]
        _changed()
    return bool(changed)


def hook_event_emit(
    *,
    event: str,
    connection: Connection | None = None,
    data: dict[str, Any],
    dedupe_key: str | None = None,
) -> HookEvent | None:
    """Record ``event`` and a delivery for each active subscription to it, in the caller's
    transaction; the deliveries are published after commit (the sweep publishes what a
    broker outage lost). Nothing is recorded when nobody wants it, or when an event with
    ``dedupe_key`` exists already. Returns the event recorded, if any."""
    if event not in EVENTS:
        raise ValueError(f"unknown hook event {event!r}")
    if event not in hook_events_wanted():
        return None
    wanted = HookSubscription.objects.filter(active=True).values_list("pk", "events")
    subscribers = [pk for pk, events in wanted if event in events]
    if not subscribers or _seen(dedupe_key):
        return None
    try:
        recorded, delivery_ids = _record(event, connection, data, dedupe_key, subscribers)
    except IntegrityError:
        if dedupe_key and HookEvent.objects.filter(dedupe_key=dedupe_key).exists():
            return None  # recorded meanwhile by a concurrent emit
        raise
    transaction.on_commit(lambda: hook_deliveries_publish(delivery_ids=delivery_ids), robust=True)
    return recorded


def _seen(dedupe_key: str | None) -> bool:
    return bool(dedupe_key) and HookEvent.objects.filter(dedupe_key=dedupe_key).exists()


def _record(
    event: str,
    connection: Connection | None,
    data: dict[str, Any],
    dedupe_key: str | None,
    subscribers: list[int],
) -> tuple[HookEvent, list[int]]:
    now = timezone.now()
    with transaction.atomic():
        recorded = HookEvent.objects.create(
            event_id=event_id_new(),
            type=event,
            connection=connection,
            body=event_body(event=event, data=data, at=now),
            dedupe_key=dedupe_key,
        )
        deliveries = HookDelivery.objects.bulk_create(
            HookDelivery(event=recorded, subscription_id=pk, next_attempt_at=now)
            for pk in subscribers
        )
    return recorded, [delivery.pk for delivery in deliveries]


def hook_deliveries_publish(
    *, delivery_ids: Sequence[int], countdown: float = 0.0, now: datetime | None = None
) -> int:
    """One send message per ``HOOK_BATCH_SIZE`` deliveries (on the hooks queue), stamped as
    published; stops at a broker failure (the sweep publishes the rest). Returns how many
    deliveries were published."""
    ids = list(delivery_ids)
    published: list[int] = []
    for start in range(0, len(ids), HOOK_BATCH_SIZE):
        batch = ids[start : start + HOOK_BATCH_SIZE]
        try:
            publish("mpbraze.hook_deliveries_send", (batch,), countdown=countdown)
        except Exception:
            logger.warning("Could not publish %d REST hook deliveries", len(batch), exc_info=True)
            break
        published += batch
    HookDelivery.objects.filter(
        pk__in=published, status=HookDelivery.Status.PENDING, enqueued_at__isnull=True
    ).update(enqueued_at=now or timezone.now())
    return len(published)
