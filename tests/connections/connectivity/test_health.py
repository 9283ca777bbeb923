"""The status a connection shows is derived from its data: one test per state."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from connections import lifecycle, services
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


def attempts(
    output: BrazeOutput,
    outcome: str,
    count: int,
    *,
    at: datetime | None = None,
    status_code: int | None = None,
    message: str = "",
) -> None:
    for _ in range(count):
        DeliveryAttempt.objects.create(
            connection_id=output.connection_id,
            output=output,
            started_at=at or timezone.now(),
            finished_at=at or timezone.now(),
            object_count=1,
            outcome=outcome,
            status_code=status_code,
            braze_message=message,
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
    found = health(output.connection)
    assert (found.kind, found.label, found.detail, found.link) == ("healthy", "Healthy", "", "")
    assert found.since == ConnectivityCheck.objects.get().started_at


def test_a_failed_last_test_is_failing_with_its_sentence(output: BrazeOutput) -> None:
    checked(output, "passed")
    checked(output, "failed", "API key rejected by Braze (401): the key is wrong")
    found = health(output.connection)
    assert found == Health(
        "failing",
        "Failing",
        "Last test failed: API key rejected by Braze (401): the key is wrong",
        since=ConnectivityCheck.objects.get(outcome="failed").started_at,
    )


def test_rejections_dominating_the_last_hour_are_failing(output: BrazeOutput) -> None:
    checked(output, "passed")
    attempts(output, "success", 1)
    attempts(output, "rejected", 2)
    assert health(output.connection).detail == "Braze refused most requests of the last hour."


def test_objects_in_backoff_are_retrying_naming_the_last_answer_and_the_next_retry(
    output: BrazeOutput,
) -> None:
    checked(output, "passed")
    rows = queue_rows(output, [event("u1"), event("u2")])
    at = timezone.now() + timedelta(minutes=5)
    Delivery.objects.filter(pk__in=[r.pk for r in rows]).update(attempts=1, next_attempt_at=at)
    answered = timezone.now() - timedelta(minutes=1)
    attempts(output, "success", 1, at=answered - timedelta(minutes=5))
    attempts(output, "retry", 1, at=answered - timedelta(seconds=30), status_code=503)
    attempts(output, "retry", 1, at=answered, status_code=500)
    found = health(output.connection)
    assert found.kind == "retrying"
    assert found.detail == (
        f"2 objects wait for a retry. Braze answered HTTP 500 at "
        f"{timezone.localtime(answered):%H:%M}; next retry at {timezone.localtime(at):%H:%M:%S}."
    )
    assert found.since == answered - timedelta(seconds=30)  # the first refusal since a success
    assert "row" not in found.detail


def test_a_timeout_in_backoff_says_braze_did_not_answer(output: BrazeOutput) -> None:
    checked(output, "passed")
    rows = queue_rows(output, [event("u1")])
    Delivery.objects.filter(pk=rows[0].pk).update(attempts=1, next_attempt_at=timezone.now())
    answered = timezone.now()
    attempts(output, "retry", 1, at=answered, message="timed out after 10 s")
    assert health(output.connection).detail == (
        f"1 object waits for a retry. Braze did not answer at "
        f"{timezone.localtime(answered):%H:%M} (timed out after 10 s); retrying now."
    )


def failed_rows(output: BrazeOutput, status: str, count: int, minutes_ago: float) -> None:
    rows = queue_rows(output, [event(f"{status}{n}-{minutes_ago}") for n in range(count)])
    failed_at = timezone.now() - timedelta(minutes=minutes_ago)
    ids = [r.pk for r in rows]
    Delivery.objects.filter(pk__in=ids).update(status=status, failed_at=failed_at, attempts=1)


def test_objects_rejected_or_dead_in_the_last_hour_make_it_degraded_with_a_link(
    output: BrazeOutput,
) -> None:
    checked(output, "passed")
    attempts(output, "success", 5)
    failed_rows(output, "rejected", 6, minutes_ago=10)
    failed_rows(output, "dead", 2, minutes_ago=30)
    failed_rows(output, "rejected", 4, minutes_ago=90)  # older than the hour: not counted
    found = health(output.connection)
    assert (found.kind, found.label) == ("degraded", "Degraded")
    assert found.detail == (
        "Braze rejected 6 objects and 2 objects ran out of retries in the last hour."
    )
    first = Delivery.objects.filter(status="dead").first()
    assert first is not None
    assert found.since == first.failed_at
    assert found.link.startswith(
        f"/admin/connections/failedsend/?connection={output.connection_id}&failed_since="
    )


def test_failures_older_than_an_hour_leave_it_healthy(output: BrazeOutput) -> None:
    checked(output, "passed")
    failed_rows(output, "rejected", 3, minutes_ago=61)
    assert health(output.connection).kind == "healthy"


def test_the_connection_page_names_degraded_and_links_to_those_failed_sends(
    client: Client, auditor: Any, marketer: Any, output: BrazeOutput
) -> None:
    checked(output, "passed")
    failed_rows(output, "rejected", 6, minutes_ago=5)
    client.force_login(marketer)
    page = client.get(f"/connections/{output.connection_id}/").content.decode()
    assert '<span class="badge badge-degraded" id="health">Degraded</span>' in page
    assert "Braze rejected 6 objects in the last hour." in page
    assert "Healthy" not in page
    dashboard = client.get("/").content.decode()
    assert "badge-degraded" in dashboard
    client.force_login(auditor)
    page = client.get(f"/connections/{output.connection_id}/").content.decode()
    link = re.search(r'<a href="([^"]+)" id="health-link">See those failed sends</a>', page)
    assert link is not None
    listed = client.get(html.unescape(link.group(1)))
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 6


def test_a_paused_connection_says_why_since_when_and_what_to_do(output: BrazeOutput) -> None:
    checked(output, "passed")
    lifecycle.connection_pause(connection=output.connection, reason="Braze answered 401.")
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
