"""Which test result each page shows: the dashboard's "Last test" is the Server output's (or
the worst), a check that skipped every step reads "Not probed", and output cards keep the
order iOS, Android, Web, Server."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from connections import lifecycle
from connections.connectivity.models import ConnectivityCheck, ConnectivityStep
from connections.connectivity.selectors import last_test_by_connection
from connections.models import BrazeOutput, Connection
from connections.rules import instances
from tests.conftest import add_output

pytestmark = pytest.mark.django_db
NO_SDK = "no SDK endpoint is set: the app's SDK uses its built-in default"


def finished(
    output: BrazeOutput, outcome: str, steps: list[str], minutes_ago: float, summary: str = ""
) -> ConnectivityCheck:
    check = ConnectivityCheck.objects.create(
        connection_id=output.connection_id,
        output=output,
        outcome=outcome,
        summary=summary or f"{output.platform} {outcome}",
        started_at=timezone.now() - timedelta(minutes=minutes_ago),
        finished_at=timezone.now() - timedelta(minutes=minutes_ago),
    )
    for position, step in enumerate(steps):
        ConnectivityStep.objects.create(
            connectivity_check=check, position=position, name="http", outcome=step, message=NO_SDK
        )
    return check


def every_platform(connection: Connection) -> dict[str, BrazeOutput]:
    custom = {"braze_instance": instances.CUSTOM, "custom_rest_endpoint": "rest.iad-03.braze.com"}
    return {
        platform: add_output(connection, platform, f"{platform}-key-0001", **custom)
        for platform in ("server", "web", "android", "ios")  # saved out of order on purpose
    }


def test_the_dashboard_shows_the_failed_server_test_not_a_later_web_one_that_probed_nothing(
    client: Client, marketer: User, connection: Connection
) -> None:
    outputs = every_platform(connection)
    finished(outputs["server"], "failed", ["failed"], 5, "API key rejected by Braze (401)")
    finished(outputs["web"], "passed", ["skipped"], 0)
    lifecycle.connection_pause(connection=connection, reason="Braze answered 401.")
    client.force_login(marketer)

    page = client.get("/").content.decode()

    cell = re.search(r'<td class="last-test".*?</td>', page, re.S)
    assert cell is not None
    assert '<span class="badge badge-failed">Failed</span>' in cell.group(0)
    assert "Server, 5\xa0minutes ago" in cell.group(0)
    assert "Passed" not in cell.group(0)


def test_without_a_server_test_the_dashboard_shows_the_worst_output_result(
    connection: Connection,
) -> None:
    outputs = every_platform(connection)
    finished(outputs["ios"], "failed", ["failed"], 9)
    finished(outputs["web"], "passed", ["passed"], 1)
    finished(outputs["android"], "passed", ["skipped"], 0)
    shown = last_test_by_connection([connection.pk])[connection.pk]
    assert (shown.output.platform, shown.verdict) == ("ios", "failed")


def test_a_check_that_skipped_every_step_reads_not_probed_on_every_page(
    client: Client, marketer: User, connection: Connection
) -> None:
    web = add_output(connection, "web", "web-key-0001")
    finished(web, "passed", ["skipped"], 1)
    client.force_login(marketer)

    dashboard = client.get("/").content.decode()
    detail = client.get(f"/connections/{connection.pk}/").content.decode()
    checks = client.get(f"/connections/{connection.pk}/checks/").content.decode()
    data = client.get(f"/connections/{connection.pk}/checks.json").json()

    for page in (dashboard, detail, checks):
        assert '<span class="badge badge-not_probed">Not probed</span>' in page
        assert "badge-passed" not in page
    assert (data["checks"][0]["outcome"], data["checks"][0]["outcome_label"]) == (
        "not_probed",
        "Not probed",
    )


def test_output_cards_come_in_the_order_ios_android_web_server_on_every_page(
    client: Client, marketer: User, connection: Connection
) -> None:
    for output in every_platform(connection).values():
        finished(output, "passed", ["passed"], 1)
    client.force_login(marketer)

    checks = client.get(f"/connections/{connection.pk}/checks/").content.decode()
    detail = client.get(f"/connections/{connection.pk}/").content.decode()
    dashboard = client.get("/").content.decode()
    data = client.get(f"/connections/{connection.pk}/checks.json").json()

    order = ["ios", "android", "web", "server"]
    assert re.findall(r'id="check-(\w+)"', checks) == order
    assert re.findall(r'id="output-(\w+)"', detail) == order
    assert [c["platform"] for c in data["checks"]] == order
    assert re.findall(r'<span class="chip">(\w+)</span>', dashboard) == [
        "iOS",
        "Android",
        "Web",
        "Server",
    ]
