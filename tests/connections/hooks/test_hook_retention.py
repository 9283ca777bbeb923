"""REST hook retention: finished deliveries, their attempts and their events are forgotten after
``MPBRAZE_HOOK_RETENTION_DAYS`` by the outbox's retention task; waiting ones are kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from connections.delivery import retention
from connections.hooks import services
from connections.hooks.models import HookAttempt, HookDelivery, HookEvent, HookSubscription
from connections.hooks.services import hook_event_emit, hook_subscription_create

pytestmark = pytest.mark.django_db
Status = HookDelivery.Status
EVENT = "connection.paused"


@pytest.fixture(autouse=True)
def _retention(settings: Any) -> None:
    settings.MPBRAZE_HOOK_RETENTION_DAYS = 7


def ago(days: float) -> Any:
    return timezone.now() - timedelta(days=days)


def delivery_as(user: User, *, days: float, status: str, attempts: int = 1) -> HookDelivery:
    """An event for a subscription of its own, recorded ``days`` ago, its delivery in
    ``status`` (finished then, when it is final) with ``attempts`` attempt rows."""
    subscription, _ = hook_subscription_create(
        user=user, target_url="https://hooks.example.com/in", events=[EVENT]
    )
    event = hook_event_emit(event=EVENT, data={"days": days})
    assert event is not None
    # The next event goes to the next subscription alone.
    HookSubscription.objects.filter(pk=subscription.pk).update(active=False)
    services.hook_subscribers_forget()
    HookEvent.objects.filter(pk=event.pk).update(created_at=ago(days))
    finished = ago(days) if status in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED) else None
    event.deliveries.update(status=status, created_at=ago(days), finished_at=finished)
    delivery = event.deliveries.get()
    for _ in range(attempts):
        HookAttempt.objects.create(delivery=delivery, at=ago(days), status_code=500)
    return delivery


def kept() -> tuple[set[int], set[int], set[int]]:
    """Ids of the events, deliveries and attempt deliveries left."""
    return (
        set(HookEvent.objects.values_list("pk", flat=True)),
        set(HookDelivery.objects.values_list("pk", flat=True)),
        set(HookAttempt.objects.values_list("delivery_id", flat=True)),
    )


def test_finished_deliveries_their_attempts_and_events_are_pruned_after_the_period(
    ops: User,
) -> None:
    delivered = delivery_as(ops, days=8, status=Status.SUCCEEDED)
    failed = delivery_as(ops, days=8, status=Status.FAILED, attempts=8)
    cancelled = delivery_as(ops, days=8, status=Status.CANCELLED, attempts=0)
    recent = delivery_as(ops, days=6, status=Status.FAILED, attempts=2)

    report = retention.retention_prune()

    assert (report.hook_deliveries, report.hook_events, report.complete) == (3, 3, True)
    assert kept() == ({recent.event_id}, {recent.pk}, {recent.pk})
    pruned = {delivered.pk, failed.pk, cancelled.pk}
    assert not HookAttempt.objects.filter(delivery_id__in=pruned).exists()


def test_waiting_and_sending_deliveries_keep_their_attempts_and_event_whatever_their_age(
    ops: User,
) -> None:
    waiting = delivery_as(ops, days=30, status=Status.PENDING, attempts=3)
    sending = delivery_as(ops, days=30, status=Status.SENDING)

    report = retention.retention_prune()

    assert (report.hook_deliveries, report.hook_events) == (0, 0)
    both = {waiting.pk, sending.pk}
    assert kept() == ({waiting.event_id, sending.event_id}, both, both)


def test_an_event_is_kept_while_one_of_its_deliveries_is(ops: User) -> None:
    for _ in range(2):
        hook_subscription_create(user=ops, target_url="https://a.example.com/in", events=[EVENT])
    event = hook_event_emit(event=EVENT, data={})
    assert event is not None
    HookEvent.objects.filter(pk=event.pk).update(created_at=ago(9))
    done, waiting = event.deliveries.order_by("pk")
    HookDelivery.objects.filter(pk=done.pk).update(status=Status.SUCCEEDED, finished_at=ago(9))

    report = retention.retention_prune()

    assert (report.hook_deliveries, report.hook_events) == (1, 0)
    assert kept()[:2] == ({event.pk}, {waiting.pk})
    HookDelivery.objects.filter(pk=waiting.pk).update(status=Status.FAILED, finished_at=ago(8))
    assert retention.retention_prune().hook_events == 1
    assert kept() == (set(), set(), set())


def test_an_event_left_without_deliveries_by_a_deleted_hook_is_pruned(ops: User) -> None:
    old = delivery_as(ops, days=8, status=Status.PENDING)
    new = delivery_as(ops, days=1, status=Status.PENDING)
    services.hook_subscription_delete(subscription=old.subscription)
    services.hook_subscription_delete(subscription=new.subscription)

    report = retention.retention_prune()

    assert report.hook_events == 1
    assert kept()[0] == {new.event_id}


def test_pruning_walks_in_chunks_and_the_period_is_a_setting(ops: User, settings: Any) -> None:
    for _ in range(5):
        delivery_as(ops, days=3, status=Status.SUCCEEDED, attempts=2)
    assert retention.retention_prune().hook_deliveries == 0  # within the 7 days
    settings.MPBRAZE_HOOK_RETENTION_DAYS = 2

    report = retention.retention_prune(chunk=2)

    assert (report.hook_deliveries, report.hook_events) == (5, 5)
    assert kept() == (set(), set(), set())
