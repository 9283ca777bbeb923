"""Accepting batches: store durably, once, then hand mapping to a worker after commit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from django.db import connections, transaction
from django.utils import timezone

from connections.delivery import schedule
from connections.delivery.models import InboundBatch
from connections.models import Connection
from mpbraze.sql import json_recordset


def batch_content_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def batches_receive(
    *,
    connection: Connection,
    payloads: Sequence[dict[str, Any]],
    historical: bool = False,
    forward: bool = True,
) -> list[tuple[InboundBatch, bool]]:
    """Store every batch or none, in one statement, then publish their mapping in one message
    after commit. Returns each batch with whether it was new (a repeat is accepted, not stored).

    The publish is one bounded attempt: when the broker is down the batches are committed
    all the same and the sweeper publishes them later, so the caller can answer at once.

    ``forward=False`` (uploads an app's Braze kit sends itself): stored for audit, never mapped.
    """
    batches = [_new_batch(connection, payload, historical, forward) for payload in payloads]
    with transaction.atomic():
        created = _insert_new(batches)
        results = [
            (batch, True) if batch.pk in created else (_existing(batch), False) for batch in batches
        ]
    if created and forward:
        ids = sorted(created)
        transaction.on_commit(lambda: schedule.batches_enqueue(batch_ids=ids), robust=True)
    return results


def _new_batch(
    connection: Connection, payload: dict[str, Any], historical: bool, forward: bool
) -> InboundBatch:
    now = timezone.now()
    return InboundBatch(
        status=InboundBatch.Status.RECEIVED if forward else InboundBatch.Status.KIT,
        connection=connection,
        source_request_id=str(payload.get("source_request_id") or "")[:200],
        content_hash=batch_content_hash(payload),
        historical=historical,
        payload=payload,
        received_at=now,
        enqueued_at=now,
        enqueue_count=1,
    )


def _insert_new(batches: list[InboundBatch]) -> set[int]:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING``: one statement for a whole request,
    where a savepoint and an insert per batch cost half of the inbound view. Sets the primary
    key of each batch stored and returns those keys; repeats (of earlier batches, or within
    the request) are skipped by the unique constraints."""
    db = connections[InboundBatch.objects.db]
    fields = [f for f in InboundBatch._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(db.ops.quote_name(str(f.column)) for f in fields)
    if db.vendor == "postgresql":  # one parameter: a statement psycopg parses only once
        values = ([getattr(b, f.attname) for f in fields] for b in batches)
        rows, params = json_recordset(db, fields, values, "batch")
    else:
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        rows = f"VALUES {', '.join([row] * len(batches))}"
        params = [f.get_db_prep_save(getattr(b, f.attname), db) for b in batches for f in fields]
    table = db.ops.quote_name(str(InboundBatch._meta.db_table))
    # Names from the model's metadata; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({columns}) {rows}"
        " ON CONFLICT DO NOTHING RETURNING id, content_hash, source_request_id"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        stored = {(content, source): pk for pk, content, source in cursor.fetchall()}
    for batch in batches:
        batch.pk = stored.pop((batch.content_hash, batch.source_request_id), None)
    return {batch.pk for batch in batches if batch.pk is not None}


def batch_receive(
    *, connection: Connection, payload: dict[str, Any], historical: bool = False
) -> tuple[InboundBatch, bool]:
    """Store one batch unless it was seen before; returns (batch, created).

    A repeated ``source_request_id`` or identical content is accepted and not stored twice
    (within the de-duplication window: older batches are pruned).
    """
    return batches_receive(connection=connection, payloads=[payload], historical=historical)[0]


def _existing(batch: InboundBatch) -> InboundBatch:
    same = InboundBatch.objects.filter(connection_id=batch.connection_id)
    if batch.source_request_id:
        found = same.filter(source_request_id=batch.source_request_id).first()
        if found is not None:
            return found
    return same.get(content_hash=batch.content_hash)
