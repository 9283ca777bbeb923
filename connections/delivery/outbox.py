"""Outbox row state changes: claim, sent, rejected, retry with backoff, dead, released.

Every change is a conditional update on rows this worker claimed (status ``sending``), so a
row is never sent by two workers and a late worker cannot overwrite another's result.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connections.delivery.models import Delivery
from connections.models import BrazeOutput

Status = Delivery.Status
JITTER = 0.2


def claim_limit() -> int:
    return int(getattr(settings, "MPBRAZE_OUTBOX_CLAIM_SIZE", 750))


def backoff_schedule() -> list[float]:
    """About 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, then every 4 h (SPEC §6)."""
    return list(getattr(settings, "MPBRAZE_RETRY_BACKOFF_SECONDS", [5, 30, 120, 600]))


def lease_seconds() -> int:
    return int(getattr(settings, "MPBRAZE_OUTBOX_LEASE_SECONDS", 300))


def retry_max_age() -> timedelta:
    return timedelta(hours=float(getattr(settings, "MPBRAZE_RETRY_MAX_AGE_HOURS", 24)))


def outbox_claim_batch(*, output: BrazeOutput, limit: int | None = None) -> list[Delivery]:
    """Claim due rows of ``output`` in (batch, sequence) order, never cutting an event in two."""
    limit = limit or claim_limit()
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(output=output, status=Status.QUEUED, next_attempt_at__lte=now)
            # A connection paused or disabled meanwhile (by another worker) stops the claims.
            .filter(connection__enabled=True, connection__paused_reason="")
            .order_by("batch_id", "sequence")[:limit]
        )
        rows = _whole_events(rows, limit)
        Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(
            status=Status.SENDING, lease_until=now + timedelta(seconds=lease_seconds())
        )
    return rows


def _whole_events(rows: list[Delivery], limit: int) -> list[Delivery]:
    """A full claim may end mid-event: leave that event's rows for the next claim."""
    if len(rows) < limit:
        return rows
    last = (rows[-1].batch_id, rows[-1].event_index)
    kept = [row for row in rows if (row.batch_id, row.event_index) != last]
    return kept or rows


def _claimed(rows: Sequence[Delivery]):  # type: ignore[no-untyped-def]
    return Delivery.objects.filter(pk__in=[row.pk for row in rows], status=Status.SENDING)


def outbox_mark_sent(*, rows: Sequence[Delivery], status_code: int | None) -> int:
    return _claimed(rows).update(
        status=Status.SENT,
        sent_at=timezone.now(),
        lease_until=None,
        last_status_code=status_code,
        attempts=F("attempts") + 1,
        error_class="",
        last_error="",
    )


def outbox_reject(
    *, rows: Sequence[Delivery], status_code: int | None, error_class: str, error: str
) -> int:
    return _claimed(rows).update(
        status=Status.REJECTED,
        attempts=F("attempts") + 1,
        lease_until=None,
        last_status_code=status_code,
        error_class=error_class[:40],
        last_error=error[:2000],
    )


def outbox_release(*, rows: Sequence[Delivery], at: datetime | None = None) -> int:
    """Put rows back in the queue without spending a retry (rate limits, paused connections)."""
    return _claimed(rows).update(
        status=Status.QUEUED, lease_until=None, next_attempt_at=at or timezone.now()
    )


def backoff_delay(attempt: int) -> timedelta:
    schedule = backoff_schedule()
    base = schedule[min(attempt, len(schedule)) - 1]
    return timedelta(seconds=base * random.uniform(1 - JITTER, 1 + JITTER))


def outbox_retry_later(
    *, rows: Sequence[Delivery], status_code: int | None, error_class: str, error: str
) -> tuple[int, int]:
    """Schedule a retry with backoff, or dead-letter rows older than the retry window.

    One update per group of rows sharing an attempt count (usually the whole request), so a
    failing request costs a query or two, not one per object. Returns (retried, dead).
    """
    now = timezone.now()
    failure = {
        "lease_until": None,
        "attempts": F("attempts") + 1,
        "last_status_code": status_code,
        "error_class": error_class[:40],
        "last_error": error[:2000],
    }
    too_old = now - retry_max_age()
    dead = _claimed(rows).filter(created_at__lte=too_old).update(status=Status.DEAD, **failure)
    retried = 0
    for attempts in {row.attempts for row in rows}:
        retried += (
            _claimed(rows)
            .filter(attempts=attempts, created_at__gt=too_old)
            .update(
                status=Status.QUEUED, next_attempt_at=now + backoff_delay(attempts + 1), **failure
            )
        )
    return retried, dead


def outbox_recover_expired_leases(*, now: datetime | None = None) -> int:
    """Rows claimed by a worker that died: back to the queue (the attempt may have happened)."""
    now = now or timezone.now()
    return Delivery.objects.filter(status=Status.SENDING, lease_until__lt=now).update(
        status=Status.QUEUED, lease_until=None, next_attempt_at=now
    )
