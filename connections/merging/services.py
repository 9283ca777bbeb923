"""Queueing the ``/users/identify`` that merges an anonymous MPID's alias-only profile into the
known user's profile at Braze, once per MPID and output (docs/mapping.md "Anonymous users, then
known").

Mapping records each batch's sighting of its MPID in the transaction that writes the batch's
outbox rows. The transaction that first holds both halves (objects sent under the MPID's alias,
and the external id the MPID arrived with) adds an identify row to the outbox among the
batch's rows, placed so that the forwarder's per-user order sends it after the alias's objects
and before the known user's (``connections.delivery.identify``). A replay, a restart or a batch
mapped again never queues a second one: ``identified_at`` is set in that same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection as db

from connections.delivery.models import Delivery, InboundBatch
from connections.merging.models import AnonymousProfile
from connections.models import BrazeOutput
from mapping.identify import Sighting, alias_to_identify, batch_sighting
from mapping.objects import MappingContext

# One statement on PostgreSQL and SQLite alike. It writes only when the sighting adds
# something (the first alias sighting, the first external id), so a known user's every later
# batch costs an index probe and a row lock, not a new row version. Concurrent mappings of
# one MPID queue on the row lock, and the second sees what the first committed.
_UPSERT = """
INSERT INTO {table} AS p (output_id, mpid, external_id, alias_seen_at, created_at)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (output_id, mpid) DO UPDATE SET
    alias_seen_at = COALESCE(p.alias_seen_at, excluded.alias_seen_at),
    external_id = CASE WHEN p.external_id = '' THEN excluded.external_id ELSE p.external_id END
WHERE p.identified_at IS NULL AND (
    (p.alias_seen_at IS NULL AND excluded.alias_seen_at IS NOT NULL)
    OR (p.external_id = '' AND excluded.external_id <> ''))
RETURNING id, alias_seen_at, external_id
"""


def anonymous_profile_sighted(*, output_id: int, sighting: Sighting, now: datetime) -> str | None:
    """Record one batch's sighting of its MPID. Returns the external id to identify the MPID's
    alias as when this sighting completes the pair for the first time (the identify is then
    the caller's to queue, in the same transaction), else ``None``."""
    sql = _UPSERT.format(table=db.ops.quote_name(AnonymousProfile._meta.db_table))
    params: list[Any] = [
        output_id,
        sighting.mpid,
        (sighting.external_id or "")[:1000],
        now if sighting.anonymous else None,
        now,
    ]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    if found is None or found[1] is None or not found[2]:  # written, but one half is missing
        return None
    profile_id, _alias_seen_at, external_id = found
    AnonymousProfile.objects.filter(pk=profile_id, identified_at__isnull=True).update(
        identified_at=now
    )
    return str(external_id)


def identify_rows_add(
    *,
    batch: InboundBatch,
    output: BrazeOutput,
    context: MappingContext,
    rows: Sequence[dict[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    """The batch's outbox rows (as the values of their fields), with the identify row among
    them when this batch completes its MPID's pair: first when the batch is the known user's
    (their objects follow it), last when it is the alias's own, mapped after the known user's
    (its objects precede it)."""
    sighting = batch_sighting(batch.payload, context)
    if sighting is None:
        return list(rows)
    external_id = anonymous_profile_sighted(output_id=output.pk, sighting=sighting, now=now)
    if external_id is None:
        return list(rows)
    objects = sum(row["size"] for row in rows)
    identify: dict[str, Any] = {
        "connection_id": batch.connection_id,
        "output_id": output.pk,
        "batch_id": batch.pk,
        "sequence": objects if sighting.anonymous else 0,
        "kind": Delivery.Kind.IDENTIFY.value,
        "body": alias_to_identify(external_id=external_id, mpid=sighting.mpid),
        "more": [],
        "size": 1,
        "user_key": external_id[:1000],
        "event_index": None,
        "event_name": "",
        "created_at": now,
        "next_attempt_at": now,
    }
    if sighting.anonymous:
        return [*rows, identify]
    for row in rows:
        row["sequence"] += 1
        for item in row["more"]:
            item["sequence"] += 1
    return [identify, *rows]
