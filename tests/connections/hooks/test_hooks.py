"""REST hooks: subscriptions, signing, sending to a receiver on 127.0.0.1, retries, disabling
and the sweep. Names that must not resolve to loopback are simulated with ``fake_dns``."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from standardwebhooks import Webhook

from connections.hooks import services
from connections.hooks.models import HookAttempt, HookDelivery, HookEvent, HookSubscription
from connections.hooks.selectors import hook_deliveries_for, hook_subscriptions_for
from connections.hooks.sending import hook_delivery_send
from connections.hooks.services import (
    hook_event_emit,
    hook_subscription_create,
    hook_subscription_delete,
    hook_subscription_enable,
)
from connections.hooks.sweep import hook_deliveries_recover, hooks_sweep
from connections.hooks.targets import HookError, target_url_check
from mpbraze.addresses import EndpointPolicy
from tests.conftest import PASSWORD
from tests.connections.hooks_helpers import receiver

pytestmark = pytest.mark.django_db
Status = HookDelivery.Status
EVENT = "connection.paused"


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, float]]:
    """Send messages, as (delivery id, countdown) for each delivery of a message, instead of
    the broker."""
    sent: list[tuple[int, float]] = []

    def publish(task: Any, args: tuple[Any, ...], **options: Any) -> None:
        sent.extend((pk, options.get("countdown", 0.0)) for pk in args[0])

    monkeypatch.setattr("connections.hooks.services.publish", publish)
    return sent


def subscribe(user: User, url: str, events: list[str] | None = None) -> tuple[Any, str]:
    return hook_subscription_create(user=user, target_url=url, events=events or [EVENT])


def emitted(data: dict[str, Any] | None = None) -> HookDelivery:
    event = hook_event_emit(event=EVENT, data=data or {"reason": "key refused"})
    assert event is not None
    return event.deliveries.get()


def send(delivery: HookDelivery) -> HookDelivery:
    hook_delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def due_now(delivery: HookDelivery) -> None:
    HookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def attempts(delivery: HookDelivery) -> list[tuple[int | None, str]]:
    return list(delivery.attempt_records.order_by("at").values_list("status_code", "error"))


# --- subscriptions --------------------------------------------------------------------


def test_a_subscription_gets_a_whsec_secret_shown_once_and_stored_encrypted(ops: User) -> None:
    subscription, secret = subscribe(ops, "https://hooks.example.com/in", [EVENT, EVENT])
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret not in repr(HookSubscription.objects.values().get())
    assert subscription.secret == secret
    assert subscription.events == [EVENT]
    assert (subscription.active, subscription.owner) == (True, ops)


@pytest.mark.parametrize(
    ("url", "events", "field", "message"),
    [
        ("https://hooks.example.com", ["connection.exploded"], "events", "connection.exploded"),
        ("https://hooks.example.com", [], "events", "got none"),
        ("hooks.example.com/in", [EVENT], "target_url", "must start with https://"),
        ("https://", [EVENT], "target_url", "must start with https://"),
        ("https://exa mple.com", [EVENT], "target_url", "without spaces"),
        ("https://under_score.example.com", [EVENT], "target_url", "invalid character"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    ops: User, url: str, events: list[str], field: str, message: str
) -> None:
    with pytest.raises(HookError) as refused:
        hook_subscription_create(user=ops, target_url=url, events=events)
    assert refused.value.field == field
    assert message in refused.value.message
    assert not HookSubscription.objects.exists()


@pytest.mark.parametrize(
    ("url", "allow_local", "accepted"),
    [
        ("https://hooks.example.com/in?team=7", False, "https://hooks.example.com/in?team=7"),
        ("HTTPS://Hooks.Example.COM:8443/in", False, "https://hooks.example.com:8443/in"),
        ("http://hooks.example.com/in", False, "must use https://"),
        ("https://user:pw@hooks.example.com/in", False, "user name or password"),
        ("https://hooks.example.com/in#part", False, "fragment"),
        ("https://10.0.0.1/in", False, "private, loopback or link-local address (10.0.0.1)"),
        ("https://10.0.0.1/in", True, "private, loopback or link-local address (10.0.0.1)"),
        ("https://169.254.169.254/latest", True, "private, loopback or link-local"),
        ("https://[fd00::1]/in", True, "private, loopback or link-local"),
        ("https://[::1]/in", False, "private, loopback or link-local address ([::1])"),
        ("https://127.0.0.1:9000/in", False, "private, loopback or link-local"),
        ("http://localhost:9000/in", False, "private, loopback or link-local"),
        ("https://[::1]:9000/in", True, "https://[::1]:9000/in"),
        ("http://127.0.0.1:9000/in", True, "http://127.0.0.1:9000/in"),
        ("http://localhost:9000/in", True, "http://localhost:9000/in"),
        ("https://93.184.215.14/in", False, "https://93.184.215.14/in"),
        ("http://93.184.215.14/in", True, "must use https://"),
        ("ftp://hooks.example.com/in", False, "must start with https://"),
    ],
)
def test_target_urls_follow_the_endpoint_address_rules(
    url: str, allow_local: bool, accepted: str
) -> None:
    policy = EndpointPolicy(allow_local=allow_local)
    if accepted.startswith(("http://", "https://")):
        assert target_url_check(url, policy) == accepted
    else:
        with pytest.raises(HookError) as refused:
            target_url_check(url, policy)
        assert refused.value.field == "target_url"
        assert accepted in refused.value.message


def test_users_see_their_own_subscriptions_and_superusers_see_all(ops: User, auditor: User) -> None:
    mine, _ = subscribe(ops, "https://a.example.com/in")
    theirs, _ = subscribe(auditor, "https://b.example.com/in")
    root = User.objects.create_superuser("root", password=PASSWORD)
    assert list(hook_subscriptions_for(ops)) == [mine]
    assert set(hook_subscriptions_for(root)) == {mine, theirs}
    hook_subscription_delete(subscription=mine)
    assert list(hook_subscriptions_for(ops)) == []


# --- emitting ---------------------------------------------------------------------------


def test_nothing_is_recorded_when_no_active_subscription_wants_the_event(ops: User) -> None:
    assert hook_event_emit(event=EVENT, data={}) is None
    subscribe(ops, "https://a.example.com/in", ["connection.resumed"])
    off, _ = subscribe(ops, "https://b.example.com/in", [EVENT])
    HookSubscription.objects.filter(pk=off.pk).update(active=False)
    services.hook_subscribers_forget()
    assert hook_event_emit(event=EVENT, data={}) is None
    assert not HookEvent.objects.exists()
    assert not HookDelivery.objects.exists()


def test_an_event_gets_one_delivery_per_subscription_and_a_dedupe_key_makes_it_once(
    ops: User,
    auditor: User,
    published: list[tuple[int, float]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    subscribe(ops, "https://a.example.com/in")
    subscribe(auditor, "https://b.example.com/in")
    with django_capture_on_commit_callbacks(execute=True):
        first = hook_event_emit(event=EVENT, data={"n": 1}, dedupe_key="k1")
        again = hook_event_emit(event=EVENT, data={"n": 2}, dedupe_key="k1")
    assert first is not None
    assert again is None
    assert first.event_id.startswith("msg_")
    assert json.loads(first.body)["data"] == {"n": 1}
    assert json.loads(first.body)["type"] == EVENT
    assert first.deliveries.count() == 2
    assert sorted(pk for pk, _ in published) == sorted(
        first.deliveries.values_list("pk", flat=True)
    )
    assert HookDelivery.objects.filter(enqueued_at__isnull=False).count() == 2


def test_a_broker_outage_loses_nothing_the_sweep_publishes_it(
    ops: User, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    subscribe(ops, "https://a.example.com/in")

    def down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr("connections.hooks.services.publish", down)
    with django_capture_on_commit_callbacks(execute=True):
        delivery = emitted()
    assert HookDelivery.objects.get().enqueued_at is None
    sent: list[int] = []
    monkeypatch.setattr(
        "connections.hooks.services.publish", lambda task, args, **kw: sent.extend(args[0])
    )
    assert hooks_sweep().published == 1
    assert sent == [delivery.pk]
    assert hooks_sweep().published == 0  # published moments ago: not again


# --- sending ----------------------------------------------------------------------------


def test_the_exact_bytes_are_signed_and_standardwebhooks_verifies_them(ops: User) -> None:
    with receiver(200) as hook:
        _, secret = subscribe(ops, hook.url())
        delivery = send(emitted({"reason": "Braze refused the key — «401»", "n": 1.50}))
    assert delivery.status == Status.SUCCEEDED
    (request,) = hook.requests
    assert request.body == delivery.event.body.encode()
    headers = request.headers
    assert headers["webhook-id"] == delivery.event.event_id
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("mpbraze/")
    payload = Webhook(secret).verify(request.body, headers)
    assert payload["data"] == {"reason": "Braze refused the key — «401»", "n": 1.5}
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(request.body.replace(b"1.5", b"2.5"), headers)
    assert attempts(delivery) == [(200, "")]
    assert delivery.attempt_records.get().response_body == "thanks"


def test_a_500_is_retried_after_backoff_with_the_same_id_and_both_attempts_are_kept(
    ops: User, published: list[tuple[int, float]], django_capture_on_commit_callbacks: Any
) -> None:
    with receiver(500, 200) as hook:
        subscription, _ = subscribe(ops, hook.url())
        delivery = emitted()
        with django_capture_on_commit_callbacks(execute=True):
            delivery = send(delivery)
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            Status.PENDING,
            1,
            500,
        )
        assert delivery.next_attempt_at is not None
        wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
        assert 3.5 < wait < 6.5
        ((published_id, countdown),) = published
        assert published_id == delivery.pk
        assert countdown == pytest.approx(wait, abs=0.5)
        subscription.refresh_from_db()
        assert subscription.failing_since is not None
        assert send(delivery).status == Status.PENDING  # not due yet: nothing sent
        due_now(delivery)
        delivery = send(delivery)
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 2)
    assert attempts(delivery) == [(500, ""), (200, "")]
    assert [r.headers["webhook-id"] for r in hook.requests] == [delivery.event.event_id] * 2
    subscription.refresh_from_db()
    assert subscription.failing_since is None


def test_a_redirect_is_a_failure_and_is_not_followed(ops: User) -> None:
    with receiver((302, {"Location": "/elsewhere"})) as hook:
        subscribe(ops, hook.url())
        delivery = send(emitted())
    assert [r.path for r in hook.requests] == ["/hooks"]
    assert (delivery.status, delivery.last_status_code) == (Status.PENDING, 302)
    assert attempts(delivery) == [(302, "")]


def test_a_410_disables_the_subscription_at_once(ops: User) -> None:
    with receiver(410) as hook:
        subscription, _ = subscribe(ops, hook.url())
        waiting = emitted()
        delivery = send(emitted())
    subscription.refresh_from_db()
    assert not subscription.active
    assert "410 Gone" in subscription.disabled_reason
    assert delivery.status == Status.FAILED
    waiting.refresh_from_db()
    assert waiting.status == Status.CANCELLED
    assert hook_event_emit(event=EVENT, data={}) is None
    hook_subscription_enable(subscription=subscription)
    subscription.refresh_from_db()
    assert (subscription.active, subscription.disabled_reason) == (True, "")


def test_a_hanging_receiver_times_out_within_the_timeout_and_is_recorded(
    ops: User, settings: Any
) -> None:
    settings.MPBRAZE_HOOK_TIMEOUT_SECONDS = 0.5
    with receiver(3.0) as hook:
        subscribe(ops, hook.url())
        delivery = send(emitted())
    # The receiver answers 200 after 3 s: an attempt without an answer was cut at the timeout.
    assert delivery.status == Status.PENDING
    ((status, error),) = attempts(delivery)
    assert (status, error) == (None, "timed out after 0.5 s")
    assert (delivery.attempt_records.get().latency_ms or 0) >= 400


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("10.0.0.7", "refused: hooks.inside.example resolves to a private address (10.0.0.7)"),
        ("169.254.169.254", "resolves to a private address (169.254.169.254)"),
        (None, "DNS lookup failed for hooks.inside.example"),
    ],
)
def test_a_name_resolving_to_a_private_address_is_refused_and_recorded(
    ops: User, fake_dns: dict[str, str | None], address: str | None, error: str
) -> None:
    fake_dns["hooks.inside.example"] = address
    subscribe(ops, "https://hooks.inside.example/in")
    delivery = send(emitted())
    ((status, recorded),) = attempts(delivery)
    assert status is None
    assert error in recorded
    assert delivery.status == Status.PENDING


def test_retries_end_after_the_schedule(ops: User, settings: Any) -> None:
    settings.MPBRAZE_HOOK_RETRY_SECONDS = [5, 300]
    with receiver(503) as hook:
        subscribe(ops, hook.url())
        delivery = emitted()
        for _ in range(3):
            due_now(delivery)
            delivery = send(delivery)
    assert (delivery.status, delivery.attempts, len(hook.requests)) == (Status.FAILED, 3, 3)
    assert delivery.last_error == "HTTP 503"
    assert delivery.finished_at is not None


def test_a_subscription_failing_for_the_whole_period_is_disabled_with_a_reason(
    ops: User,
) -> None:
    with receiver(500) as hook:
        subscription, _ = subscribe(ops, hook.url())
        failing = timezone.now() - timedelta(hours=119)
        HookSubscription.objects.filter(pk=subscription.pk).update(failing_since=failing)
        send(emitted())
        subscription.refresh_from_db()
        assert subscription.active  # 119 hours: not yet
        HookSubscription.objects.filter(pk=subscription.pk).update(
            failing_since=timezone.now() - timedelta(hours=121)
        )
        send(emitted())
    subscription.refresh_from_db()
    assert not subscription.active
    assert "every delivery failed for more than 120 hours" in subscription.disabled_reason


def test_the_sweep_disables_a_subscription_failing_too_long(ops: User) -> None:
    subscription, _ = subscribe(ops, "https://a.example.com/in")
    HookSubscription.objects.filter(pk=subscription.pk).update(
        failing_since=timezone.now() - timedelta(days=6)
    )
    assert hooks_sweep().disabled == 1
    subscription.refresh_from_db()
    assert not subscription.active


def test_a_delivery_is_sent_once_by_concurrent_workers_and_a_dead_worker_is_recovered(
    ops: User,
) -> None:
    with receiver(200) as hook:
        subscribe(ops, hook.url())
        delivery = emitted()
        HookDelivery.objects.filter(pk=delivery.pk).update(
            status=Status.SENDING, lease_until=timezone.now() - timedelta(seconds=1)
        )
        HookAttempt.objects.create(delivery=delivery, at=timezone.now())
        assert hook_delivery_send(delivery_id=delivery.pk) is None  # claimed elsewhere
        assert hook_deliveries_recover(now=timezone.now()) == 1
        assert send(delivery).status == Status.SUCCEEDED
        assert hook_delivery_send(delivery_id=delivery.pk) is None  # done
    assert len(hook.requests) == 1
    assert attempts(delivery) == [
        (None, "the worker stopped before the answer was recorded"),
        (200, ""),
    ]
    assert list(hook_deliveries_for(delivery.subscription)) == [delivery]


# --- admin ------------------------------------------------------------------------------


def test_ops_create_a_hook_in_the_admin_and_see_its_secret_once(ops: User) -> None:
    client = Client()
    client.force_login(ops)
    answer = client.post(
        "/admin/connections/hooksubscription/add/",
        {"target_url": "https://hooks.example.com/in", "event_choices": [EVENT]},
        follow=True,
    )
    assert answer.status_code == 200
    subscription = HookSubscription.objects.get()
    shown = [str(m) for m in answer.context["messages"]]
    assert any(subscription.secret in message for message in shown)
    assert subscription.owner == ops
    page = client.get(f"/admin/connections/hooksubscription/{subscription.pk}/change/")
    assert subscription.secret not in page.content.decode()
    refused = client.post(
        "/admin/connections/hooksubscription/add/",
        {"target_url": "https://10.0.0.1/in", "event_choices": [EVENT]},
    )
    assert "private, loopback or link-local" in refused.content.decode()
    assert HookSubscription.objects.count() == 1


def test_the_send_task_and_the_sweep_are_registered_and_scheduled(settings: Any) -> None:
    from mpbraze.celery import app

    app.loader.import_default_modules()
    tasks = {"mpbraze.hook_deliveries_send", "mpbraze.hook_deliver", "mpbraze.hooks_sweep"}
    assert tasks <= set(app.tasks)
    schedule = settings.CELERY_BEAT_SCHEDULE["hooks-sweep"]
    assert schedule["task"] == "mpbraze.hooks_sweep"
