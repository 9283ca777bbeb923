"""HTTP attempt records: written before the request is made, completed after it returns."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from connections.braze.transport import TrackResponse
from connections.delivery.models import Delivery, DeliveryAttempt
from connections.models import BrazeOutput
from mapping.requests import TrackRequest

EXCERPT_CHARS = 2000


def attempt_start(
    *, output: BrazeOutput, request: TrackRequest, rows_at: dict[tuple[str, int], Delivery]
) -> DeliveryAttempt:
    """Record the request about to be sent, with the index map of every array as sent."""
    index_map: dict[str, list[int]] = {}
    for (array, _index), row in sorted(rows_at.items()):
        index_map.setdefault(array, []).append(row.pk)
    attempt = DeliveryAttempt.objects.create(
        connection_id=output.connection_id,
        output=output,
        started_at=timezone.now(),
        object_count=len(rows_at),
        request_bytes=request.size_bytes,
        index_map=index_map,
    )
    attempt.deliveries.add(*rows_at.values())
    return attempt


def attempt_finish(*, attempt: DeliveryAttempt, response: TrackResponse) -> None:
    attempt.finished_at = timezone.now()
    attempt.duration_ms = max(0, int(response.duration_ms))
    attempt.outcome = DeliveryAttempt.Outcome[response.outcome.name]
    attempt.status_code = response.status_code
    attempt.error_class = response.error_class[:40]
    attempt.braze_message = (response.message or "")[:EXCERPT_CHARS]
    attempt.braze_errors = list(response.errors)[:500]
    attempt.response_excerpt = (response.excerpt or "")[:EXCERPT_CHARS]
    attempt.save()


def attempts_prune(*, now=None) -> int:  # type: ignore[no-untyped-def]
    """Forget successful rows and attempts after the retention; failures stay for the audit."""
    now = now or timezone.now()
    days = float(getattr(settings, "MPBRAZE_SENT_RETENTION_DAYS", 7))
    cutoff = now - timedelta(days=days)
    attempts, _ = DeliveryAttempt.objects.filter(
        outcome=DeliveryAttempt.Outcome.SUCCESS, started_at__lt=cutoff
    ).delete()
    rows, _ = Delivery.objects.filter(Q(status=Delivery.Status.SENT), sent_at__lt=cutoff).delete()
    return attempts + rows
