"""Accepting batches: store durably, once, then hand mapping to a worker after commit."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction

from connections.delivery.models import InboundBatch
from connections.models import Connection


def batch_content_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def batch_receive(
    *, connection: Connection, payload: dict[str, Any], historical: bool = False
) -> tuple[InboundBatch, bool]:
    """Store one batch unless it was seen before; returns (batch, created).

    A repeated ``source_request_id`` or identical content is accepted and not stored twice.
    Mapping is enqueued only after the surrounding transaction commits.
    """
    from connections.delivery.tasks import batch_map

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
            )
    except IntegrityError:
        return _existing(connection, source_request_id, content_hash), False
    # robust: a broker hiccup must not turn a committed batch into a 500; the sweeper re-enqueues.
    transaction.on_commit(lambda: batch_map.delay(batch.pk), robust=True)
    return batch, True


def _existing(connection: Connection, source_request_id: str, content_hash: str) -> InboundBatch:
    same = InboundBatch.objects.filter(connection=connection)
    if source_request_id:
        found = same.filter(source_request_id=source_request_id).first()
        if found is not None:
            return found
    return same.get(content_hash=content_hash)
