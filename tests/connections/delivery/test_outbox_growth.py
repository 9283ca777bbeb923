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


def _statement_plan(sql: str, params: Any) -> dict[str, Any]:
    with db.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        (found,) = cursor.fetchone()
    explained = found if isinstance(found, list) else json.loads(found)
    plan: dict[str, Any] = explained[0]["Plan"]
    return plan


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_on_a_new_backlogs_stale_statistics_the_order_hold_reads_index_entries_not_rows(
    connection: Connection,
) -> None:
    """The statistics were gathered before the backlog came (as on a new install, or before
    autovacuum's next analyze): the planner probes the pending rows by output alone. It must
    then filter index entries, not fetch every pending row of the output from the table."""
    require_postgresql()
    output = braze_connection(connection, "http://127.0.0.1:9")
    with db.cursor() as cursor:
        cursor.execute("ANALYZE connections_delivery")  # empty: what a new backlog finds
        cursor.execute(  # 40,000 batches of one user each, as uploads come, all mapped
            """
            WITH batch AS (
                INSERT INTO connections_inboundbatch (connection_id, received_at,
                    source_request_id, content_hash, historical, payload, status,
                    map_attempts, error, enqueue_count)
                SELECT %s, now(), '', 'h' || g, false, '{}'::jsonb, 'mapped', 1, '', 1
                FROM generate_series(1, 40000) AS g
                RETURNING id
            )
            INSERT INTO connections_delivery (connection_id, output_id, batch_id, sequence,
                kind, body, user_key, event_index, event_name, status, attempts, created_at,
                next_attempt_at, claim_token, split_depth, error_class, last_error, replay_count)
            SELECT %s, %s, batch.id, 0, 'events', jsonb_build_object('name', repeat('E', 600)),
                'u' || batch.id, 0, 'E', 'queued', 0, now(), now(), '', 0, '', '', 0
            FROM batch
            """,
            [output.connection_id, output.connection_id, output.pk],
        )
        cursor.execute("SELECT pg_relation_size('connections_delivery') / 8192")
        (table_pages,) = cursor.fetchone()
    holds: list[tuple[str, Any]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith("SELECT") and "user_key = ANY(" in sql:  # the order hold's
            holds.append((sql, params))
        return execute(sql, params, many, context)

    with db.execute_wrapper(capture):
        claim = outbox.outbox_claim_batch(output=output)
    assert claim.rows
    assert len(holds) == 1
    plan = _statement_plan(*holds[0])
    touched = plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]
    fetched_for_nothing = plan.get("Rows Removed by Filter", 0)
    print(
        f"\nthe order hold of {len(claim.rows)} rows touched {touched} blocks of a"
        f" {table_pages}-page table, fetched {fetched_for_nothing} rows it did not need,"
        f" in {plan['Actual Total Time']} ms: {plan}"
    )
    # Before the batch was in the index: 39,250 rows fetched and dropped, 12,381 blocks.
    assert fetched_for_nothing <= len(claim.rows)
    assert touched < table_pages
