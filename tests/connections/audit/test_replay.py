"""Failure groups, replay and discard against a fake Braze, with the forwarder in process."""

from __future__ import annotations

from typing import Any

import pytest

from connections.audit import selectors, services
from connections.audit.models import FailureGroup, ReplayRun
from connections.delivery.forwarder import output_forward
from connections.models import BrazeOutput, Connection, Delivery
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import event, queue_rows, queue_user_row

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_linger")]


def bad_email(user: str) -> tuple[str, dict[str, Any]]:
    return ("attributes", {"external_id": user, "email": "not-an-email"})


def attributes(user: str, **values: Any) -> tuple[str, dict[str, Any]]:
    return ("attributes", {"external_id": user, **values})


@pytest.fixture
def one_try(settings: Any) -> None:
    settings.MPBRAZE_RETRY_MAX_ATTEMPTS = 1  # the first 5xx is final


def forward(output: BrazeOutput) -> None:
    output_forward(output_id=output.pk)


def replay(connection: Connection, **options: Any) -> ReplayRun:
    selection = options.pop("selection", {"filter": {"connection": str(connection.pk)}})
    (run,) = services.replay_runs_create(selection=selection, via="test", **options)
    done = services.replay_run_execute(run_id=run.pk)
    assert done is not None
    return done


def test_failures_are_grouped_by_connection_and_kind_with_counts_and_a_sample(
    output: BrazeOutput, braze: FakeBraze, one_try: None
) -> None:
    queue_rows(output, [bad_email("u1"), event("u2"), bad_email("u3")])
    forward(output)
    braze.set_faults(next_statuses=(503,))
    queue_rows(output, [event("u4", name="Checkout"), event("u5")])
    forward(output)
    braze.set_faults(next_statuses=(400,))
    queue_rows(output, [event("u6", name="Refund")])
    forward(output)

    groups = {g.kind + " " + g.status_class: g for g in FailureGroup.objects.all()}
    assert set(groups) == {"rejected 201", "dead 5xx", "rejected 400"}
    assert groups["rejected 201"].count == 2
    assert "not a valid email" in groups["rejected 201"].braze_error  # Braze's error type
    assert groups["dead 5xx"].count == 2
    assert groups["dead 5xx"].title == "Retries exhausted: HTTP 5xx"
    assert groups["rejected 400"].count == 1
    assert groups["rejected 400"].sample_user == "u6"
    assert all(g.status == "open" for g in groups.values())
    failed = Delivery.objects.filter(failed_at__isnull=False)
    assert failed.count() == 5
    assert set(failed.values_list("failure_group__count", flat=True)) == {2, 1}


def test_replay_after_the_cause_is_fixed_delivers_each_row_once_and_twice_sends_nothing(
    output: BrazeOutput, braze: FakeBraze, connection: Connection, one_try: None
) -> None:
    braze.set_faults(next_statuses=(500,))
    queue_rows(output, [event(f"u{n}", n=n) for n in range(5)])
    forward(output)
    assert Delivery.objects.filter(status="dead").count() == 5
    before = len(braze.accepted_objects())

    first = replay(connection)
    assert (first.matched, first.acted, first.status) == (5, 5, "done")
    assert FailureGroup.objects.get().status == "resolved"
    forward(output)
    sent = [o["body"]["properties"]["n"] for o in braze.accepted_objects()[before:]]
    assert sorted(sent) == [0, 1, 2, 3, 4]

    second = replay(
        connection, selection={"filter": {"connection": str(connection.pk), "state": "all"}}
    )
    assert (second.matched, second.acted, second.skipped_accepted) == (5, 0, 5)
    forward(output)
    assert len(braze.accepted_objects()) == before + 5

    forced = replay(connection, force=True, selection={"filter": {"state": "all"}})
    assert forced.acted == 5
    forward(output)
    assert len(braze.accepted_objects()) == before + 10
    assert set(Delivery.objects.values_list("replay_count", flat=True)) == {2}


def test_a_replayed_row_that_fails_again_reopens_its_group(
    output: BrazeOutput, braze: FakeBraze, connection: Connection, one_try: None
) -> None:
    braze.set_faults(next_statuses=(500, 500))
    queue_rows(output, [event("u1")])
    forward(output)
    replay(connection)
    assert FailureGroup.objects.get().status == "resolved"
    forward(output)
    group = FailureGroup.objects.get()
    assert (group.status, group.count) == ("reopened", 2)
    assert Delivery.objects.get().status == "dead"


def test_an_older_attributes_object_never_overwrites_newer_accepted_values(
    output: BrazeOutput, braze: FakeBraze, connection: Connection, one_try: None
) -> None:
    braze.set_faults(next_statuses=(500,))
    queue_rows(
        output, [attributes("u1", first_name="Old", city="Lyon"), attributes("u2", city="Oslo")]
    )
    forward(output)
    queue_rows(output, [attributes("u1", first_name="New"), attributes("u2", city="Rome")])
    forward(output)
    before = len(braze.accepted_objects())

    run = replay(connection)
    forward(output)
    resent = [o["body"] for o in braze.accepted_objects()[before:]]
    assert resent == [{"external_id": "u1", "city": "Lyon"}]  # first_name stays "New"
    assert (run.acted, run.skipped_superseded) == (1, 1)
    assert "newer values already accepted" in run.outcome


def test_newer_attributes_inside_a_row_of_several_objects_count_too(
    output: BrazeOutput, braze: FakeBraze, connection: Connection, one_try: None
) -> None:
    braze.set_faults(next_statuses=(500,))
    queue_rows(output, [attributes("u1", first_name="Old", city="Lyon")])
    forward(output)
    # Accepted later: the user's event, then new attributes, in one row of two objects.
    queue_user_row(output, [event("u1"), attributes("u1", first_name="New")])
    forward(output)
    before = len(braze.accepted_objects())

    replay(connection)
    forward(output)
    resent = [o["body"] for o in braze.accepted_objects()[before:]]
    assert resent == [{"external_id": "u1", "city": "Lyon"}]  # first_name stays "New"


def test_a_users_rows_are_replayed_in_their_original_order(
    output: BrazeOutput,
    braze: FakeBraze,
    connection: Connection,
    one_try: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    braze.set_faults(next_statuses=(500, 500, 500))
    for n in range(3):
        queue_rows(output, [event("u1", step=n)])
        forward(output)
    monkeypatch.setattr(services, "CHUNK", 1)  # each row in a chunk of its own
    newest_first = list(Delivery.objects.order_by("-pk").values_list("pk", flat=True))
    before = len(braze.accepted_objects())
    assert replay(connection, selection={"ids": newest_first}).acted == 3
    forward(output)
    steps = [o["body"]["properties"]["step"] for o in braze.accepted_objects()[before:]]
    assert steps == [0, 1, 2]


def test_discard_closes_rows_without_sending_and_is_recorded(
    output: BrazeOutput, braze: FakeBraze, connection: Connection, ops: Any, one_try: None
) -> None:
    braze.set_faults(next_statuses=(500,))
    queue_rows(output, [event("u1"), event("u2")])
    forward(output)
    requests = len(braze.requests())
    with pytest.raises(selectors.SelectionError, match="reason"):
        services.replay_runs_create(
            selection={"filter": {}}, action="discard", via="test", reason=" "
        )
    (run,) = services.replay_runs_create(
        selection={"filter": {}}, action="discard", via="test", user=ops, reason="test data"
    )
    executed = services.replay_run_execute(run_id=run.pk)
    assert executed is not None
    run = executed
    assert (run.action, run.acted, run.reason, run.requested_by) == ("discard", 2, "test data", ops)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"discarded"}
    assert FailureGroup.objects.get().status == "resolved"
    forward(output)
    assert len(braze.requests()) == requests
    assert replay(connection, selection={"filter": {"state": "discarded"}}).acted == 2


def test_replay_of_a_paused_connection_is_refused_with_the_reason(
    output: BrazeOutput, braze: FakeBraze, connection: Connection, one_try: None
) -> None:
    braze.set_faults(next_statuses=(500,))
    queue_rows(output, [event("u1")])
    forward(output)
    Connection.objects.filter(pk=connection.pk).update(paused_reason="Braze answered 401")
    plan = selectors.replay_plan(selectors.failed_sends({}))
    assert plan.paused == {connection.name: selectors.connection_refusal(Connection.objects.get())}
    run = replay(connection)
    assert run.status == "refused"
    assert "paused (Braze answered 401)" in run.outcome
    assert Delivery.objects.get().status == "dead"


def test_a_filter_that_matches_nothing_says_so_and_a_bad_value_names_its_field(
    output: BrazeOutput,
) -> None:
    plan = selectors.replay_plan(selectors.failed_sends({"q": "nobody"}))
    assert plan.summary() == "No failed send matches this filter."
    for field, value in [("connection", "x"), ("failed_since", "yesterday"), ("state", "gone")]:
        with pytest.raises(selectors.SelectionError) as error:
            list(selectors.failed_sends({field: value}))
        assert error.value.field == field


def test_the_replay_command_prints_the_counts_and_replays_the_rows(
    output: BrazeOutput, braze: FakeBraze, connection: Connection, one_try: None
) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    braze.set_faults(next_statuses=(500,))
    queue_rows(output, [event("u1"), event("u2")])
    forward(output)
    printed = StringIO()
    call_command("replay", connection=connection.pk, status="dead", dry_run=True, stdout=printed)
    assert printed.getvalue().startswith("2 rows, 2 users; 0 already accepted by Braze")
    assert Delivery.objects.filter(status="dead").count() == 2
    printed = StringIO()
    call_command("replay", connection=connection.pk, since="1h", stdout=printed)
    assert "Queued again 2 of 2 rows." in printed.getvalue()
    assert ReplayRun.objects.get().requested_via == "command"
    forward(output)
    assert Delivery.objects.filter(status="sent").count() == 2
    printed = StringIO()
    call_command("replay", connection=connection.pk, stdout=printed)
    assert printed.getvalue().strip() == "No failed send matches this filter."
    with pytest.raises(CommandError, match="--since: expected a date"):
        call_command("replay", connection=connection.pk, since="last week")
    with pytest.raises(CommandError, match="No connection with id 999"):
        call_command("replay", connection=999)


def test_a_run_whose_worker_died_is_resumed_and_finishes_what_was_left(
    output: BrazeOutput, braze: FakeBraze, connection: Connection, one_try: None
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    braze.set_faults(next_statuses=(500,))
    queue_rows(output, [event("u1"), event("u2")])
    forward(output)
    (run,) = services.replay_runs_create(selection={"filter": {}}, via="test", enqueue=False)
    long_ago = timezone.now() - timedelta(hours=1)
    ReplayRun.objects.filter(pk=run.pk).update(status="running", started_at=long_ago)
    fresh = services.replay_runs_create(selection={"filter": {}}, via="test", enqueue=False)[0]
    done, left = (services.replay_run_execute(run_id=r.pk) for r in (fresh, run))
    assert done is not None
    assert left is not None
    assert (done.acted, left.status) == (2, "running")

    services.replay_runs_resume(now=timezone.now() + timedelta(minutes=2))
    assert ReplayRun.objects.get(pk=run.pk).status == "pending"
    done = services.replay_run_execute(run_id=run.pk)
    assert done is not None
    assert (done.status, done.matched, done.acted) == ("done", 0, 0)  # nothing left open


def test_the_platform_filter_reads_the_source_batchs_device_platform(
    output: BrazeOutput, braze: FakeBraze, one_try: None
) -> None:
    from connections.models import InboundBatch

    braze.set_faults(next_statuses=(500, 500))
    ios = queue_rows(output, [event("on-ios")])[0]
    queue_rows(output, [event("from-server")])
    forward(output)
    InboundBatch.objects.filter(pk=ios.batch_id).update(
        payload={"device_info": {"platform": "iOS"}, "events": []}
    )

    def users(platform: str) -> set[str]:
        return set(
            selectors.failed_sends({"platform": platform}).values_list("user_key", flat=True)
        )

    assert users("ios") == {"on-ios"}
    assert users("server") == {"from-server"}
    assert users("android") == set()
