"""The status a connection shows is derived from its data: one test per state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from connections import services
from connections.connectivity.health import Health, connections_health
from connections.connectivity.models import ConnectivityCheck
from connections.models import BrazeOutput, Connection, Delivery, DeliveryAttempt
from tests.conftest import add_output
from tests.connections.delivery_helpers import event, queue_rows

pytestmark = pytest.mark.django_db


def health(connection: Connection) -> Health:
    connection.refresh_from_db()
    return connections_health([connection])[connection.pk]


def checked(output: BrazeOutput, outcome: str, summary: str = "") -> None:
    ConnectivityCheck.objects.create(
        connection_id=output.connection_id, output=output, outcome=outcome, summary=summary
    )


def attempts(output: BrazeOutput, outcome: str, count: int) -> None:
    for _ in range(count):
        DeliveryAttempt.objects.create(
            connection_id=output.connection_id,
            output=output,
            started_at=timezone.now(),
            object_count=1,
            outcome=outcome,
        )


def test_a_connection_without_outputs_is_incomplete_and_says_what_is_missing(
    connection: Connection,
) -> None:
    assert health(connection) == Health(
        "incomplete",
        "Incomplete",
        "Add an app output (iOS, Android or Web): a connection needs one.",
    )
    add_output(connection, "ios", "ios-key-0001")
    assert health(connection).detail == "Add a Server output: it is what forwards data to Braze."


def test_a_complete_connection_never_tested_is_untested(output: BrazeOutput) -> None:
    assert health(output.connection).kind == "untested"


def test_a_passed_test_and_accepted_sends_are_healthy(output: BrazeOutput) -> None:
    checked(output, "passed")
    attempts(output, "success", 3)
    attempts(output, "rejected", 1)
    assert health(output.connection) == Health("healthy", "Healthy", "")


def test_a_failed_last_test_is_failing_with_its_sentence(output: BrazeOutput) -> None:
    checked(output, "passed")
    checked(output, "failed", "API key rejected by Braze (401): the key is wrong")
    assert health(output.connection) == Health(
        "failing", "Failing", "Last test failed: API key rejected by Braze (401): the key is wrong"
    )


def test_rejections_dominating_the_last_hour_are_failing(output: BrazeOutput) -> None:
    checked(output, "passed")
    attempts(output, "success", 1)
    attempts(output, "rejected", 2)
    assert health(output.connection).detail == "Braze refused most requests of the last hour."


def test_rows_in_backoff_are_retrying_with_their_count_and_next_time(output: BrazeOutput) -> None:
    checked(output, "passed")
    rows = queue_rows(output, [event("u1"), event("u2")])
    at = timezone.now() + timedelta(minutes=5)
    Delivery.objects.filter(pk__in=[r.pk for r in rows]).update(attempts=1, next_attempt_at=at)
    found = health(output.connection)
    assert found.kind == "retrying"
    assert found.detail == f"2 rows wait for a retry; next at {timezone.localtime(at):%H:%M:%S}."


def test_a_paused_connection_says_why_since_when_and_what_to_do(output: BrazeOutput) -> None:
    checked(output, "passed")
    services.connection_pause(connection=output.connection, reason="Braze answered 401.")
    found = health(output.connection)
    assert found.kind == "paused"
    assert found.detail.startswith("Since ")
    assert found.detail.endswith("Braze answered 401. Test the connection after fixing it.")


def test_a_disabled_connection_is_disabled_whatever_else(output: BrazeOutput) -> None:
    checked(output, "failed", "x")
    Connection.objects.filter(pk=output.connection_id).update(enabled=False)
    assert health(output.connection).kind == "disabled"


def test_the_pages_show_the_derived_status(
    client: Client, marketer: Any, output: BrazeOutput
) -> None:
    client.force_login(marketer)
    checked(output, "failed", "nothing answers /users/track")
    page = client.get(f"/connections/{output.connection_id}/").content.decode()
    assert '<span class="badge badge-failing" id="health">Failing</span>' in page
    assert "Last test failed: nothing answers /users/track" in page
    assert "badge-failing" in client.get("/").content.decode()


def test_the_dashboard_reads_every_status_in_a_fixed_number_of_queries(
    client: Client, marketer: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(5):
        connection, _secret = services.connection_create(name=f"App {n}")
        add_output(connection, "ios", f"ios-key-000{n}")
        add_output(connection, "server", f"rest-key-000{n}")
    client.force_login(marketer)
    with django_assert_max_num_queries(20):
        assert client.get("/").status_code == 200
