"""The hooks sweep (beat): what a lost message, a dead worker or a long wait left behind.

* deliveries whose worker died mid-send (lease expired) go back to waiting;
* due deliveries never published (broker down, or a wait longer than a safe countdown), or
  published long ago and still waiting, are published;
* hooks failing for too long are disabled;
* closed minutes of failed rows become ``delivery.*`` events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from connections.hooks.failures import hook_failures_flush
from connections.hooks.models import HookAttempt, HookDelivery
from connections.hooks.sending import hook_subscriptions_disable_failing
from connections.hooks.services import hook_deliveries_publish
from connections.hooks.tuning import hook_config

Status = HookDelivery.Status
PUBLISH_LIMIT = 1000


@dataclass(frozen=True)
class HookSweepReport:
    recovered: int
    published: int
    disabled: int
    failure_events: int


def hooks_sweep(*, now: datetime | None = None) -> HookSweepReport:
    now = now or timezone.now()
    return HookSweepReport(
        recovered=hook_deliveries_recover(now=now),
        published=hook_deliveries_publish_due(now=now),
        disabled=hook_subscriptions_disable_failing(now=now),
        failure_events=hook_failures_flush(now=now),
    )


def hook_deliveries_recover(*, now: datetime) -> int:
    """Deliveries whose sender died: waiting again, their open attempt marked unknown."""
    expired = list(
        HookDelivery.objects.filter(status=Status.SENDING, lease_until__lt=now).values_list(
            "pk", flat=True
        )
    )
    if not expired:
        return 0
    HookAttempt.objects.filter(delivery_id__in=expired, latency_ms__isnull=True).update(
        error="the worker stopped before the answer was recorded"
    )
    return HookDelivery.objects.filter(
        pk__in=expired, status=Status.SENDING, lease_until__lt=now
    ).update(status=Status.PENDING, lease_until=None, next_attempt_at=now, enqueued_at=None)


def hook_deliveries_publish_due(*, now: datetime) -> int:
    """Publish due deliveries whose message was never sent, or looks lost."""
    grace = now - timedelta(seconds=max(60.0, 2 * hook_config().sweep_seconds))
    lost = Q(enqueued_at__lt=grace, next_attempt_at__lt=grace)
    due = (
        HookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | lost)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:PUBLISH_LIMIT]
    )
    ids = list(due)
    # Publishing stamps them anew: a message merely slow is not published again next sweep.
    HookDelivery.objects.filter(pk__in=ids).update(enqueued_at=None)
    return hook_deliveries_publish(delivery_ids=ids, now=now)
