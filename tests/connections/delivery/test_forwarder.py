"""The forwarder against a fake Braze: every answer Braze can give, applied to the right rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from connections import services
from connections.connectivity.models import ConnectivityCheck
from connections.connectivity.services import connectivity_check_run
from connections.delivery.forwarder import output_forward
from connections.models import BrazeOutput, Connection, Delivery, DeliveryAttempt
from connections.rules.validation import OutputDraft
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import (
    REST_KEY,
    event,
    queue_rows,
    statuses,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_linger")]


def test_it_sends_queued_rows_in_requests_of_at_most_75(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    queue_rows(output, [event(f"user-{n % 40}", song=n) for n in range(200)])
    assert output_forward(output_id=output.pk) is None
    assert statuses() == {"sent": 200}
    assert len(braze.accepted_objects()) == 200
    sizes = [sum(r["counts"].values()) for r in braze.requests()]
    assert max(sizes) <= 75
    assert sum(sizes) == 200


def test_every_attempt_is_recorded_without_the_key(output: BrazeOutput, braze: FakeBraze) -> None:
    queue_rows(output, [event("u1"), event("u2")])
    output_forward(output_id=output.pk)
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.outcome, attempt.status_code, attempt.object_count) == ("success", 201, 2)
    assert attempt.finished_at is not None
    assert attempt.deliveries.count() == 2
    assert REST_KEY not in repr(DeliveryAttempt.objects.values().get())


def test_per_object_errors_reject_exactly_the_indexed_rows_even_after_a_refused_object(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    too_big = event("u0", blob="x" * 120_000)  # refused locally: never in the array as sent
    bad_email = ("attributes", {"external_id": "u2", "email": "not-an-email"})
    rows = queue_rows(output, [too_big, event("u1"), bad_email, event("u3"), event("u4")])
    output_forward(output_id=output.pk)
    by_id = {row.pk: row for row in Delivery.objects.all()}
    assert by_id[rows[0].pk].status == "rejected"
    assert by_id[rows[0].pk].error_class == "too_large"
    assert by_id[rows[2].pk].status == "rejected"
    assert by_id[rows[2].pk].error_class == "braze_object_error"
    assert [by_id[r.pk].status for r in (rows[1], rows[3], rows[4])] == ["sent"] * 3
    assert {o["body"]["external_id"] for o in braze.accepted_objects()} == {"u1", "u3", "u4"}


def test_a_5xx_schedules_a_retry_with_backoff_and_jitter(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_faults(next_statuses=(503,))
    queue_rows(output, [event("u1")])
    before = timezone.now()
    output_forward(output_id=output.pk)
    row = Delivery.objects.get()
    assert (row.status, row.attempts, row.last_status_code) == ("queued", 1, 503)
    delay = (row.next_attempt_at - before).total_seconds()
    assert 4.0 <= delay <= 6.5


def test_rows_older_than_the_retry_window_go_to_the_dead_letters(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_faults(next_statuses=(500,))
    rows = queue_rows(output, [event("u1")])
    Delivery.objects.filter(pk=rows[0].pk).update(created_at=timezone.now() - timedelta(hours=25))
    output_forward(output_id=output.pk)
    row = Delivery.objects.get()
    assert (row.status, row.error_class) == ("dead", "http_5xx")


def test_a_429_waits_for_retry_after_without_spending_a_retry(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_faults(next_statuses=(429,), retry_after_seconds=7)
    queue_rows(output, [event("u1")])
    before = timezone.now()
    output_forward(output_id=output.pk)
    row = Delivery.objects.get()
    assert (row.status, row.attempts) == ("queued", 0)
    assert 5.5 <= (row.next_attempt_at - before).total_seconds() <= 9
    run_again_in = output_forward(output_id=output.pk)  # not due yet: nothing is sent
    assert run_again_in is not None
    assert 4 <= run_again_in <= 9  # it runs again when the row comes due
    assert len(braze.requests()) == 1


def test_a_whole_request_400_is_bisected_and_the_rest_delivered(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_faults(next_statuses=(400,))
    queue_rows(output, [event(f"u{n}") for n in range(8)])
    output_forward(output_id=output.pk)
    assert statuses() == {"sent": 8}
    assert DeliveryAttempt.objects.filter(outcome="split").count() == 1
    assert len(braze.accepted_objects()) == 8


def test_a_single_object_refused_with_400_is_rejected_not_retried(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_faults(next_statuses=(413,))
    queue_rows(output, [event("u1")])
    output_forward(output_id=output.pk)
    row = Delivery.objects.get()
    assert (row.status, row.last_status_code) == ("rejected", 413)


def test_a_401_pauses_the_connection_and_a_key_fix_resumes_with_nothing_lost(
    output: BrazeOutput, braze: FakeBraze, connection: Connection
) -> None:
    braze.remove_key(REST_KEY)
    queue_rows(output, [event("u1"), event("u2")])
    output_forward(output_id=output.pk)
    connection.refresh_from_db()
    assert connection.status == "paused"
    assert "Braze answered 401" in connection.paused_reason
    assert statuses() == {"queued": 2}
    assert output_forward(output_id=output.pk) is None  # paused: nothing is sent

    braze.set_key("fixed-rest-key-bbbb")
    services.output_save(
        connection=connection,
        draft=OutputDraft(
            platform="server",
            api_key="fixed-rest-key-bbbb",
            braze_instance=output.braze_instance,
            custom_rest_endpoint=output.custom_rest_endpoint,
        ),
        settings=output.forwarding,
        output=output,
    )
    connection.refresh_from_db()
    assert connection.status == "paused"  # until a check proves the new key works
    check = ConnectivityCheck.objects.get(output=output)  # started by the change
    connectivity_check_run(check_id=check.pk)
    connection.refresh_from_db()
    assert connection.status == "active"
    output_forward(output_id=output.pk)
    assert statuses() == {"sent": 2}


def test_a_timeout_is_retried(output: BrazeOutput, braze: FakeBraze) -> None:
    braze.set_faults(next_statuses=("reset",))
    queue_rows(output, [event("u1")])
    output_forward(output_id=output.pk)
    row = Delivery.objects.get()
    assert (row.status, row.attempts, row.error_class) == ("queued", 1, "reset")


def test_a_disabled_connection_sends_nothing(output: BrazeOutput, braze: FakeBraze) -> None:
    Connection.objects.filter(pk=output.connection_id).update(enabled=False)
    queue_rows(output, [event("u1")])
    assert output_forward(output_id=output.pk) is None
    assert braze.requests() == []


def test_a_young_partly_filled_request_waits_for_more_rows_up_to_the_linger_time(
    output: BrazeOutput, braze: FakeBraze, settings: Any
) -> None:
    settings.MPBRAZE_FORWARD_LINGER_SECONDS = 2
    queue_rows(output, [event(f"u{n}") for n in range(100)])
    run_again_in = output_forward(output_id=output.pk)
    assert statuses() == {"sent": 75, "queued": 25}
    assert run_again_in is not None
    assert 1.0 < run_again_in <= 2.0

    Delivery.objects.update(created_at=timezone.now() - timedelta(seconds=3))
    Delivery.objects.filter(status="queued").update(next_attempt_at=timezone.now())
    assert output_forward(output_id=output.pk) is None
    assert statuses() == {"sent": 100}
