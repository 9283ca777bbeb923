"""Growth: the claim stays an index walk with a million queued rows; old work is pruned."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from connections.delivery import attempts, outbox
from connections.delivery.intake import batch_content_hash, batch_receive
from connections.models import BrazeOutput, Connection, Delivery, InboundBatch
from tests.connections.delivery_helpers import braze_connection, event, queue_rows
from tests.services import require_postgresql

MILLION = 1_000_000


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += plan_nodes(child)
    return nodes


def fill(output: BrazeOutput, batch: InboundBatch, rows: int) -> None:
    """A million rows in one statement: every tenth sent, a user per 20 rows."""
    with db.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO connections_delivery (connection_id, output_id, batch_id, sequence,
                kind, body, user_key, event_index, event_name, status, attempts, created_at,
                next_attempt_at, claim_token, split_depth, error_class, last_error)
            SELECT %s, %s, %s, g, 'events', '{"name": "E"}'::jsonb, 'u' || (g / 20), g, 'E',
                CASE WHEN g %% 10 = 0 THEN 'sent' ELSE 'queued' END, 0, now(), now(),
                '', 0, '', ''
            FROM generate_series(1, %s) AS g
            """,
            [output.connection_id, output.pk, batch.pk, rows],
        )
        cursor.execute("ANALYZE connections_delivery")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_claim_walks_an_index_without_sorting_a_million_queued_rows(
    connection: Connection,
) -> None:
    require_postgresql()
    output = braze_connection(connection, "http://127.0.0.1:9")
    batch = InboundBatch.objects.create(
        connection=connection, content_hash=batch_content_hash({"n": 1}), payload={}
    )
    fill(output, batch, MILLION)
    claimable = (
        Delivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(output=output, status="queued", next_attempt_at__lte=timezone.now())
        .order_by("batch_id", "sequence")[:750]
    )
    with transaction.atomic():
        plan = json.loads(claimable.explain(format="json"))[0]["Plan"]
    nodes = plan_nodes(plan)
    started = time.monotonic()
    claim = outbox.outbox_claim_batch(output=output)
    took = time.monotonic() - started
    print(f"\nclaim of {len(claim.rows)} rows among {MILLION:,} in {took * 1000:.0f} ms")
    print(" > ".join(f"{n['Node Type']}({n.get('Index Name', '')})" for n in nodes))
    assert [n.get("Index Name") for n in nodes if "Index" in n["Node Type"]] == [
        "delivery_claimable"
    ]
    assert not [n for n in nodes if n["Node Type"] == "Sort"]
    assert len(claim.rows) == 738  # 750 less the last user's 12 queued rows (whole users)


@pytest.mark.django_db
def test_batches_past_the_deduplication_window_are_pruned_or_lose_their_keys(
    connection: Connection, settings: Any
) -> None:
    settings.MPBRAZE_DEDUP_WINDOW_DAYS = 7
    output = braze_connection(connection, "http://127.0.0.1:9")
    payload = {"source_request_id": "req-1", "events": []}
    kept_for_audit = batch_receive(connection=connection, payload=payload)[0]
    gone = batch_receive(connection=connection, payload={"source_request_id": "req-2"})[0]
    recent = batch_receive(connection=connection, payload={"source_request_id": "req-3"})[0]
    dead = queue_rows(output, [event("u1")])[0]
    Delivery.objects.filter(pk=dead.pk).update(batch=kept_for_audit, status="dead")
    InboundBatch.objects.filter(pk__in=[kept_for_audit.pk, gone.pk]).update(
        received_at=timezone.now() - timedelta(days=8), status="mapped"
    )
    InboundBatch.objects.filter(pk=dead.batch_id).delete()  # the helper's own batch

    attempts.attempts_prune()

    assert set(InboundBatch.objects.values_list("pk", flat=True)) == {
        kept_for_audit.pk,
        recent.pk,
    }
    kept_for_audit.refresh_from_db()
    assert (kept_for_audit.source_request_id, kept_for_audit.content_hash) == (
        "",
        f"expired:{kept_for_audit.pk}",
    )
    again, created = batch_receive(connection=connection, payload=payload)
    assert created  # after the window, the same batch is new again (as mParticle does)
    assert batch_receive(connection=connection, payload={"source_request_id": "req-3"})[1] is False
    assert again.pk != kept_for_audit.pk


@pytest.mark.django_db
def test_pruning_sent_rows_deletes_in_chunks_without_loading_them(
    connection: Connection, django_assert_max_num_queries: Any
) -> None:
    output = braze_connection(connection, "http://127.0.0.1:9")
    rows = queue_rows(output, [event(f"u{n}") for n in range(30)])
    Delivery.objects.filter(pk__in=[r.pk for r in rows]).update(
        status="sent", sent_at=timezone.now() - timedelta(days=30)
    )
    with django_assert_max_num_queries(12):  # a few statements, not one per row
        pruned = attempts.attempts_prune()
    assert pruned >= 30
    assert not Delivery.objects.exists()
