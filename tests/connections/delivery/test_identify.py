"""Anonymous → known through mapping and the forwarder against a fake Braze: one identify per
MPID, sent after the alias's objects and before the known user's, and every way it can fail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from connections.audit.services import replay_run_execute, replay_runs_create
from connections.delivery import mapping_service
from connections.delivery.forwarder import output_forward
from connections.delivery.intake import batch_receive
from connections.models import (
    AnonymousProfile,
    BrazeOutput,
    Connection,
    Delivery,
    DeliveryAttempt,
    FailureGroup,
)
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import REST_KEY, braze_connection, event, queue_rows
from tests.connections.identify_helpers import (
    IDENTIFY_PERMISSIONS,
    MPID,
    alias_of,
    anonymous_batch,
    known_batch,
    received,
    send_anonymous_users_as_alias,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_linger")]
IDENTIFY = ("identify", f"c-1 ← {MPID}")


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: IDENTIFY_PERMISSIONS}) as fake:
        yield fake


@pytest.fixture
def output(connection: Connection, braze: FakeBraze) -> BrazeOutput:
    return send_anonymous_users_as_alias(braze_connection(connection, braze.url))


def mapped(connection: Connection, payload: dict[str, Any]) -> int:
    batch = batch_receive(connection=connection, payload=payload)[0]
    mapping_service.batch_map(batch_id=batch.pk)
    return batch.pk


def identify_rows() -> list[Delivery]:
    return list(Delivery.objects.filter(kind="identify").order_by("pk"))


def due_now() -> None:
    """Skip the waits (backoff, order holds) the test is not about."""
    Delivery.objects.filter(status="queued").update(next_attempt_at=timezone.now())


def test_a_login_after_anonymous_events_merges_the_alias_before_the_known_users_objects(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    mapped(connection, anonymous_batch("Browse", "Add to cart"))
    known = mapped(connection, known_batch("c-1", "Checkout"))
    output_forward(output_id=output.pk)
    due_now()  # the known user's objects waited a moment behind the alias's
    output_forward(output_id=output.pk)

    assert received(braze) == [
        ("attributes", f"alias {MPID}"),
        ("events", f"alias {MPID}: Browse"),
        ("events", f"alias {MPID}: Add to cart"),
        IDENTIFY,
        ("events", "c-1: Checkout"),
    ]
    [identify] = identify_rows()
    assert (identify.status, identify.batch_id, identify.sequence) == ("sent", known, 0)
    assert identify.body == {"external_id": "c-1", "user_alias": alias_of()}
    request = next(r for r in braze.requests() if r["path"] == "/users/identify")
    assert request["counts"] == {"aliases_to_identify": 1}
    profile = AnonymousProfile.objects.get()
    assert (profile.mpid, profile.external_id) == (str(MPID), "c-1")
    assert profile.alias_seen_at is not None
    assert profile.identified_at is not None


def test_later_batches_of_the_known_user_never_identify_again(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    mapped(connection, anonymous_batch("Browse"))
    mapped(connection, known_batch("c-1", "Checkout"))
    mapped(connection, known_batch("c-1", "Pay"))
    mapped(connection, anonymous_batch("Browse again"))  # a late upload from before the login
    for _ in range(3):
        due_now()
        output_forward(output_id=output.pk)
    assert len(identify_rows()) == 1
    assert [kind for kind, _ in received(braze)].count("identify") == 1
    assert not Delivery.objects.exclude(status="sent").exists()


def test_a_known_user_never_seen_anonymous_is_not_identified(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    mapped(connection, known_batch("c-1", "Checkout"))
    output_forward(output_id=output.pk)
    assert identify_rows() == []
    assert received(braze) == [("events", "c-1: Checkout")]


def test_an_output_that_drops_anonymous_users_never_identifies(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    BrazeOutput.objects.filter(pk=output.pk).update(settings={})
    mapped(connection, anonymous_batch("Browse"))
    mapped(connection, known_batch("c-1", "Checkout"))
    assert identify_rows() == []
    assert not AnonymousProfile.objects.exists()


def test_when_the_known_batch_is_mapped_first_the_identify_still_follows_the_alias_objects(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    known = batch_receive(connection=connection, payload=known_batch("c-1", "Checkout"))[0]
    anonymous = batch_receive(connection=connection, payload=anonymous_batch("Browse"))[0]
    mapping_service.batch_map(batch_id=known.pk)
    mapping_service.batch_map(batch_id=anonymous.pk)
    [identify] = identify_rows()
    assert (identify.batch_id, identify.sequence) == (anonymous.pk, 2)  # after its 2 objects
    output_forward(output_id=output.pk)
    due_now()
    output_forward(output_id=output.pk)
    # The known user's earlier objects waited with their identify; all of them follow it.
    assert received(braze) == [
        ("attributes", f"alias {MPID}"),
        ("events", f"alias {MPID}: Browse"),
        IDENTIFY,
        ("events", "c-1: Checkout"),
    ]


def test_the_identify_and_the_known_user_wait_while_the_alias_objects_are_in_backoff(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    mapped(connection, anonymous_batch("Browse"))
    mapped(connection, known_batch("c-1", "Checkout"))
    later = timezone.now() + timedelta(hours=1)
    Delivery.objects.filter(user_key=str(MPID)).update(next_attempt_at=later)
    output_forward(output_id=output.pk)
    assert braze.requests() == []
    held = Delivery.objects.filter(user_key="c-1")
    assert set(held.values_list("status", flat=True)) == {"queued"}
    assert all(row.next_attempt_at > later for row in held)  # just after the alias's rows
    due_now()
    output_forward(output_id=output.pk)
    due_now()
    output_forward(output_id=output.pk)
    assert [kind for kind, _ in received(braze)] == ["attributes", "events", "identify", "events"]


# --- Braze's answers to the identify ------------------------------------------------------------


def login_after_alias_was_sent(connection: Connection, output: BrazeOutput) -> None:
    """The alias's objects are at Braze; the login batch is mapped, nothing of it sent."""
    mapped(connection, anonymous_batch("Browse"))
    output_forward(output_id=output.pk)
    mapped(connection, known_batch("c-1", "Checkout"))


def test_a_429_holds_the_identify_and_its_user_but_not_the_others_on_users_track(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    login_after_alias_was_sent(connection, output)
    queue_rows(output, [event("someone-else", name="Elsewhere")])
    braze.reset()
    braze.set_faults(next_statuses=(429,), retry_after_seconds=1)
    output_forward(output_id=output.pk)

    assert received(braze) == [("events", "someone-else: Elsewhere")]
    [identify] = identify_rows()
    assert (identify.status, identify.attempts) == ("queued", 0)  # no retry budget spent
    attempt = DeliveryAttempt.objects.filter(deliveries=identify).get()
    assert (attempt.outcome, attempt.status_code) == ("rate_limited", 429)
    assert set(Delivery.objects.filter(user_key="c-1").values_list("status", flat=True)) == {
        "queued"
    }
    due_now()
    output_forward(output_id=output.pk)
    assert received(braze)[1:] == [IDENTIFY, ("events", "c-1: Checkout")]


def test_a_5xx_retries_the_identify_with_backoff_and_its_user_follows_it(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    login_after_alias_was_sent(connection, output)
    braze.reset()
    braze.set_faults(next_statuses=(503,))
    before = timezone.now()
    output_forward(output_id=output.pk)

    [identify] = identify_rows()
    assert (identify.status, identify.attempts, identify.last_status_code) == ("queued", 1, 503)
    assert 4.0 <= (identify.next_attempt_at - before).total_seconds() <= 6.5
    assert received(braze) == []
    due_now()
    output_forward(output_id=output.pk)
    assert received(braze) == [IDENTIFY, ("events", "c-1: Checkout")]


def test_a_key_without_users_identify_records_a_failed_identify_and_the_user_still_flows(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_key(REST_KEY, ("users.track",))
    login_after_alias_was_sent(connection, output)
    output_forward(output_id=output.pk)

    [identify] = identify_rows()
    assert (identify.status, identify.last_status_code) == ("rejected", 403)
    assert "lacks the users.identify permission" in identify.last_error
    group = FailureGroup.objects.get()
    assert group.title.startswith("Identify (merge of an anonymous profile): Braze refused")
    assert group.count == 1
    connection.refresh_from_db()
    assert connection.paused_reason == ""  # /users/track still works with this key
    assert received(braze)[-1] == ("events", "c-1: Checkout")

    braze.set_key(REST_KEY, tuple(IDENTIFY_PERMISSIONS))  # fixed: the auditor replays the identify
    [run] = replay_runs_create(selection={"ids": [identify.pk]}, via="test", enqueue=False)
    replay_run_execute(run_id=run.pk)
    output_forward(output_id=output.pk)
    identify.refresh_from_db()
    assert (identify.status, identify.replay_count) == ("sent", 1)
    assert received(braze)[-1] == IDENTIFY
    group.refresh_from_db()
    assert group.status == "resolved"


def test_a_failed_identify_can_be_discarded_with_a_reason(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_key(REST_KEY, ("users.track",))
    login_after_alias_was_sent(connection, output)
    output_forward(output_id=output.pk)
    [identify] = identify_rows()
    [run] = replay_runs_create(
        selection={"ids": [identify.pk]},
        action="discard",
        via="test",
        reason="merged by hand",
        enqueue=False,
    )
    replay_run_execute(run_id=run.pk)
    identify.refresh_from_db()
    assert identify.status == "discarded"


def test_a_refused_alias_in_a_partial_answer_is_rejected_alone(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    for n in range(3):
        mapped(connection, anonymous_batch("Browse", mpid=MPID + n))
    output_forward(output_id=output.pk)
    for n in range(3):
        mapped(connection, known_batch(f"c-{n}", "Checkout", mpid=MPID + n))
    broken = {"external_id": "", "user_alias": alias_of(MPID + 1)}  # Braze refuses this item
    Delivery.objects.filter(kind="identify", user_key="c-1").update(body=broken)
    output_forward(output_id=output.pk)

    statuses = dict(Delivery.objects.filter(kind="identify").values_list("user_key", "status"))
    assert statuses == {"c-0": "sent", "c-1": "rejected", "c-2": "sent"}
    [request] = [r for r in braze.requests() if r["path"] == "/users/identify"]
    assert request["counts"] == {"aliases_to_identify": 3}
    rejected = Delivery.objects.get(kind="identify", user_key="c-1")
    assert rejected.last_error == "'external_id' must be a non-empty string"
    assert ("events", "c-1: Checkout") in received(braze)  # the user's objects still went


def test_51_logins_at_once_go_out_as_identifies_of_50_and_1(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    for n in range(51):
        mapped(connection, anonymous_batch("Browse", mpid=MPID + n))
    output_forward(output_id=output.pk)
    for n in range(51):
        mapped(connection, known_batch(f"c-{n}", "Checkout", mpid=MPID + n))
    output_forward(output_id=output.pk)
    identifies = [r for r in braze.requests() if r["path"] == "/users/identify"]
    sizes = [r["counts"]["aliases_to_identify"] for r in identifies]
    assert sorted(sizes) == [1, 50]  # in flight together: they may arrive in either order
    assert not Delivery.objects.exclude(status="sent").exists()
    identified = {o["body"]["external_id"] for o in braze.accepted_objects("identify")}
    assert identified == {f"c-{n}" for n in range(51)}
