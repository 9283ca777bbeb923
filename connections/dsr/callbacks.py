"""Status callbacks: each status change of a request, POSTed to every ``status_callback_urls``
entry, signed as Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``) with ``MPBRAZE_DSR_CALLBACK_SECRET`` (docs/erasure.md says why not
OpenDSR's certificate signature).

A callback is recorded in the transaction of the change it reports, then sent after the commit
by a task; the beat's sweep sends what a lost message left. One URL hears a request's changes
in order: a later change waits while an earlier one to the same URL is still owed. Failed
POSTs are retried on the REST hooks' schedule (``MPBRAZE_HOOK_RETRY_SECONDS``), then given up.
"""

from __future__ import annotations

import json
import random
import time
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connections.dsr.models import DataSubjectCallback, DataSubjectRequest
from connections.hooks.events import event_id_new
from connections.hooks.signing import signed_headers
from connections.hooks.tuning import hook_config
from mpbraze.http import describe_error, outbound_client
from mpbraze.publish import publish

State = DataSubjectCallback.State
SEND_TASK = "mpbraze.dsr_callbacks_send"
RESPONSE_CHARS = 500


def iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


def status_body(request: DataSubjectRequest) -> dict[str, Any]:
    """OpenDSR's status object (the API's answer and every callback's body)."""
    body: dict[str, Any] = {
        "controller_id": str(request.requested_by_id or ""),
        "expected_completion_time": iso(request.expected_completion_time),
        "subject_request_id": str(request.subject_request_id),
        "request_status": request.status,
        "api_version": request.api_version,
        "results_url": None,
    }
    if request.status_reason:
        body["status_message"] = request.status_reason
    return body


def dsr_callbacks_record(*, request: DataSubjectRequest) -> None:
    """Owe every callback URL the request's current status; sent after the commit."""
    if not request.callback_urls:
        return
    now = timezone.now()
    rows = [_callback(request, url, now) for url in request.callback_urls]
    DataSubjectCallback.objects.bulk_create(rows)
    transaction.on_commit(lambda: dsr_callbacks_publish(request_id=request.pk), robust=True)


def _callback(request: DataSubjectRequest, url: str, now: datetime) -> DataSubjectCallback:
    body = {**status_body(request), "status_callback_url": url}
    return DataSubjectCallback(
        request=request,
        url=url,
        request_status=request.status,
        event_id=event_id_new(),
        body=json.dumps(body, separators=(",", ":")),
        next_attempt_at=now,
    )


def dsr_callbacks_publish(*, request_id: int, countdown: float = 0) -> None:
    """Publish the sending task; a broker outage leaves it to the beat's sweep."""
    with suppress(Exception):
        publish(SEND_TASK, args=(request_id,), countdown=countdown)


def dsr_callbacks_send(*, request_id: int) -> None:
    """Send the request's due callbacks, in order per URL; schedule the next try if any wait."""
    waiting_urls: set[str] = set()
    for callback in DataSubjectCallback.objects.filter(request_id=request_id, state=State.PENDING):
        if callback.url in waiting_urls:
            continue
        if callback.next_attempt_at > timezone.now() or not _claim(callback):
            waiting_urls.add(callback.url)
            continue
        if not _send(callback):
            waiting_urls.add(callback.url)
    _publish_next(request_id)


def _claim(callback: DataSubjectCallback) -> bool:
    """A lease on the attempt: a second task holding the same message does not send it too."""
    lease = timezone.now() + timedelta(seconds=4 * hook_config().timeout_seconds + 60)
    taken = DataSubjectCallback.objects.filter(
        pk=callback.pk, state=State.PENDING, next_attempt_at=callback.next_attempt_at
    ).update(next_attempt_at=lease)
    return bool(taken)


def _send(callback: DataSubjectCallback) -> bool:
    """One POST; True when the controller took it."""
    body = callback.body.encode()
    headers = signed_headers(
        secret=settings.MPBRAZE_DSR_CALLBACK_SECRET,
        event_id=callback.event_id,
        timestamp=int(time.time()),
        body=body,
    )
    status, error = _post(callback.url, body, headers)
    _settle(callback, status, error)
    return status is not None and 200 <= status < 300


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    try:
        with outbound_client(timeout=hook_config().timeout_seconds) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, describe_error(exc)[1]
    ok = 200 <= response.status_code < 300
    return response.status_code, "" if ok else response.text[:RESPONSE_CHARS]


def _settle(callback: DataSubjectCallback, status: int | None, error: str) -> None:
    callback.attempts += 1
    callback.last_status_code = status
    callback.last_error = error or ("" if status else "no answer")
    if status is not None and 200 <= status < 300:
        callback.state, callback.sent_at = State.SENT, timezone.now()
    else:
        _schedule_retry(callback)
    callback.save(
        update_fields=[
            "attempts",
            "last_status_code",
            "last_error",
            "state",
            "sent_at",
            "next_attempt_at",
        ]
    )


def _schedule_retry(callback: DataSubjectCallback) -> None:
    schedule = hook_config().retry_seconds
    if callback.attempts > len(schedule):
        callback.state = State.FAILED
        return
    wait = schedule[callback.attempts - 1] * random.uniform(0.8, 1.2)
    callback.next_attempt_at = timezone.now() + timedelta(seconds=wait)


def _publish_next(request_id: int) -> None:
    soonest = (
        DataSubjectCallback.objects.filter(request_id=request_id, state=State.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if soonest is not None:
        countdown = max(0.0, (soonest - timezone.now()).total_seconds())
        if countdown <= hook_config().max_countdown_seconds:
            dsr_callbacks_publish(request_id=request_id, countdown=countdown)
