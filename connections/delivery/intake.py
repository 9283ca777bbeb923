"""Accepting batches: store durably, once, then hand mapping to a worker after commit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from connections.delivery import schedule
from connections.delivery.models import InboundBatch
from connections.models import Connection


def batch_content_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def batches_receive(
    *, connection: Connection, payloads: Sequence[dict[str, Any]], historical: bool = False
) -> list[tuple[InboundBatch, bool]]:
    """Store every batch or none, then publish their mapping in one message after commit.

    The publish is one bounded attempt: when the broker is down the batches are committed
    all the same and the sweeper publishes them later, so the caller can answer at once.
    """
    with transaction.atomic():
        results = [
            batch_receive(connection=connection, payload=payload, historical=historical)
            for payload in payloads
        ]
    created = [batch.pk for batch, new in results if new]
    if created:
        transaction.on_commit(lambda: schedule.batches_enqueue(batch_ids=created), robust=True)
    return results


def batch_receive(
    *, connection: Connection, payload: dict[str, Any], historical: bool = False
) -> tuple[InboundBatch, bool]:
    """Store one batch unless it was seen before; returns (batch, created).

    A repeated ``source_request_id`` or identical content is accepted and not stored twice
    (within the de-duplication window: older batches are pruned). Publishing is the
    caller's: ``batches_receive`` does it once per request.
    """
    source_request_id = str(payload.get("source_request_id") or "")[:200]
    content_hash = batch_content_hash(payload)
    try:
        with transaction.atomic():
            batch = InboundBatch.objects.create(
                connection=connection,
                source_request_id=source_request_id,
                content_hash=content_hash,
                historical=historical,
                payload=payload,
                enqueued_at=timezone.now(),
                enqueue_count=1,
            )
    except IntegrityError:
        return _existing(connection, source_request_id, content_hash), False
    return batch, True


def _existing(connection: Connection, source_request_id: str, content_hash: str) -> InboundBatch:
    same = InboundBatch.objects.filter(connection=connection)
    if source_request_id:
        found = same.filter(source_request_id=source_request_id).first()
        if found is not None:
            return found
    return same.get(content_hash=content_hash)
