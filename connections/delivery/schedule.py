"""Publishing work to Celery without multiplying it, and without blocking on a broker outage.

* Forwarding: at most one pending ``output_forward`` message per output, decided by a
  conditional update of ``ForwardSchedule.due_at`` (whoever changes it publishes).
* Mapping: one ``batches_map`` message per inbound request (not per batch), stamped on the
  batches as ``enqueued_at`` so the sweeper re-publishes only what waited too long.

A publish is one attempt with short broker timeouts; when it fails the database still holds
the work and the beat sweeper publishes it later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from celery import Task
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from connections.delivery.config import delivery_config
from connections.delivery.models import ForwardSchedule, InboundBatch

logger = logging.getLogger(__name__)
MAPPING_MESSAGE_BATCHES = 100  # batch ids per mapping message
_connections = threading.local()


def forward_schedule(
    *, output_id: int, at: datetime | None = None, lost_after: float | None = None
) -> bool:
    """Make sure a forwarding message for the output is pending, due no later than ``at``.

    Publishes (after the current transaction commits) only when no message is pending, the
    pending one is due clearly later, or it looks lost: due more than ``lost_after`` seconds
    ago without having started (by default ``forward_stale_seconds``). Waits longer than the
    broker's safe countdown are left to the sweeper. Returns whether a message is published.
    """
    config = delivery_config()
    now = timezone.now()
    at = max(at or now, now)
    if (at - now).total_seconds() > config.max_countdown_seconds:
        return False
    tolerance = timedelta(seconds=max(1.0, config.forward_linger_seconds))
    stale = now - timedelta(seconds=lost_after or config.forward_stale_seconds)
    free = Q(due_at__isnull=True) | Q(due_at__gt=at + tolerance) | Q(due_at__lt=stale)
    won = ForwardSchedule.objects.filter(free, output_id=output_id).update(
        due_at=at, published_at=now
    )
    if not won and not ForwardSchedule.objects.filter(output_id=output_id).exists():
        ForwardSchedule.objects.bulk_create(
            [ForwardSchedule(output_id=output_id, due_at=at, published_at=now)],
            ignore_conflicts=True,
        )
        won = ForwardSchedule.objects.filter(output_id=output_id, due_at=at).exists()
    if won:
        countdown = (at - now).total_seconds()
        transaction.on_commit(lambda: _publish_forward(output_id, at, countdown), robust=True)
    return bool(won)


def forward_started(*, output_id: int) -> None:
    """A forwarding task began: the message it came from is no longer pending."""
    soon = timezone.now() + timedelta(seconds=1)  # an ETA may fire a little early
    ForwardSchedule.objects.filter(output_id=output_id, due_at__lte=soon).update(due_at=None)


def _publish_forward(output_id: int, at: datetime, countdown: float) -> None:
    from connections.delivery.tasks import output_forward

    try:
        publish(output_forward, (output_id,), countdown=countdown)
    except Exception:  # the broker is down: let the sweeper publish it again soon
        logger.warning("Could not publish forwarding of output %s", output_id, exc_info=True)
        ForwardSchedule.objects.filter(output_id=output_id, due_at=at).update(due_at=None)


def batches_enqueue(*, batch_ids: Sequence[int]) -> int:
    """Publish mapping for these batches now (call after their commit). Returns the number
    of messages published; on a broker failure, 0, and the sweeper publishes them later."""
    from connections.delivery.tasks import batches_map

    published = 0
    for first in range(0, len(batch_ids), MAPPING_MESSAGE_BATCHES):
        chunk = list(batch_ids[first : first + MAPPING_MESSAGE_BATCHES])
        try:
            publish(batches_map, (chunk,))
        except Exception:
            logger.warning("Could not publish mapping of %s batches", len(chunk), exc_info=True)
            return published
        published += 1
    return published


def publish(task: Task[..., Any], args: tuple[Any, ...], **options: Any) -> None:
    """One publish attempt that fails fast when the broker is down (kombu would otherwise
    retry connecting for seconds), on a connection kept per thread: building a new broker
    client for every publish was a quarter of the inbound view's time."""
    from mpbraze.celery import app

    connection = getattr(_connections, "broker", None)
    if connection is None:
        connection = app.connection_for_write(transport_options={"max_retries": 0})
        _connections.broker = connection
    try:
        task.apply_async(args, producer=app.amqp.Producer(connection), retry=False, **options)
    except Exception:
        _connections.broker = None
        connection.release()
        raise


def batches_mark_enqueued(*, batch_ids: Sequence[int]) -> None:
    InboundBatch.objects.filter(pk__in=list(batch_ids)).update(
        enqueued_at=timezone.now(), enqueue_count=F("enqueue_count") + 1
    )
