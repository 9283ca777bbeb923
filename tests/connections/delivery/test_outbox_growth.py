"""Growth: the claim stays an index walk with a million queued rows."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.db import connection as db
from django.db import transaction
from django.test.utils import CaptureQueriesContext
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


def fill(output: BrazeOutput, batch: InboundBatch, rows: int, *, analyze: bool = True) -> None:
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
        if analyze:
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


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_order_hold_reads_the_claimed_users_rows_not_the_whole_backlog(
    connection: Connection,
) -> None:
    """A backlog that just arrived: the table's statistics still say it is empty (nothing
    analysed it yet), which once made the planner read every pending row of the output to
    find the claimed users' earlier rows, a claim at a time."""
    require_postgresql()
    output = braze_connection(connection, "http://127.0.0.1:9")
    batch = InboundBatch.objects.create(
        connection=connection, content_hash=batch_content_hash({"n": 1}), payload={}
    )
    with db.cursor() as cursor:
        cursor.execute("ANALYZE connections_delivery")  # empty, as before a backlog
    fill(output, batch, 100_000, analyze=False)
    with CaptureQueriesContext(db) as queries:
        claim = outbox.outbox_claim_batch(output=output)
    users = {row.user_key for row in claim.rows}
    probe = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT") and "'queued'" in q["sql"] and "'sending'" in q["sql"]
    ]
    assert len(probe) == 1, [q["sql"][:200] for q in queries]
    with db.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {probe[0]}")
        plan = cursor.fetchone()[0][0]["Plan"]
    read = sum(
        (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0))
        * node.get("Actual Loops", 1)
        for node in plan_nodes(plan)
        if node.get("Relation Name") == "connections_delivery"
    )
    print(f"\norder hold of {len(users)} users read {read} rows among 100,000")
    assert 0 < read <= 20 * len(users)  # each user's own rows (20 a user), not the backlog
