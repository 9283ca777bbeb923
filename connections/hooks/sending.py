"""Sending one REST hook delivery: claim it, record the attempt, POST the signed body through
the guarded client, then succeed, retry with backoff, give up, or disable the hook (410).
``connections.hooks.batch`` sends many at once through the same three steps.

A claim is a conditional update (pending → sending, with a lease), so two workers holding the
same message send once; a worker that dies mid-send leaves a lease the sweep takes back.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connections.crypto.encryption import EncryptionKeyError
from connections.hooks.models import HookAttempt, HookDelivery, HookSubscription
from connections.hooks.services import hook_deliveries_publish, hook_subscription_disable
from connections.hooks.signing import signed_headers
from connections.hooks.targets import HookError, target_url_check
from connections.hooks.tuning import HookConfig, hook_config
from mpbraze.http import describe_error, outbound_client

Status = HookDelivery.Status
JITTER = 0.2
EARLY = timedelta(seconds=1)  # a countdown may fire a little before its time
RESPONSE_BYTES = 1024
_clients: dict[float, httpx.Client] = {}
_clients_lock = threading.Lock()  # a batch posts from several threads at once


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    latency_ms: int
    error: str = ""
    body: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Started:
    """A claimed delivery whose attempt row is recorded: ready to POST."""

    delivery: HookDelivery
    attempt_id: int


def hook_delivery_send(*, delivery_id: int) -> HookDelivery | None:
    """Make one attempt of a due delivery (quietly nothing when it is gone, not due or taken)."""
    config = hook_config()
    started = hook_delivery_start(delivery_id=delivery_id, config=config)
    if not isinstance(started, Started):
        return started
    hook_attempt_complete(started=started, answer=hook_delivery_post(started.delivery, config))
    return started.delivery


def hook_delivery_start(*, delivery_id: int, config: HookConfig) -> Started | HookDelivery | None:
    """Claim a due delivery and record its attempt before the POST. A delivery whose hook was
    disabled meanwhile is cancelled and returned as it is; None when it is gone, not due or
    taken by another worker."""
    delivery = _claim(delivery_id, config)
    if delivery is None:
        return None
    if not delivery.subscription.active:
        _finish(delivery, Status.CANCELLED, None, "the hook was disabled")
        return delivery
    attempt = HookAttempt.objects.create(delivery=delivery, at=timezone.now())
    return Started(delivery, attempt.pk)


def hook_attempt_complete(*, started: Started, answer: Answer) -> None:
    """Record what came back on the attempt row, then succeed, retry, fail or disable."""
    HookAttempt.objects.filter(pk=started.attempt_id).update(
        status_code=answer.status_code,
        latency_ms=answer.latency_ms,
        error=answer.error[:500],
        response_body=answer.body,
    )
    _settle(started.delivery, answer, hook_config())


def _claim(delivery_id: int, config: HookConfig) -> HookDelivery | None:
    now = timezone.now()
    # Connect, write and read each have the timeout; the lease outlives them all.
    lease = now + timedelta(seconds=4 * config.timeout_seconds + 60)
    claimed = HookDelivery.objects.filter(
        pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now + EARLY
    ).update(status=Status.SENDING, lease_until=lease, enqueued_at=None)
    if not claimed:
        return None
    return HookDelivery.objects.select_related("event", "subscription").get(pk=delivery_id)


def hook_delivery_post(delivery: HookDelivery, config: HookConfig) -> Answer:
    """POST the signed body within the timeout; no database work, so it may run on any thread."""
    started = time.monotonic()
    body = delivery.event.body.encode()
    try:
        url = target_url_check(delivery.subscription.target_url)
        headers = signed_headers(
            secret=delivery.subscription.secret,
            event_id=delivery.event.event_id,
            timestamp=int(time.time()),
            body=body,
        )
    except (HookError, EncryptionKeyError) as error:
        return Answer(None, 0, getattr(error, "message", str(error)))
    deadline = started + config.timeout_seconds
    # A connection per delivery ("close"), so the deadline always knows its socket.
    headers = {**headers, "connection": "close"}
    with Deadline(config.timeout_seconds) as cut:
        try:
            with _client(config).stream(
                "POST", url, content=body, headers=headers, extensions={"trace": cut.trace}
            ) as response:
                text = _read_capped(response, deadline)
                return Answer(response.status_code, _ms(started), "", text)
        except httpx.HTTPError as error:
            if cut.expired:
                return Answer(None, _ms(started), cut.message)
            return Answer(None, _ms(started), describe_error(error)[1])


class Deadline:
    """Cuts a send's connection when it outlives the timeout. httpx times each connect, write
    and read apart, so a receiver trickling its answer a byte at a time could otherwise hold
    a worker for as long as it likes; shutting the socket down wakes the blocked read."""

    def __init__(self, seconds: float) -> None:
        # The words of a read timeout: whichever of the two fires first, the attempt reads alike.
        self.message = f"timed out after {seconds:g} s"
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: note the socket of every connection this send opens."""
        if name.endswith("connect_tcp.complete") and info.get("return_value") is not None:
            sock = info["return_value"].get_extra_info("socket")
            with self._lock:
                self._sockets.append(sock)

    def _cut(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _read_capped(response: httpx.Response, deadline: float) -> str:
    """The first kilobyte of the answer, read no longer than the deadline allows."""
    kept = b""
    for chunk in response.iter_bytes():
        kept += chunk
        if len(kept) >= RESPONSE_BYTES or time.monotonic() > deadline:
            break
    return kept[:RESPONSE_BYTES].decode("utf-8", errors="replace")


def _client(config: HookConfig) -> httpx.Client:
    """One guarded client per process and timeout (its connection pool is reused)."""
    with _clients_lock:
        client = _clients.get(config.timeout_seconds)
        if client is None:
            client = outbound_client(timeout=config.timeout_seconds)
            _clients[config.timeout_seconds] = client
        return client


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _settle(delivery: HookDelivery, answer: Answer, config: HookConfig) -> None:
    subscription = delivery.subscription
    if answer.succeeded:
        _finish(delivery, Status.SUCCEEDED, answer.status_code, "")
        HookSubscription.objects.filter(pk=subscription.pk, failing_since__isnull=False).update(
            failing_since=None
        )
        return
    error = answer.error or f"HTTP {answer.status_code}"
    if answer.status_code == 410:
        _finish(delivery, Status.FAILED, 410, "the receiver answered 410 Gone")
        reason = f"The receiver answered 410 Gone on {_when(timezone.now())}."
        hook_subscription_disable(subscription=subscription, reason=reason)
        return
    now = timezone.now()
    HookSubscription.objects.filter(pk=subscription.pk, failing_since__isnull=True).update(
        failing_since=now
    )
    if delivery.attempts >= len(config.retry_seconds):
        _finish(delivery, Status.FAILED, answer.status_code, error)
    else:
        _retry_later(delivery, answer.status_code, error, config)
    hook_subscriptions_disable_failing(now=now, subscription_ids=[subscription.pk])


def _finish(delivery: HookDelivery, status: str, status_code: int | None, error: str) -> None:
    attempted = status != Status.CANCELLED
    HookDelivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
        status=status,
        lease_until=None,
        finished_at=timezone.now(),
        attempts=F("attempts") + int(attempted),
        last_status_code=status_code if attempted else delivery.last_status_code,
        last_error=error[:2000],
    )


def _retry_later(
    delivery: HookDelivery, status_code: int | None, error: str, config: HookConfig
) -> None:
    delay = config.retry_seconds[delivery.attempts] * random.uniform(1 - JITTER, 1 + JITTER)
    retried = HookDelivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
        status=Status.PENDING,
        lease_until=None,
        attempts=F("attempts") + 1,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        last_status_code=status_code,
        last_error=error[:2000],
    )
    if retried and delay <= config.max_countdown_seconds:
        # Longer waits live in the database: the sweep publishes them when due.
        transaction.on_commit(
            lambda: hook_deliveries_publish(delivery_ids=[delivery.pk], countdown=delay),
            robust=True,
        )


def hook_subscriptions_disable_failing(
    *, now: datetime | None = None, subscription_ids: list[int] | None = None
) -> int:
    """Disable the active subscriptions whose deliveries have failed, without a success, for
    longer than ``MPBRAZE_HOOK_DISABLE_AFTER_HOURS``; returns how many."""
    config = hook_config()
    now = now or timezone.now()
    failing = HookSubscription.objects.filter(
        active=True, failing_since__lte=now - config.disable_after
    )
    if subscription_ids is not None:
        failing = failing.filter(pk__in=subscription_ids)
    hours = config.disable_after.total_seconds() / 3600
    disabled = 0
    for subscription in failing:
        reason = (
            f"Disabled on {_when(now)}: every delivery failed for more than {hours:g} hours"
            f" (since {_when(subscription.failing_since)}). Fix the receiver, then re-enable."
        )
        disabled += hook_subscription_disable(subscription=subscription, reason=reason)
    return disabled


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z") if moment else "?"
