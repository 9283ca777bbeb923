"""Retry now: objects waiting in backoff are made due at once, by a person (page or API) or
by a passing test that resumes a paused connection, and the connection's history says who
and when."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from connections import lifecycle, services
from connections.connectivity.services import connectivity_check_run, output_test_connectivity
from connections.delivery.models import ForwardSchedule
from connections.delivery.retry import connection_retry_now
from connections.models import BrazeOutput, Connection, Delivery
from tests.connections.api_helpers import ApiClient
from tests.connections.delivery_helpers import event, queue_rows

pytestmark = pytest.mark.django_db


def in_backoff(output: BrazeOutput, count: int, minutes: float = 10) -> list[Delivery]:
    rows = queue_rows(output, [event(f"u{n}") for n in range(count)])
    later = timezone.now() + timedelta(minutes=minutes)
    Delivery.objects.filter(pk__in=[r.pk for r in rows]).update(attempts=2, next_attempt_at=later)
    return rows


def due_now(output: BrazeOutput) -> int:
    return Delivery.objects.filter(
        output=output, status="queued", next_attempt_at__lte=timezone.now()
    ).count()


def test_retry_now_makes_every_waiting_object_due_and_records_who_and_when(
    output: BrazeOutput, marketer: User
) -> None:
    in_backoff(output, 6)
    queue_rows(output, [event("sent-one")])  # due already: untouched, not counted
    Delivery.objects.filter(user_key="sent-one").update(status="sent")
    other, _secret = services.connection_create(name="Other app")

    done = connection_retry_now(connection=output.connection, user=marketer)

    assert (done.objects, done.by) == (6, "marketer")
    assert due_now(output) == 6
    row = output.connection.history.first()
    assert row.history_change_reason == "Retry now: 6 waiting objects"
    assert row.history_user == marketer
    assert row.history_date == pytest.approx(done.at, abs=timedelta(seconds=5))
    assert ForwardSchedule.objects.get(output=output).due_at is not None  # forwarding starts
    assert not other.history.filter(history_change_reason__startswith="Retry now").exists()


def test_the_connection_page_offers_retry_now_and_shows_the_last_one(
    client: Client, output: BrazeOutput, marketer: User
) -> None:
    in_backoff(output, 3)
    client.force_login(marketer)
    url = f"/connections/{output.connection_id}/"
    page = client.get(url).content.decode()
    assert "3 objects wait for a later attempt." in page
    assert f'action="/connections/{output.connection_id}/retry-now/"' in page

    answer = client.post(f"{url}retry-now/", follow=True)

    page = answer.content.decode()
    assert "Retry now: 3 waiting objects will be sent at once." in page
    assert "Last Retry now: 3 waiting objects, by marketer" in page
    assert 'id="retry-now-button"' not in page  # nothing waits any more
    assert due_now(output) == 3


def test_the_button_needs_a_post_with_its_csrf_token(output: BrazeOutput, marketer: User) -> None:
    in_backoff(output, 2)
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    url = f"/connections/{output.connection_id}/retry-now/"
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403
    assert due_now(output) == 0


@pytest.mark.parametrize(("persona", "status"), [("marketer", 302), ("ops", 302), ("auditor", 403)])
def test_marketers_and_ops_may_retry_now_auditors_may_not(
    client: Client, output: BrazeOutput, persona: str, status: int, request: pytest.FixtureRequest
) -> None:
    in_backoff(output, 2)
    client.force_login(request.getfixturevalue(persona))
    answer = client.post(f"/connections/{output.connection_id}/retry-now/")
    assert answer.status_code == status
    assert due_now(output) == (2 if status == 302 else 0)


def test_an_unknown_connection_is_a_404(client: Client, marketer: User) -> None:
    client.force_login(marketer)
    assert client.post("/connections/999999/retry-now/").status_code == 404


def test_the_api_retries_now_for_ops_and_refuses_an_auditor(
    output: BrazeOutput, ops: User, auditor: User, api_as: Callable[..., ApiClient]
) -> None:
    in_backoff(output, 4)
    refused = api_as(auditor, "read,write").post(f"connections/{output.connection_id}/retry-now")
    assert refused.status_code == 403
    assert due_now(output) == 0

    answer = api_as(ops, "read,write").post(f"connections/{output.connection_id}/retry-now")

    assert answer.status_code == 200, answer.content
    assert answer.json()["objects"] == 4
    assert answer.json()["by"] == "ops"
    assert due_now(output) == 4
    assert output.connection.history.first().history_user == ops
    missing = api_as(ops, "read,write").post("connections/999999/retry-now")
    assert missing.status_code == 404


def test_a_passing_test_that_resumes_a_paused_connection_retries_now_by_itself(
    connection: Connection, output: BrazeOutput, marketer: User
) -> None:
    in_backoff(output, 5, minutes=30)
    lifecycle.connection_pause(connection=connection, reason="Braze answered 401")
    check = output_test_connectivity(output=output, started_by=marketer)
    connectivity_check_run(check_id=check.pk)

    connection.refresh_from_db()
    assert connection.paused_reason == ""
    assert due_now(output) == 5
    row = connection.history.filter(history_change_reason__startswith="Retry now").get()
    assert row.history_change_reason == "Retry now after a passing test: 5 waiting objects"
    assert row.history_user == marketer


def test_a_passing_test_of_a_connection_that_was_not_paused_leaves_the_schedule_alone(
    connection: Connection, output: BrazeOutput
) -> None:
    in_backoff(output, 2)
    connectivity_check_run(check_id=output_test_connectivity(output=output).pk)
    assert due_now(output) == 0
