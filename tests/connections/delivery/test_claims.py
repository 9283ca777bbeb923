"""Claims: row-only locks, owned leases, per-user order, and recovery of a dead worker's claim."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from connections.delivery import outbox, recovery
from connections.models import BrazeOutput, Connection, Delivery, DeliveryAttempt
from tests.connections.delivery_helpers import braze_connection, event, queue_rows, queue_user_row
from tests.services import require_postgresql

NOWHERE = "http://127.0.0.1:9"  # nothing is sent in these tests


@pytest.fixture
def output(connection: Connection) -> BrazeOutput:
    return braze_connection(connection, NOWHERE)


def expire(rows: list[Delivery]) -> None:
    past = timezone.now() - timedelta(seconds=1)
    Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(lease_until=past)


def attempt(output: BrazeOutput, claim: outbox.Claim, rows: list[Delivery], **fields: Any) -> Any:
    return DeliveryAttempt.objects.create(
        connection_id=output.connection_id,
        output=output,
        started_at=timezone.now(),
        object_count=len(rows),
        index_map={"events": [row.pk for row in rows]},
        claim_token=claim.token,
        **fields,
    )


@pytest.mark.django_db(transaction=True)
def test_while_one_claim_is_open_another_worker_claims_the_next_rows_of_the_same_output(
    output: BrazeOutput,
) -> None:
    """Only the rows are locked (not the connection): two workers send one output at once."""
    require_postgresql()
    queue_rows(output, [event(f"u{n}") for n in range(25)])
    opened, release = threading.Event(), threading.Event()
    first: list[outbox.Claim] = []

    def hold_a_claim_open() -> None:
        with transaction.atomic():  # the claim's locks last until this outer block ends
            first.append(outbox.outbox_claim_batch(output=output, limit=10))
            opened.set()
            release.wait(10)
        db.close()

    holder = threading.Thread(target=hold_a_claim_open)
    holder.start()
    assert opened.wait(10)
    try:
        second = outbox.outbox_claim_batch(output=output, limit=10)
        with transaction.atomic():  # nor is the connection row locked by the open claim
            Connection.objects.select_for_update(nowait=True).get(pk=output.connection_id)
    finally:
        release.set()
        holder.join()
    assert len(first[0].rows) == len(second.rows) == 10  # each ends between two users
    assert not {row.pk for row in first[0].rows} & {row.pk for row in second.rows}


@pytest.mark.django_db
def test_a_worker_whose_lease_expired_cannot_finish_rows_another_worker_claimed(
    output: BrazeOutput,
) -> None:
    queue_rows(output, [event("u1"), event("u2")])
    late = outbox.outbox_claim_batch(output=output)
    expire(late.rows)
    assert recovery.outbox_recover_expired_leases().released == 2
    current = outbox.outbox_claim_batch(output=output)

    assert outbox.outbox_mark_sent(rows=late.rows, status_code=201) == 0
    assert outbox.outbox_release(rows=late.rows) == 0
    assert set(Delivery.objects.values_list("status", "claim_token")) == {
        ("sending", current.token)
    }


@pytest.mark.django_db
def test_renewing_a_lease_extends_only_the_rows_the_claim_still_holds(
    output: BrazeOutput,
) -> None:
    queue_rows(output, [event("u1"), event("u2")])
    claim = outbox.outbox_claim_batch(output=output)
    outbox.outbox_mark_sent(rows=claim.rows[:1], status_code=201)
    expire(claim.rows)
    assert outbox.outbox_renew_lease(claim=claim) == 1
    left = Delivery.objects.get(status="sending")
    assert left.lease_until is not None
    assert left.lease_until > timezone.now()


@pytest.mark.django_db
def test_a_dead_workers_rows_are_finished_from_the_answers_recorded_for_them(
    output: BrazeOutput,
) -> None:
    rows = queue_rows(output, [event(f"u{n}") for n in range(6)])
    claim = outbox.outbox_claim_batch(output=output)
    attempt(output, claim, rows[0:2], outcome="success", status_code=201)
    errors = [{"type": "bad email", "input_array": "events", "index": 1}]
    attempt(output, claim, rows[2:4], outcome="partial", status_code=201, braze_errors=errors)
    attempt(output, claim, rows[4:5], outcome="retry", status_code=503, error_class="http_5xx")
    expire(claim.rows)  # rows[5] was claimed but never sent

    report = recovery.outbox_recover_expired_leases()

    status = dict(Delivery.objects.values_list("pk", "status"))
    assert [status[row.pk] for row in rows] == [
        "sent",
        "sent",
        "sent",
        "rejected",
        "queued",
        "queued",
    ]
    assert Delivery.objects.get(pk=rows[4].pk).attempts == 1  # a retry was spent
    assert (report.finished, report.unknown, report.released) == (5, 0, 1)


@pytest.mark.django_db
def test_a_dead_workers_row_of_several_objects_is_split_by_the_recorded_per_object_errors(
    output: BrazeOutput,
) -> None:
    whole = queue_user_row(output, [event("u1", "A"), event("u1", "B"), event("u1", "C")])
    sent_whole = queue_user_row(output, [event("u2", "A"), event("u2", "B")])
    claim = outbox.outbox_claim_batch(output=output)
    errors = [{"type": "bad name", "input_array": "events", "index": 1}]
    answered = DeliveryAttempt.objects.create(
        connection_id=output.connection_id,
        output=output,
        started_at=timezone.now(),
        object_count=5,
        index_map={"events": [whole.pk] * 3 + [sent_whole.pk] * 2},
        claim_token=claim.token,
        outcome="partial",
        status_code=201,
        braze_errors=errors,
    )
    expire(claim.rows)

    report = recovery.outbox_recover_expired_leases()

    rows = Delivery.objects.order_by("batch_id", "sequence")
    assert [(r.user_key, r.event_name, r.status, r.size) for r in rows] == [
        ("u1", "A", "sent", 1),
        ("u1", "B", "rejected", 1),
        ("u1", "C", "sent", 1),
        ("u2", "A", "sent", 2),  # answered alike: still one row
    ]
    answered.refresh_from_db()
    u1 = [row.pk for row in rows][:3]
    assert answered.index_map == {"events": [*u1, sent_whole.pk, sent_whole.pk]}
    assert report.finished == 4  # rows: three of one object, and the whole one


@pytest.mark.django_db
@pytest.mark.parametrize("returning", [True, False], ids=["update-returning", "without-returning"])
def test_a_claim_takes_its_rows_in_order_with_what_sending_needs(
    output: BrazeOutput, returning: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also on a database without ``UPDATE … RETURNING`` (SQLite before 3.35)."""
    first = queue_user_row(output, [event("u1", "A"), event("u1", "B")])
    second = queue_rows(output, [event("u2", "C")])[0]
    monkeypatch.setattr(type(db.features), "can_return_rows_from_bulk_insert", returning)
    claim = outbox.outbox_claim_batch(output=output)
    assert [row.pk for row in claim.rows] == [first.pk, second.pk]
    assert [(row.status, row.claim_token) for row in claim.rows] == [("sending", claim.token)] * 2
    held = [h.event_name for row in claim.rows for h in row.held_objects()]
    assert held == ["A", "B", "C"]
    stored = set(Delivery.objects.values_list("status", "claim_token", "lease_until"))
    assert stored == {("sending", claim.token, claim.lease_until)}


@pytest.mark.django_db
def test_a_send_without_a_recorded_answer_is_closed_as_unknown_and_resent(
    output: BrazeOutput,
) -> None:
    rows = queue_rows(output, [event("u1"), event("u2")])
    claim = outbox.outbox_claim_batch(output=output)
    in_flight = attempt(output, claim, rows)  # started; the worker died before the answer
    expire(claim.rows)

    report = recovery.outbox_recover_expired_leases()

    in_flight.refresh_from_db()
    assert (in_flight.outcome, in_flight.finished_at is not None) == ("unknown", True)
    assert report.unknown == 2
    assert set(Delivery.objects.values_list("status", "attempts")) == {("queued", 0)}


@pytest.mark.django_db
def test_a_users_later_rows_wait_behind_an_earlier_row_in_backoff(output: BrazeOutput) -> None:
    earlier = queue_rows(output, [event("alice", name="Signed up")])
    retry_at = timezone.now() + timedelta(minutes=2)
    Delivery.objects.filter(pk=earlier[0].pk).update(next_attempt_at=retry_at, attempts=1)
    later = queue_rows(output, [event("alice", name="Bought"), event("bob", name="Bought")])

    claim = outbox.outbox_claim_batch(output=output)

    assert [row.user_key for row in claim.rows] == ["bob"]
    held = Delivery.objects.get(pk=later[0].pk)
    assert (held.status, held.next_attempt_at >= retry_at) == ("queued", True)
    assert claim.held_until is not None
    assert claim.held_until >= retry_at


@pytest.mark.django_db
def test_a_users_rows_after_a_gap_wait_behind_the_row_in_backoff(output: BrazeOutput) -> None:
    """The user's first row is due, the second in backoff, the third due: the claim's page
    skips the second, and the third waits for it (it used to be sent before it)."""
    rows = queue_rows(output, [event("alice", name) for name in ("A", "B", "C")])
    retry_at = timezone.now() + timedelta(minutes=2)
    Delivery.objects.filter(pk=rows[1].pk).update(next_attempt_at=retry_at, attempts=1)

    claim = outbox.outbox_claim_batch(output=output)

    assert [row.body["name"] for row in claim.rows] == ["A"]
    held = Delivery.objects.get(pk=rows[2].pk)
    assert (held.status, held.next_attempt_at >= retry_at) == ("queued", True)
    assert claim.held_until is not None
    assert claim.held_until >= retry_at


@pytest.mark.django_db(transaction=True)
def test_a_users_rows_after_a_row_another_claim_holds_wait_for_it(output: BrazeOutput) -> None:
    """Another claim has locked the user's second row (its transaction still open): this
    claim's page skips it, so the user's third row waits too."""
    require_postgresql()  # SQLite takes one writer at a time: no claim runs beside another
    rows = queue_rows(output, [event("alice", name) for name in ("A", "B", "C")])
    locked, release = threading.Event(), threading.Event()

    def other_claim() -> None:
        try:
            with transaction.atomic():
                list(Delivery.objects.select_for_update().filter(pk=rows[1].pk))
                locked.set()
                release.wait(10)
        finally:
            db.close()

    holder = threading.Thread(target=other_claim)
    holder.start()
    try:
        assert locked.wait(10)
        claim = outbox.outbox_claim_batch(output=output)
    finally:
        release.set()
        holder.join()
    assert [row.body["name"] for row in claim.rows] == ["A"]
    assert Delivery.objects.get(pk=rows[2].pk).status == "queued"
    assert claim.held_until is not None


def names(claim: outbox.Claim) -> list[str]:
    return [row.body["name"] for row in claim.rows]


@pytest.mark.django_db
def test_a_claim_taken_ahead_is_not_held_behind_the_claim_its_lane_is_sending(
    output: BrazeOutput,
) -> None:
    """The lane sends the claim it took ahead only after the one in flight is answered, so
    Alice's later row goes with it, instead of waiting out the order hold."""
    queue_rows(output, [event("alice", "A")])
    queue_rows(output, [event("alice", "B")])
    in_flight = outbox.outbox_claim_batch(output=output, limit=1)

    ahead = outbox.outbox_claim_batch(output=output, following=in_flight)

    assert (names(ahead), ahead.held_until, ahead.follows) == (["B"], None, True)
    outbox.outbox_mark_sent(rows=in_flight.rows, status_code=201)
    outbox.outbox_confirm_order(output=output, claim=ahead)
    assert names(ahead) == ["B"]
    assert Delivery.objects.get(body__name="B").status == "sending"


@pytest.mark.django_db
def test_a_claim_taken_ahead_gives_back_the_rows_behind_a_row_that_failed_meanwhile(
    output: BrazeOutput,
) -> None:
    """Alice's row in flight fails and goes to backoff: before the claim taken ahead is sent,
    her later row goes back to the queue until after the retry; Bob's is sent."""
    queue_rows(output, [event("alice", "A")])
    queue_rows(output, [event("alice", "B"), event("bob", "C")])
    in_flight = outbox.outbox_claim_batch(output=output, limit=1)
    ahead = outbox.outbox_claim_batch(output=output, following=in_flight)
    assert names(ahead) == ["B", "C"]

    failure = outbox.Failure(500, "server_error", "Braze answered 500.")
    outbox.outbox_retry_later(rows=in_flight.rows, failure=failure)
    outbox.outbox_confirm_order(output=output, claim=ahead)

    assert names(ahead) == ["C"]
    retry_at = Delivery.objects.get(body__name="A").next_attempt_at
    held = Delivery.objects.get(body__name="B")
    assert (held.status, held.next_attempt_at) == ("queued", retry_at + outbox.ORDER_HOLD)
    assert ahead.held_until == held.next_attempt_at


@pytest.mark.django_db
def test_rows_behind_a_row_held_for_order_come_due_with_it(output: BrazeOutput) -> None:
    """A is in flight; B waits out the order hold. C, behind B, comes due with B (a claim
    then takes both, in order), not a hold later: holds would otherwise add a second for
    each of a busy user's batches."""
    queue_rows(output, [event("alice", "A")])
    queue_rows(output, [event("alice", "B")])
    in_flight = outbox.outbox_claim_batch(output=output, limit=1)
    assert outbox.outbox_claim_batch(output=output).rows == []  # B is held behind A
    queue_rows(output, [event("alice", "C")])

    assert outbox.outbox_claim_batch(output=output).rows == []
    held = dict(
        Delivery.objects.filter(status="queued").values_list("body__name", "next_attempt_at")
    )
    assert held["C"] == held["B"] > timezone.now()
    assert in_flight.rows[0].status == "sending"


@pytest.mark.django_db
def test_rows_held_behind_a_claim_are_woken_when_it_is_answered(output: BrazeOutput) -> None:
    """Another lane of the task sends A; the claim that meets B holds it behind A's claim,
    and that lane wakes it once A is answered: the next claim takes it at once."""
    queue_rows(output, [event("alice", "A")])
    queue_rows(output, [event("alice", "B")])
    other_lane = outbox.outbox_claim_batch(output=output, limit=1)
    held_behind = outbox.HeldBehind()
    claim = outbox.outbox_claim_batch(output=output)
    held_behind.note(claim)
    assert claim.rows == []
    assert outbox.outbox_claim_batch(output=output).rows == []

    outbox.outbox_mark_sent(rows=other_lane.rows, status_code=201)
    assert outbox.outbox_wake(pks=held_behind.take(other_lane.token)) == 1

    assert names(outbox.outbox_claim_batch(output=output)) == ["B"]
    assert held_behind.take(other_lane.token) == []


@pytest.mark.django_db
def test_a_full_claim_leaves_its_last_user_whole_to_the_next_claim(output: BrazeOutput) -> None:
    queue_rows(output, [event("alice")] * 4 + [event("bob")] * 4)
    claim = outbox.outbox_claim_batch(output=output, limit=6)
    assert [row.user_key for row in claim.rows] == ["alice"] * 4
    assert claim.full
    assert [row.user_key for row in outbox.outbox_claim_batch(output=output).rows] == ["bob"] * 4


@pytest.mark.django_db
def test_a_full_claim_that_ends_between_users_keeps_its_last_user(output: BrazeOutput) -> None:
    # Rows of several objects often end a claim exactly where a user ends: dropping that
    # user would shrink the claim by a user for nothing (and leave more partly filled tails).
    for user in ("alice", "bob", "carol"):
        queue_user_row(output, [event(user, name) for name in "ABC"])
    claim = outbox.outbox_claim_batch(output=output, limit=7)
    assert [row.user_key for row in claim.rows] == ["alice", "bob"]
    assert claim.full
    assert [row.user_key for row in outbox.outbox_claim_batch(output=output).rows] == ["carol"]
