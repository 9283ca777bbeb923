"""Turning a stored batch into outbox rows, atomically: all of it or none of it.

The rows, the mapping issues and the batch's ``mapped`` mark are written in one transaction;
a crash anywhere leaves the batch ``received``, and the sweeper maps it again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connections import services
from connections.delivery.models import Delivery, InboundBatch
from connections.models import APP_PLATFORMS, BrazeOutput, Platform
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


def batch_map(*, batch_id: int) -> int | None:
    """Map one batch; returns the forwarding output's id when rows were queued."""
    with transaction.atomic():
        batch = (
            InboundBatch.objects.select_for_update()
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
    if count:
        from connections.delivery.tasks import output_forward

        linger = settings.MPBRAZE_FORWARD_LINGER_SECONDS
        transaction.on_commit(
            lambda: output_forward.apply_async((output.pk,), countdown=linger), robust=True
        )
    return output.pk


def _wait_for_server_output(batch: InboundBatch) -> None:
    batch.map_attempts += 1
    batch.error = NO_SERVER_OUTPUT
    batch.save(update_fields=["map_attempts", "error"])


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
    batch.map_attempts += 1
    batch.error = ""
    batch.save(update_fields=["status", "mapped_at", "map_attempts", "error"])
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
