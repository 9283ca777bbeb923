"""Finishing the claims of workers that died: from Braze's recorded answer where there is one.

A row whose lease expired was claimed by a worker that crashed or was killed. If the last
request it travelled in has a recorded answer, the row is finished from that answer (sent,
rejected, retried), never sent again. If the request was started but no answer was recorded,
nobody knows whether Braze accepted it: the attempt is closed as "outcome unknown" and the row
is resent (at-least-once). Rows never sent go back to the queue.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from connections.delivery import groups, outbox
from connections.delivery.models import Delivery, DeliveryAttempt
from connections.delivery.outcomes import (
    error_positions,
    held_rows,
    is_configuration_problem,
    partial_rejections,
    rows_at_of,
)

RECOVERY_LIMIT = 5000
Outcome = DeliveryAttempt.Outcome


@dataclass
class RecoveryReport:
    finished: int = 0  # rows finished from a recorded answer
    unknown: int = 0  # rows resent because their send's outcome is unknown
    released: int = 0  # rows back in the queue that had not been sent

    @property
    def total(self) -> int:
        return self.finished + self.unknown + self.released


def outbox_recover_expired_leases(*, now: datetime | None = None) -> RecoveryReport:
    """Finish or re-queue rows whose claim's lease has expired."""
    now = now or timezone.now()
    expired = Delivery.objects.filter(status=Delivery.Status.SENDING, lease_until__lt=now).order_by(
        "lease_until"
    )[:RECOVERY_LIMIT]
    claims: dict[str, list[Delivery]] = defaultdict(list)
    for row in expired:
        claims[row.claim_token].append(row)
    report = RecoveryReport()
    for token, rows in claims.items():
        with transaction.atomic():
            _recover_claim(token, rows, now, report)
    return report


def _recover_claim(token: str, rows: list[Delivery], now: datetime, report: RecoveryReport) -> None:
    latest: dict[int, DeliveryAttempt] = {}
    attempts = DeliveryAttempt.objects.filter(claim_token=token).order_by("pk") if token else []
    for attempt in attempts:
        for ids in attempt.index_map.values():
            for pk in ids:
                latest[pk] = attempt
    by_attempt: dict[int | None, list[Delivery]] = defaultdict(list)
    for row in rows:
        by_attempt[getattr(latest.get(row.pk), "pk", None)].append(row)
    found = {attempt.pk: attempt for attempt in latest.values()}
    for attempt_pk, group in by_attempt.items():
        recorded = found.get(attempt_pk) if attempt_pk is not None else None
        _recover_group(recorded, group, now, report)


def _recover_group(
    attempt: DeliveryAttempt | None, rows: list[Delivery], now: datetime, report: RecoveryReport
) -> None:
    if attempt is None:
        report.released += outbox.outbox_release(rows=rows, at=now)
    elif attempt.outcome == Outcome.PENDING:
        DeliveryAttempt.objects.filter(pk=attempt.pk, outcome=Outcome.PENDING).update(
            outcome=Outcome.UNKNOWN, finished_at=now
        )
        report.unknown += outbox.outbox_release(rows=rows, at=now)
    elif (finish := RECORDED.get(Outcome(attempt.outcome))) is not None:
        report.finished += finish(attempt, rows)
    else:  # rate limited, key refused, split, already unknown: nothing of theirs was written
        report.released += outbox.outbox_release(rows=rows, at=now)


def _failure(attempt: DeliveryAttempt) -> outbox.Failure:
    message = attempt.braze_message or attempt.response_excerpt
    return outbox.Failure(attempt.status_code, attempt.error_class, message)


def _sent(attempt: DeliveryAttempt, rows: list[Delivery]) -> int:
    return outbox.outbox_mark_sent(rows=rows, status_code=attempt.status_code)


def _partial(attempt: DeliveryAttempt, rows: list[Delivery]) -> int:
    mapped = rows_at_of(attempt.index_map, rows)
    named = error_positions(attempt.braze_errors)  # the objects named: one row each first
    rows_at = groups.split_request(mapped, named, attempt)
    attempt.save(update_fields=["index_map"])
    in_map = {row.pk for row in mapped.values()}
    rows = [*held_rows(rows_at), *(row for row in rows if row.pk not in in_map)]
    rejected = partial_rejections(rows_at, attempt.braze_errors)
    count = 0
    for message, group in rejected.items():
        failure = outbox.Failure(attempt.status_code, "braze_object_error", message)
        count += outbox.outbox_reject(rows=group, failure=failure)
    refused = {row.pk for group in rejected.values() for row in group}
    accepted = [row for row in rows if row.pk not in refused]
    return count + outbox.outbox_mark_sent(rows=accepted, status_code=attempt.status_code)


def _retry(attempt: DeliveryAttempt, rows: list[Delivery]) -> int:
    return sum(outbox.outbox_retry_later(rows=rows, failure=_failure(attempt)))


def _rejected(attempt: DeliveryAttempt, rows: list[Delivery]) -> int:
    if is_configuration_problem(attempt.status_code):  # the forwarder pauses, not rejects
        return outbox.outbox_release(rows=rows)
    return outbox.outbox_reject(rows=rows, failure=_failure(attempt))


RECORDED = {
    Outcome.SUCCESS: _sent,
    Outcome.PARTIAL: _partial,
    Outcome.RETRY: _retry,
    Outcome.REJECTED: _rejected,
}
