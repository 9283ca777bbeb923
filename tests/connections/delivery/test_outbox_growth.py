"""Growth: the claim stays an index walk with a million queued rows."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from connections.delivery import outbox
from connections.delivery.intake import batch_content_hash
from connections.models import BrazeOutput, Connection, Delivery, InboundBatch
from tests.connections.delivery_helpers import braze_connection
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
                next_attempt_at, claim_token, split_depth, error_class, last_error, replay_count)
            SELECT %s, %s, %s, g, 'events', '{"name": "E"}'::jsonb, 'u' || (g / 20), g, 'E',
                CASE WHEN g %% 10 = 0 THEN 'sent' ELSE 'queued' END, 0, now(), now(),
                '', 0, '', '', 0
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
