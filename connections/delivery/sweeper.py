"""The beat sweeper: finds work whose Celery message was lost and hands it out again.

The database is the system of record, so a lost broker message, a crashed worker or a restart
costs a delay of one sweep, never data. The sweeper publishes only what is truly overdue: an
output's forwarding when it has due rows and no pending message, a batch's mapping when the
queue has moved past its message (or the broker is empty), never a second copy of a message
that is still waiting its turn.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from amqp.exceptions import NotFound
from django.utils import timezone
from kombu.exceptions import ChannelError

from connections.delivery import outbox, schedule
from connections.delivery.models import InboundBatch
from connections.delivery.recovery import RecoveryReport, outbox_recover_expired_leases
from connections.delivery.tuning import delivery_config
from connections.models import BrazeOutput, Connection, Platform
from mpbraze.celery import app, forward_queue, hooks_queue

logger = logging.getLogger(__name__)
SWEEP_BATCH_LIMIT = 2000  # batches re-enqueued per sweep, shared fairly by connections
SWEEP_OUTPUT_LIMIT = 1000


@dataclass(frozen=True)
class SweepReport:
    leases: RecoveryReport
    outputs_enqueued: int
    batches_enqueued: int


def deliveries_sweep(
    *, now: datetime | None = None, batch_limit: int = SWEEP_BATCH_LIMIT
) -> SweepReport:
    now = now or timezone.now()
    leases = outbox_recover_expired_leases(now=now)
    # A backlog of REST hook deliveries says nothing about mapping or forwarding messages.
    broker_empty = broker_queue_depth(with_hooks=False) == 0
    outputs = _schedule_due_outputs(now, broker_empty)
    batches = _enqueue_lost_batches(now, batch_limit, broker_empty)
    return SweepReport(leases, outputs, batches)


def _schedule_due_outputs(now: datetime, broker_empty: bool) -> int:
    """One index probe per active Server output: when is its next row due?

    With the broker's queue empty (Redis restarted without its data, say), a forwarding
    message that should have started a moment ago is taken as lost at once, not after
    ``forward_stale_seconds``.
    """
    config = delivery_config()
    horizon = now + timedelta(seconds=config.sweep_seconds)
    lost_after = max(5.0, 2 * config.sweep_seconds) if broker_empty else None
    outputs = BrazeOutput.objects.filter(
        platform=Platform.SERVER, connection__enabled=True, connection__paused_reason=""
    ).order_by("pk")
    scheduled = 0
    for output_id in outputs.values_list("pk", flat=True)[:SWEEP_OUTPUT_LIMIT]:
        soonest = outbox.outbox_next_due(output_id=output_id)
        if soonest is not None and soonest <= horizon:
            scheduled += schedule.forward_schedule(
                output_id=output_id, at=soonest, lost_after=lost_after
            )
    return scheduled


def _enqueue_lost_batches(now: datetime, limit: int, broker_empty: bool) -> int:
    """Received batches whose mapping message is gone, a fair share per connection."""
    grace = timedelta(seconds=delivery_config().mapping_grace_seconds)
    frontier = _consumed_frontier()
    connections = list(Connection.objects.order_by("pk").values_list("pk", flat=True))
    share = max(1, limit // max(1, len(connections)))
    lost: list[int] = []
    for connection_id in connections:
        stale = InboundBatch.objects.filter(
            connection_id=connection_id,
            status=InboundBatch.Status.RECEIVED,
            enqueued_at__lt=now - grace,
        )
        if not broker_empty:
            if frontier is None:
                continue  # nothing was consumed yet: every message may still be waiting
            stale = stale.filter(enqueued_at__lt=frontier - grace)
        lost += stale.order_by("enqueued_at").values_list("pk", flat=True)[:share]
    if lost:
        schedule.batches_mark_enqueued(batch_ids=lost)
        schedule.batches_enqueue(batch_ids=lost)
    return len(lost)


def _consumed_frontier() -> datetime | None:
    """When the newest batch that was mapped had been enqueued: the queue is FIFO, so a
    batch enqueued well before it whose message has not been consumed has lost it."""
    last = (
        InboundBatch.objects.filter(mapped_at__isnull=False)
        .order_by("-mapped_at")
        .values_list("enqueued_at", flat=True)
        .first()
    )
    return last


def broker_queue_depth(*, with_hooks: bool = True) -> int | None:
    """Messages waiting in the task queues (the REST hooks queue too, unless ``with_hooks`` is
    off), or None when the broker cannot be asked."""
    default = app.conf.task_default_queue
    names = [default, forward_queue(default)]
    if with_hooks:
        names.append(hooks_queue(default))
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
            return sum(_queue_depth(connection, name) for name in names)
    except Exception:  # the broker is down or cannot tell: assume messages may be waiting
        logger.warning("Could not read the task queue's depth", exc_info=True)
        return None


def _queue_depth(connection: Any, name: str) -> int:
    """A passive declare asks without creating, and without clashing with the arguments the
    workers declared the queue with (RabbitMQ refuses a declare that differs). A queue not
    declared yet (RabbitMQ) or empty (Redis keeps no empty lists) holds nothing. Each queue
    gets a channel of its own: RabbitMQ closes the channel of a failed declare."""
    channel: Any = connection.channel()
    try:
        return int(channel.queue_declare(queue=name, passive=True).message_count)
    except (NotFound, ChannelError):  # RabbitMQ's 404; kombu's virtual transports' own
        return 0
    finally:
        if getattr(channel, "is_open", True):
            channel.close()
