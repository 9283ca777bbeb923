"""Retention: each kind is forgotten after its period, in bounded chunks; failures are kept."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connections.delivery import retention, sweeper, tasks
from connections.delivery.intake import batch_content_hash, batch_receive
from connections.models import BrazeOutput, Connection, Delivery, DeliveryAttempt, InboundBatch
from mapping.models import MappingIssue
from tests.connections.delivery_helpers import braze_connection, event, queue_rows
from tests.mpbraze.test_settings import manage
from tests.services import require_postgresql

pytestmark = pytest.mark.django_db
LINKS = DeliveryAttempt.deliveries.through


@pytest.fixture
def output(connection: Connection, settings: Any) -> BrazeOutput:
    settings.MPBRAZE_SENT_RETENTION_DAYS = 7
    settings.MPBRAZE_DISCARDED_RETENTION_DAYS = 30
    settings.MPBRAZE_ATTEMPT_RETENTION_DAYS = 7
    settings.MPBRAZE_MAPPING_SAMPLE_RETENTION_DAYS = 30
    settings.MPBRAZE_BATCH_RETENTION_DAYS = 7
    settings.MPBRAZE_DEDUP_WINDOW_DAYS = 7
    return braze_connection(connection, "http://127.0.0.1:9")


def ago(days: float) -> Any:
    return timezone.now() - timedelta(days=days)


def rows_as(output: BrazeOutput, *states: dict[str, Any]) -> list[Delivery]:
    """One outbox row per state, each set with ``.update()`` (ages included)."""
    rows = queue_rows(output, [event(f"u{n}") for n in range(len(states))])
    for row, state in zip(rows, states, strict=True):
        Delivery.objects.filter(pk=row.pk).update(**state)
    return rows


def attempt(output: BrazeOutput, rows: list[Delivery], days: float, **fields: Any) -> int:
    made = DeliveryAttempt.objects.create(
        connection=output.connection, output=output, started_at=ago(days), object_count=1, **fields
    )
    made.deliveries.set(rows)
    return made.pk


def remaining(model: Any) -> set[int]:
    return set(model.objects.values_list("pk", flat=True))


def test_each_row_goes_after_its_period_and_failed_rows_stay_whatever_their_age(
    output: BrazeOutput,
) -> None:
    old_sent, new_sent, replayed, dead, rejected, queued, sending, old_dis, young_dis = rows_as(
        output,
        {"status": "sent", "sent_at": ago(8)},
        {"status": "sent", "sent_at": ago(6)},
        {"status": "sent", "sent_at": ago(8), "failed_at": ago(20), "replay_count": 1},
        {"status": "dead", "failed_at": ago(400), "created_at": ago(400)},
        {"status": "rejected", "failed_at": ago(400), "created_at": ago(400)},
        {"status": "queued", "created_at": ago(400)},
        {"status": "sending", "created_at": ago(400)},
        {"status": "discarded", "discarded_at": ago(31), "failed_at": ago(40)},
        {"status": "discarded", "discarded_at": ago(8), "failed_at": ago(40)},
    )

    report = retention.retention_prune()

    assert remaining(Delivery) == {
        r.pk for r in (new_sent, dead, rejected, queued, sending, young_dis)
    }
    assert not remaining(Delivery) & {old_sent.pk, replayed.pk, old_dis.pk}
    assert (report.sent, report.discarded, report.complete) == (2, 1, True)


def test_an_old_attempt_stays_while_a_row_it_carried_is_failed_waiting_or_discarded(
    output: BrazeOutput,
) -> None:
    sent, dead, rejected, queued, sending, discarded, gone_dis = rows_as(
        output,
        {"status": "sent", "sent_at": ago(1)},
        {"status": "dead", "failed_at": ago(9)},
        {"status": "rejected", "failed_at": ago(9)},
        {"status": "queued"},
        {"status": "sending"},
        {"status": "discarded", "discarded_at": ago(1)},
        {"status": "discarded", "discarded_at": ago(31)},
    )
    of_sent = attempt(output, [sent], 8, outcome="success")
    kept = {
        attempt(output, [sent, dead], 8, outcome="partial"),
        attempt(output, [rejected], 8, outcome="rejected"),
        attempt(output, [queued], 8, outcome="retry"),
        attempt(output, [sending], 8, outcome="pending"),
        attempt(output, [discarded], 8, outcome="retry"),
        attempt(output, [sent], 6, outcome="success"),  # young
    }
    orphan = attempt(output, [], 8, outcome="retry")  # its rows were pruned long ago
    of_gone_discard = attempt(output, [gone_dis], 8, outcome="retry")

    report = retention.retention_prune()

    assert remaining(DeliveryAttempt) == kept
    assert report.attempts == 3
    gone = {of_sent, orphan, of_gone_discard}
    assert not LINKS.objects.filter(deliveryattempt_id__in=gone).exists()
    assert Delivery.objects.filter(pk=sent.pk).exists()  # an attempt takes no row with it


def test_old_mapping_issues_forget_their_samples_and_keep_their_counts(
    output: BrazeOutput,
) -> None:
    def issue(path: str, last_seen_days: float) -> MappingIssue:
        return MappingIssue.objects.create(
            connection=output.connection,
            output=output,
            kind="object_in_custom_attribute",
            field_path=path,
            action="dropped_field",
            count=12,
            first_seen=ago(90),
            last_seen=ago(last_seen_days),
            sample_event={"event_name": "Play", "email": "a@example.com"},
            sample_sent={"name": "Play"},
        )

    old, recent = issue("user_attributes.old", 31), issue("user_attributes.recent", 29)

    report = retention.retention_prune()

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.sample_event, old.sample_sent, old.count) == (None, None, 12)
    assert recent.sample_event == {"event_name": "Play", "email": "a@example.com"}
    assert recent.sample_sent == {"name": "Play"}
    assert report.samples_cleared == 1


def test_old_batches_go_once_no_row_refers_to_them_and_kept_ones_lose_their_keys(
    output: BrazeOutput, connection: Connection
) -> None:
    payload = {"source_request_id": "req-1", "events": []}
    kept_for_audit = batch_receive(connection=connection, payload=payload)[0]
    gone = batch_receive(connection=connection, payload={"source_request_id": "req-2"})[0]
    recent = batch_receive(connection=connection, payload={"source_request_id": "req-3"})[0]
    pending = batch_receive(connection=connection, payload={"source_request_id": "req-4"})[0]
    dead, sent = rows_as(output, {"status": "dead"}, {"status": "sent", "sent_at": ago(8)})
    sent_batch = sent.batch_id  # its only row is pruned in the same run
    Delivery.objects.filter(pk=dead.pk).update(batch=kept_for_audit)
    InboundBatch.objects.filter(pk__in=[kept_for_audit.pk, gone.pk, sent_batch]).update(
        received_at=ago(8), status="mapped"
    )
    InboundBatch.objects.filter(pk=pending.pk).update(received_at=ago(8))  # still received

    report = retention.retention_prune()

    assert remaining(InboundBatch) == {kept_for_audit.pk, recent.pk, pending.pk}
    kept_for_audit.refresh_from_db()
    assert (kept_for_audit.source_request_id, kept_for_audit.content_hash) == (
        "",
        f"expired:{kept_for_audit.pk}",
    )
    assert (report.batches, report.batch_keys_expired) == (2, 1)
    again, created = batch_receive(connection=connection, payload=payload)
    assert created  # after the window, the same batch is new again (as mParticle does)
    assert again.pk != kept_for_audit.pk
    assert batch_receive(connection=connection, payload={"source_request_id": "req-3"})[1] is False
    assert batch_receive(connection=connection, payload={"source_request_id": "req-4"})[1] is False


def test_a_batch_retention_past_the_window_keeps_the_batch_but_not_its_keys(
    output: BrazeOutput, connection: Connection, settings: Any
) -> None:
    settings.MPBRAZE_BATCH_RETENTION_DAYS = 30
    kept = batch_receive(connection=connection, payload={"source_request_id": "req-1"})[0]
    gone = batch_receive(connection=connection, payload={"source_request_id": "req-2"})[0]
    InboundBatch.objects.filter(pk=kept.pk).update(received_at=ago(10), status="mapped")
    InboundBatch.objects.filter(pk=gone.pk).update(received_at=ago(31), status="mapped")

    report = retention.retention_prune()

    assert remaining(InboundBatch) == {kept.pk}
    assert InboundBatch.objects.get().content_hash == f"expired:{kept.pk}"
    assert (report.batches, report.batch_keys_expired) == (1, 1)
    assert batch_receive(connection=connection, payload={"source_request_id": "req-1"})[1]


def test_a_batch_retention_shorter_than_the_deduplication_window_is_refused(
    tmp_path: Path,
) -> None:
    env = {"MPBRAZE_BATCH_RETENTION_DAYS": "3", "MPBRAZE_DEDUP_WINDOW_DAYS": "7"}
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert (
        "MPBRAZE_BATCH_RETENTION_DAYS (3) must not be shorter than MPBRAZE_DEDUP_WINDOW_DAYS (7)"
        in result.stderr
    )


def seed_every_kind(output: BrazeOutput, count: int) -> None:
    """``count`` prunable items of each kind: sent and discarded rows, attempts carrying the
    sent rows, batches no row refers to, issue samples."""
    sent = rows_as(output, *[{"status": "sent", "sent_at": ago(8)}] * count)
    rows_as(output, *[{"status": "discarded", "discarded_at": ago(31)}] * count)
    for row in sent:
        attempt(output, [row], 8, outcome="success", index_map={"events": [row.pk]})
    hashes = [batch_content_hash({"seed": n, "count": count}) for n in range(count)]
    InboundBatch.objects.bulk_create(
        InboundBatch(
            connection=output.connection,
            content_hash=content_hash,
            payload={"events": [{"event_name": "Play"}]},
            status="mapped",
        )
        for content_hash in hashes
    )
    InboundBatch.objects.filter(content_hash__in=hashes).update(received_at=ago(8))
    MappingIssue.objects.bulk_create(
        MappingIssue(
            connection=output.connection,
            output=output,
            kind="object_in_custom_attribute",
            field_path=f"user_attributes.f{n}.{count}",
            action="dropped_field",
            first_seen=ago(40),
            last_seen=ago(31),
            sample_event={"n": n},
        )
        for n in range(count)
    )


def statements_of_a_full_prune(output: BrazeOutput, *, count: int, chunk: int) -> list[str]:
    seed_every_kind(output, count)
    with CaptureQueriesContext(db) as captured:
        report = retention.retention_prune(chunk=chunk)
    assert report == retention.RetentionReport(
        sent=count,
        discarded=count,
        attempts=count,
        batches=count,
        batch_keys_expired=0,
        samples_cleared=count,
        complete=True,
    )
    return [query["sql"] for query in captured.captured_queries]


def test_the_statements_grow_with_chunks_not_rows(output: BrazeOutput) -> None:
    three_small_chunks = statements_of_a_full_prune(output, count=6, chunk=2)
    three_large_chunks = statements_of_a_full_prune(output, count=24, chunk=8)

    assert len(three_small_chunks) == len(three_large_chunks)
    # Per kind: three chunks and the probe that finds nothing left, a handful of statements each.
    assert len(three_large_chunks) <= 6 * 4 * 5
    assert not Delivery.objects.filter(status__in=["sent", "discarded"]).exists()
    assert not DeliveryAttempt.objects.exists()


def test_no_statement_loads_a_row_and_deletes_go_by_id_range(output: BrazeOutput) -> None:
    statements = statements_of_a_full_prune(output, count=6, chunk=2)

    selects = [sql for sql in statements if sql.startswith("SELECT")]
    writes = [sql for sql in statements if sql.startswith(("DELETE", "UPDATE"))]
    assert selects
    assert writes
    for sql in selects:  # the next chunk's ids, nothing else
        assert re.match(r'SELECT "\w+"\."id"( AS "pk")? FROM "\w+" WHERE ', sql), sql
    for sql in statements:
        assert not re.search(r'"(body|payload|index_map|response_excerpt)"', sql), sql
    for sql in writes:  # the chunk's id range, bounds included
        assert re.search(r'"(id|delivery_id|deliveryattempt_id)" >= \S+ AND', sql), sql
        assert re.search(r'"(id|delivery_id|deliveryattempt_id)" <= ', sql), sql


def test_rows_are_locked_before_their_links_go_so_a_replay_cannot_requeue_them_meanwhile(
    output: BrazeOutput,
) -> None:
    require_postgresql()
    statements = statements_of_a_full_prune(output, count=2, chunk=2)

    chunks = [sql for sql in statements if sql.startswith('SELECT "connections_delivery"."id"')]
    assert [status in " ".join(chunks) for status in ("'sent'", "'discarded'")] == [True, True]
    assert all(sql.endswith(" FOR UPDATE") for sql in chunks), chunks


def test_a_spent_budget_stops_after_one_round_and_the_next_run_finishes(
    output: BrazeOutput,
) -> None:
    rows_as(output, *[{"status": "sent", "sent_at": ago(8)}] * 5)

    first = retention.retention_prune(chunk=2, budget_seconds=0)

    assert (first.sent, first.complete) == (2, False)
    assert Delivery.objects.count() == 3
    second = retention.retention_prune(chunk=2)
    assert (second.sent, second.complete) == (3, True)
    assert not Delivery.objects.exists()


def test_beat_runs_the_retention_task_which_prunes(output: BrazeOutput, settings: Any) -> None:
    assert settings.CELERY_BEAT_SCHEDULE["retention-prune"] == {
        "task": "mpbraze.retention_prune",
        "schedule": settings.MPBRAZE_PRUNE_SECONDS,
    }
    assert tasks.retention_prune.name == "mpbraze.retention_prune"
    rows = rows_as(
        output, {"status": "sent", "sent_at": ago(8)}, {"status": "sent", "sent_at": ago(1)}
    )

    tasks.retention_prune()

    assert remaining(Delivery) == {rows[1].pk}


def test_the_sweep_no_longer_prunes(output: BrazeOutput) -> None:
    (old,) = rows_as(output, {"status": "sent", "sent_at": ago(30)})
    success = attempt(output, [old], 30, outcome="success")

    sweeper.deliveries_sweep()

    assert remaining(Delivery) == {old.pk}
    assert remaining(DeliveryAttempt) == {success}
