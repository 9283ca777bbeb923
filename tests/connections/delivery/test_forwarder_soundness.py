"""The forwarder within its budget and lease, pauses with a way out, and poison isolation."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection as db
from django.db.models import Max
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from connections import lifecycle, services
from connections.connectivity.models import ConnectivityCheck
from connections.connectivity.services import connectivity_check_run
from connections.delivery import forwarder, recovery
from connections.delivery.forwarder import output_forward
from connections.models import BrazeOutput, Connection, Delivery, DeliveryAttempt
from connections.rules.validation import OutputDraft
from devtools.fakebraze import FakeBraze
from tests.conftest import PASSWORD
from tests.connections.delivery_helpers import (
    event,
    queue_rows,
    statuses,
)

pytestmark = pytest.mark.usefixtures("no_linger")


def save(output: BrazeOutput, **changes: Any) -> None:
    fields = {
        "platform": "server",
        "braze_instance": output.braze_instance,
        "custom_rest_endpoint": output.custom_rest_endpoint,
        "external_identity_type": output.external_identity_type,
    }
    draft = OutputDraft(**{**fields, **changes})
    services.output_save(
        connection=output.connection, draft=draft, settings=output.forwarding, output=output
    )


@pytest.mark.django_db
def test_the_budget_is_checked_before_each_request_not_only_between_claims(
    output: BrazeOutput, braze: FakeBraze, settings: Any
) -> None:
    settings.MPBRAZE_FORWARD_CONCURRENCY = 1  # one request a wave: the check runs before each
    braze.set_faults(latency_ms=1000)
    queue_rows(output, [event(f"u{n}") for n in range(600)])  # 8 requests, one claim
    # 2.5 s leave room for the claim on a busy machine and for at most 3 of the 8 requests:
    # checked only between claims, the budget would let all 8 go.
    assert output_forward(output_id=output.pk, budget_seconds=2.5) == 0.0
    sent = statuses()
    assert 1 <= len(braze.requests()) <= 3
    assert sent == {"sent": 75 * len(braze.requests()), "queued": 600 - sent["sent"]}


@pytest.mark.django_db
def test_requests_of_a_claim_are_in_flight_together_up_to_the_concurrency(
    output: BrazeOutput, braze: FakeBraze, settings: Any
) -> None:
    settings.MPBRAZE_FORWARD_CONCURRENCY = 4
    braze.set_faults(latency_ms=200)
    queue_rows(output, [event(f"u{n}") for n in range(600)])  # 8 requests, one claim
    assert output_forward(output_id=output.pk) is None
    assert statuses() == {"sent": 600}
    assert braze.peak_in_flight() == 4
    assert len(braze.requests()) == 8
    assert DeliveryAttempt.objects.filter(outcome="success").count() == 8


@pytest.mark.django_db
def test_a_users_requests_are_never_in_flight_together(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_faults(latency_ms=100)
    queue_rows(output, [event("one-user", f"E{n}") for n in range(300)])  # 4 requests
    assert output_forward(output_id=output.pk) is None
    assert braze.peak_in_flight() == 1
    names = [o["body"]["name"] for o in braze.accepted_objects()]
    assert names == [f"E{n}" for n in range(300)]


@pytest.mark.django_db
def test_a_budget_spent_mid_claim_sends_the_wave_in_flight_and_queues_the_rest(
    output: BrazeOutput, braze: FakeBraze, settings: Any
) -> None:
    settings.MPBRAZE_FORWARD_CONCURRENCY = 2
    # Long answers against a budget worth one or two waves: enough room that a loaded
    # machine's slow claim still starts the first wave before the budget is spent.
    braze.set_faults(latency_ms=800)
    queue_rows(output, [event(f"u{n}") for n in range(600)])  # 8 requests: 4 waves of 2
    assert output_forward(output_id=output.pk, budget_seconds=1.2) == 0.0
    assert len(braze.requests()) in (2, 4)
    assert statuses() == {
        "sent": 75 * len(braze.requests()),
        "queued": 600 - 75 * len(braze.requests()),
    }


@pytest.mark.django_db(transaction=True)
def test_a_claim_longer_than_its_lease_renews_it_and_keeps_its_rows(
    output: BrazeOutput, braze: FakeBraze, settings: Any
) -> None:
    """A sweeper recovering expired leases all along takes nothing from a working sender."""
    settings.MPBRAZE_OUTBOX_LEASE_SECONDS = 1
    braze.set_faults(latency_ms=400)
    queue_rows(output, [event(f"u{n}") for n in range(300)])  # 4 requests: about 1.6 s
    done = threading.Event()

    def sweep_all_along() -> None:
        while not done.is_set():
            recovery.outbox_recover_expired_leases()
            done.wait(0.05)
        db.close()

    sweeper = threading.Thread(target=sweep_all_along)
    sweeper.start()
    try:
        output_forward(output_id=output.pk)
    finally:
        done.set()
        sweeper.join()
    assert statuses() == {"sent": 300}
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    assert len(braze.accepted_objects()) == 300


@pytest.mark.django_db
def test_an_undecryptable_key_pauses_the_connection_with_the_reason(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    queue_rows(output, [event("u1")])
    BrazeOutput.objects.filter(pk=output.pk).update(api_key_encrypted="gAAAA-not-ours")
    assert output_forward(output_id=output.pk) is None
    reason = Connection.objects.get().paused_reason
    assert "cannot be decrypted" in reason
    assert "MPBRAZE_ENCRYPTION_KEYS" in reason
    assert (statuses(), braze.requests()) == ({"queued": 1}, [])


@pytest.mark.django_db
def test_a_pause_over_the_endpoint_is_lifted_when_the_endpoint_changes(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    wrong = output.custom_rest_endpoint.replace("127.0.0.1", "localhost")
    save(output, custom_rest_endpoint=wrong)
    lifecycle.connection_pause(
        connection=output.connection, reason="404: check the REST endpoint", refused_output=output
    )
    save(output, external_identity_type="email")  # not what Braze refused: still paused
    assert Connection.objects.get().paused_reason
    assert not ConnectivityCheck.objects.exists()
    save(output, custom_rest_endpoint=braze.url.split("//")[1])
    assert Connection.objects.get().paused_reason  # until the check it started passes
    connectivity_check_run(check_id=ConnectivityCheck.objects.get().pk)
    assert Connection.objects.get().paused_reason == ""


@pytest.mark.django_db
def test_a_changed_key_that_braze_still_refuses_leaves_the_pause_and_says_why(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    lifecycle.connection_pause(
        connection=output.connection, reason="Braze answered 401", refused_output=output
    )
    save(output, api_key="still-wrong-key-0001")
    check = ConnectivityCheck.objects.get()
    connectivity_check_run(check_id=check.pk)
    check.refresh_from_db()
    assert check.summary.startswith("API key rejected by Braze (401)")
    assert Connection.objects.get().paused_reason == "Braze answered 401"


@pytest.mark.django_db
def test_a_marketer_resumes_a_paused_connection_after_confirming(
    client: Client, marketer: User, output: BrazeOutput
) -> None:
    lifecycle.connection_pause(connection=output.connection, reason="Braze answered 403")
    client.login(username=marketer.username, password=PASSWORD)
    url = reverse("connection_resume", args=[output.connection_id])

    page = client.get(reverse("connection_detail", args=[output.connection_id]))
    assert url.encode() in page.content
    confirm = client.get(url)
    assert b"Braze answered 403" in confirm.content
    assert Connection.objects.get().paused_reason  # a GET changes nothing
    assert client.post(url).status_code == 302
    assert Connection.objects.get().paused_reason == ""


@pytest.mark.django_db
def test_an_auditor_cannot_resume(client: Client, auditor: User, output: BrazeOutput) -> None:
    lifecycle.connection_pause(connection=output.connection, reason="Braze answered 403")
    client.login(username=auditor.username, password=PASSWORD)
    response = client.post(reverse("connection_resume", args=[output.connection_id]))
    assert response.status_code == 403
    assert Connection.objects.get().paused_reason


@pytest.mark.django_db
def test_rows_that_fail_while_others_succeed_travel_in_smaller_requests_next_time(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_faults(next_statuses=(201, 500))  # the first request passes, the second fails
    queue_rows(output, [event(f"u{n}") for n in range(150)])
    output_forward(output_id=output.pk)
    failed = Delivery.objects.filter(status="queued")
    assert failed.count() == 75
    assert set(failed.values_list("split_depth", flat=True)) == {1}

    failed.update(next_attempt_at=Delivery.objects.get(pk=failed[0].pk).created_at)
    output_forward(output_id=output.pk)
    sizes = [sum(r["counts"].values()) for r in braze.requests()[2:]]
    assert sorted(sizes) == [1, 37, 37]  # 75 >> 1 per request, events whole (sent together)
    assert statuses() == {"sent": 150}


@pytest.mark.django_db
def test_during_an_outage_failed_requests_stay_full_size(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_faults(next_statuses=(500, 500))
    queue_rows(output, [event(f"u{n}") for n in range(150)])
    output_forward(output_id=output.pk)
    assert set(Delivery.objects.values_list("split_depth", flat=True)) == {0}
    assert DeliveryAttempt.objects.filter(outcome="retry").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_request_failing_alone_in_its_claim_is_halved_when_another_worker_got_through(
    output: BrazeOutput, braze: FakeBraze, settings: Any
) -> None:
    """Two workers, a claim of one request each: the first worker's request is accepted,
    the second's fails while the first is answered. The failure is the second's own rows'
    (Braze took the first meanwhile), though nothing else of its own claim got through."""
    settings.MPBRAZE_OUTBOX_CLAIM_SIZE = 75
    settings.MPBRAZE_FORWARD_LANES = 1  # the second claim is the second worker's, not a lane's
    settings.MPBRAZE_RETRY_BACKOFF_SECONDS = [60]  # a slow machine never sees the retry due
    braze.set_faults(latency_ms=600, next_statuses=(201, 500))
    queue_rows(output, [event(f"u{n}") for n in range(150)])

    def first_worker() -> None:
        output_forward(output_id=output.pk)
        db.close()

    first = threading.Thread(target=first_worker)
    first.start()
    try:
        deadline = time.monotonic() + 10
        while braze.peak_in_flight() < 1 and time.monotonic() < deadline:
            time.sleep(0.01)  # the first worker's request is at Braze
        output_forward(output_id=output.pk)  # claims the other 75 while the first is in flight
    finally:
        first.join()
    assert [r["status"] for r in braze.requests()] == [201, 500]
    failed = Delivery.objects.filter(status="queued")
    assert failed.count() == 75
    assert set(failed.values_list("split_depth", flat=True)) == {1}


@pytest.mark.django_db
def test_forwarding_a_claim_costs_a_few_statements_per_request_not_one_per_row(
    output: BrazeOutput, braze: FakeBraze, django_assert_max_num_queries: Any
) -> None:
    queue_rows(output, [event(f"u{n}") for n in range(600)])  # 8 requests, one claim
    # About 2 statements per request and its savepoint pair here (a commit in production),
    # plus the claim's; one statement per row would be 600 and more.
    with django_assert_max_num_queries(60):
        assert output_forward(output_id=output.pk) is None
    assert statuses() == {"sent": 600}


@pytest.mark.django_db
def test_answers_arriving_together_are_applied_in_one_transaction(
    output: BrazeOutput, braze: FakeBraze, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wave's requests leave together and are answered within moments of each other: one
    statement marks all their rows sent (one commit in production), not one per answer."""
    settings.MPBRAZE_FORWARD_CONCURRENCY = 8
    # Wide enough for the answers' spread on a loaded machine; the default is 20 ms.
    monkeypatch.setattr(forwarder, "GATHER_ANSWERS_SECONDS", 5.0)
    braze.set_faults(latency_ms=200)
    queue_rows(output, [event(f"u{n}") for n in range(600)])  # 8 requests: one wave
    with CaptureQueriesContext(db) as queries:
        assert forwarder.output_forward(output_id=output.pk) is None
    assert statuses() == {"sent": 600}
    assert len(braze.requests()) == 8
    marks = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "connections_delivery"')]
    assert len([sql for sql in marks if '"sent_at"' in sql]) == 1


@pytest.mark.django_db
def test_a_claim_taken_ahead_goes_back_to_the_queue_untouched_when_a_429_stops_the_run(
    output: BrazeOutput, braze: FakeBraze, settings: Any
) -> None:
    settings.MPBRAZE_OUTBOX_CLAIM_SIZE = 149  # a user a row: claims of 149 rows
    braze.set_faults(latency_ms=200, next_statuses=(429,), retry_after_seconds=30)
    queue_rows(output, [event(f"u{n}") for n in range(600)])
    queued_at = Delivery.objects.aggregate(at=Max("next_attempt_at"))["at"]
    output_forward(output_id=output.pk)
    assert [r["status"] for r in braze.requests()] == [429]  # the claim's one full request
    assert not Delivery.objects.filter(status="sending").exists()
    assert set(Delivery.objects.values_list("status", "attempts")) == {("queued", 0)}
    # Released rows are due again from their release. The first claim (149 rows: the 429's 75
    # and a partly filled tail of 74 put back at once) and the claim taken ahead while the
    # request was in flight (149: that tail and 75 more); the other rows were never claimed.
    assert Delivery.objects.filter(next_attempt_at__gt=queued_at).count() == 149 + 75


def arrivals(braze: FakeBraze) -> dict[str, list[str]]:
    """Each user's event names, in the order the fake Braze accepted them."""
    arrived: dict[str, list[str]] = {}
    for accepted in braze.accepted_objects():
        arrived.setdefault(accepted["body"]["external_id"], []).append(accepted["body"]["name"])
    return arrived


def forward_until_done(output: BrazeOutput, seconds: float = 30) -> None:
    """Forward until nothing is left, running again when asked, as the scheduled run would."""
    deadline = time.monotonic() + seconds
    while (again := output_forward(output_id=output.pk)) is not None:
        assert time.monotonic() < deadline
        time.sleep(again)


def queue_hot_backlog(output: BrazeOutput, users: int, batches: int) -> list[str]:
    """The same users in every batch, an event each; returns the names each user expects."""
    for number in range(batches):
        queue_rows(output, [event(f"u{user}", f"E{number}") for user in range(users)])
    return [f"E{number}" for number in range(batches)]


@pytest.mark.django_db
def test_a_backlog_of_the_same_users_goes_out_in_one_run_with_no_order_hold(
    output: BrazeOutput, braze: FakeBraze, settings: Any
) -> None:
    """Claims of one request, each taken while the one before is in flight with the same
    users: they follow it in the lane, so nothing is held back for order, and the run ends
    with every object sent in order (it used to hold each claim taken ahead for a second)."""
    settings.MPBRAZE_FORWARD_LANES = 1
    settings.MPBRAZE_OUTBOX_CLAIM_SIZE = 75
    braze.set_faults(latency_ms=30)
    expected = queue_hot_backlog(output, users=15, batches=10)  # 150 rows: two claims

    assert output_forward(output_id=output.pk) is None  # nothing held, nothing left

    assert statuses() == {"sent": 150}
    assert arrivals(braze) == {f"u{user}": expected for user in range(15)}


@pytest.mark.django_db
def test_a_claim_taken_ahead_waits_for_the_retry_of_the_claim_before_it(
    output: BrazeOutput, braze: FakeBraze, settings: Any
) -> None:
    """The first claim's request fails (500) after the next claim, with later events of the
    same users, was taken: those go back to the queue behind the retry, and every user's
    events reach Braze in order."""
    settings.MPBRAZE_FORWARD_LANES = 1
    settings.MPBRAZE_OUTBOX_CLAIM_SIZE = 75
    settings.MPBRAZE_RETRY_BACKOFF_SECONDS = [0.3]
    braze.set_faults(latency_ms=30, next_statuses=(500,))
    expected = queue_hot_backlog(output, users=15, batches=10)

    forward_until_done(output)

    assert [r["status"] for r in braze.requests()][:2] == [500, 201]  # the retry goes first
    assert statuses() == {"sent": 150}
    assert arrivals(braze) == {f"u{user}": expected for user in range(15)}


@pytest.mark.django_db
def test_a_users_later_request_in_the_claim_waits_when_their_earlier_one_failed(
    output: BrazeOutput, braze: FakeBraze, settings: Any
) -> None:
    """Ann's 80 events fill the claim's first request and start its second, sent after it
    (two waves). The first fails (500): the second goes back to the queue instead of
    overtaking it, and follows its retry."""
    settings.MPBRAZE_RETRY_BACKOFF_SECONDS = [0.3]
    braze.set_faults(next_statuses=(500,))
    expected = [f"E{n}" for n in range(80)]
    queue_rows(output, [event("ann", name) for name in expected])

    forward_until_done(output)

    assert next(r["status"] for r in braze.requests()) == 500
    assert statuses() == {"sent": 80}
    assert arrivals(braze) == {"ann": expected}
