"""Turning a stored batch into outbox rows, atomically: all of it or none of it.

The rows, the mapping issues and the batch's ``mapped`` mark are written in one transaction;
a crash anywhere leaves the batch ``received``, and the sweeper maps it again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connections import services
from connections.delivery import schedule
from connections.delivery.config import delivery_config
from connections.delivery.models import Delivery, InboundBatch
from connections.models import APP_PLATFORMS, BrazeOutput, Connection, Platform
from mapping.engine import map_batch
from mapping.objects import BrazeObject, MappingContext
from mapping.services import mapping_issues_record
from mapping.settings import EmailIdentityType, ExternalIdentityType

logger = logging.getLogger(__name__)
NO_SERVER_OUTPUT = "Waiting for a Server output: batches are kept until one is configured."


def output_mapping_context(output: BrazeOutput, *, now: datetime | None = None) -> MappingContext:
    """The engine's inputs for ``output``; app ids come from the connection's app outputs.

    ``now`` dates undated events and ``$Age``: the batch's receipt time, as mParticle does.
    """
    app_outputs = output.connection.outputs.filter(platform__in=APP_PLATFORMS)
    return MappingContext(
        settings=output.forwarding,
        now=now or timezone.now(),
        external_identity_type=ExternalIdentityType(output.external_identity_type),
        email_identity_type=EmailIdentityType(output.email_identity_type),
        app_ids={app.platform: services.output_api_key(output=app) for app in app_outputs},
    )


def batches_map(*, batch_ids: Sequence[int]) -> None:
    """Map each batch in its own transaction, then schedule one forward per output."""
    mapped = [batch_map(batch_id=batch_id) for batch_id in batch_ids]
    linger = timedelta(seconds=delivery_config().forward_linger_seconds)
    for output_id in sorted({output_id for output_id in mapped if output_id is not None}):
        schedule.forward_schedule(output_id=output_id, at=timezone.now() + linger)


def batch_map(*, batch_id: int) -> int | None:
    """Map one batch; returns the forwarding output's id when rows were queued.

    The attempt is counted in a commit of its own first, so a batch that crashes its worker
    (or fails for any reason) is counted too, and marked failed after the last attempt.
    """
    config = delivery_config()
    taken = InboundBatch.objects.filter(
        pk=batch_id,
        status=InboundBatch.Status.RECEIVED,
        map_attempts__lt=config.mapping_max_attempts,
    ).update(map_attempts=F("map_attempts") + 1)
    if not taken:
        _fail_if_exhausted(batch_id, config.mapping_max_attempts)
        return None
    try:
        return _map_batch(batch_id)
    except Exception as error:  # recorded on the batch; the sweeper tries again
        logger.exception("Mapping batch %s failed", batch_id)
        _record_failure(batch_id, error, config.mapping_max_attempts)
        return None


def _map_batch(batch_id: int) -> int | None:
    with transaction.atomic():
        batch = (
            InboundBatch.objects.select_for_update(of=("self",))
            .filter(pk=batch_id, status=InboundBatch.Status.RECEIVED)
            .select_related("connection")
            .first()
        )
        if batch is None:
            return None
        output = batch.connection.outputs.filter(platform=Platform.SERVER).first()
        if output is None:
            _wait_for_server_output(batch)
            return None
        count = _map_into_outbox(batch, output)
    return output.pk if count else None


def _record_failure(batch_id: int, error: Exception, max_attempts: int) -> None:
    message = f"{type(error).__name__}: {error}"[:2000]
    InboundBatch.objects.filter(pk=batch_id, status=InboundBatch.Status.RECEIVED).update(
        error=message
    )
    _fail_if_exhausted(batch_id, max_attempts)


def _fail_if_exhausted(batch_id: int, max_attempts: int) -> None:
    batch = InboundBatch.objects.filter(
        pk=batch_id, status=InboundBatch.Status.RECEIVED, map_attempts__gte=max_attempts
    )
    for error in batch.values_list("error", flat=True):
        reason = (
            f"Mapping failed {max_attempts} times; last error: {error or 'the worker was lost'}"
        )
        batch.update(status=InboundBatch.Status.FAILED, error=reason[:2000])


def batches_resume_waiting(*, connection: Connection) -> int:
    """A Server output now exists: map the batches that waited for one."""
    waiting = InboundBatch.objects.filter(connection=connection, status=InboundBatch.Status.WAITING)
    ids = list(waiting.values_list("pk", flat=True))
    InboundBatch.objects.filter(pk__in=ids).update(
        status=InboundBatch.Status.RECEIVED, error="", enqueued_at=timezone.now()
    )
    transaction.on_commit(lambda: schedule.batches_enqueue(batch_ids=ids), robust=True)
    return len(ids)


def _wait_for_server_output(batch: InboundBatch) -> None:
    """Not a failure: kept (and not retried) until a Server output is added."""
    batch.status = InboundBatch.Status.WAITING
    batch.error = NO_SERVER_OUTPUT
    batch.map_attempts = max(0, batch.map_attempts - 1)
    batch.save(update_fields=["status", "map_attempts", "error"])


def _map_into_outbox(batch: InboundBatch, output: BrazeOutput) -> int:
    context = output_mapping_context(output, now=batch.received_at)
    result = map_batch(batch.payload, context)
    now = timezone.now()
    rows = [_delivery(batch, output, n, item, now) for n, item in enumerate(result.objects)]
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    mapping_issues_record(
        connection_id=batch.connection_id,
        output_id=output.pk,
        issues=result.issues,
        payload=batch.payload,
        objects=result.objects,
        now=now,
    )
    batch.status = InboundBatch.Status.MAPPED
    batch.mapped_at = now
    batch.error = ""
    batch.save(update_fields=["status", "mapped_at", "error"])
    return len(rows)


def _delivery(
    batch: InboundBatch,
    output: BrazeOutput,
    sequence: int,
    item: BrazeObject,
    now: datetime,
) -> Delivery:
    return Delivery(
        connection_id=batch.connection_id,
        output=output,
        batch=batch,
        sequence=sequence,
        kind=item.kind.value,
        body=item.body,
        user_key=item.user_key[:1000],
        event_index=item.event_index,
        event_name=str(item.body.get("name") or item.body.get("product_id") or "")[:255],
        next_attempt_at=now,
    )
