"""The dashboard's sparklines, the connection page's glance and its onboarding, as rendered."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections import services
from connections.connectivity.models import ConnectivityCheck
from connections.delivery import mapping_service
from connections.models import BrazeOutput, Connection, Delivery, InboundBatch
from connections.pages.onboarding import FIRST_EVENT_NAME, FIRST_EVENT_USER
from mapping.models import MappingIssue
from tests.conftest import add_output
from tests.connections.pages.test_glance import issue, seed

pytestmark = pytest.mark.django_db
S = Delivery.Status


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, connection: Connection) -> str:
    response = client.get(connection.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def snippet(content: str, name: str) -> str:
    found = re.search(rf'<pre id="snippet-{name}"><code>(.*?)</code></pre>', content, re.S)
    assert found, f"no {name} snippet"
    return html.unescape(found.group(1))


def with_outputs(connection: Connection) -> BrazeOutput:
    add_output(connection, "ios", "ios-app-key-0001")
    return add_output(connection, "server", "rest-key-0001")


def test_the_dashboard_draws_a_labelled_sparkline_per_connection(marketer: User) -> None:
    shop = services.connection_create(name="Shop")[0]
    blog = services.connection_create(name="Blog")[0]
    server = with_outputs(shop)
    now = timezone.now()
    seed(server, S.SENT, 3, sent_at=now - timedelta(minutes=1))
    seed(server, S.DEAD, failed_at=now - timedelta(hours=2))

    content = signed_in(marketer).get(reverse("dashboard")).content.decode()

    shop_chart = re.search(rf'id="sparkline-{shop.pk}">(<svg .*?</svg>)', content, re.S)
    assert shop_chart
    svg = shop_chart.group(1)
    assert 'role="img"' in svg
    assert 'aria-label="Last 24 hours by hour: 3 sent, 1 failed, 0 waiting; busiest hour' in svg
    assert svg.count('class="bar-sent"') == 1
    assert svg.count('class="bar-failed"') == 1
    assert "chart-day" not in svg  # no midnight line in a sparkline without day labels
    assert f'id="sparkline-{blog.pk}"' in content
    assert "Last 24 hours by hour: 0 sent, 0 failed, 0 waiting; nothing in any hour." in content


def test_the_connection_page_shows_the_server_outputs_week(
    marketer: User, connection: Connection
) -> None:
    server = with_outputs(connection)
    now = timezone.now()
    seed(server, S.SENT, 9, sent_at=now - timedelta(hours=3))
    seed(server, S.REJECTED, 3, failed_at=now - timedelta(hours=2))
    seed(server, S.QUEUED, 4)
    issue(server, "string_truncated", "attributes.bio", 7)

    content = page(signed_in(marketer), connection)

    assert re.search(r'id="queue-depth">4 objects<', content)
    assert re.search(r'id="last-sent"><time [^>]*>3\xa0hours ago</time>', content)
    assert "25 %" in content
    assert "3 failed of 12" in content
    assert "Objects per hour, last 7 days: 9 sent, 3 failed, 4 waiting" in content
    assert content.count('class="chart-day"') == 6  # the midnights between 7 days
    assert "<strong>7\u00d7</strong> String longer than 255 characters" in content
    assert "in 1 field<" in content


def test_the_failure_rate_counts_objects_waiting_for_a_retry_as_not_delivered(
    marketer: User, connection: Connection
) -> None:
    server = with_outputs(connection)
    seed(server, S.SENT, 6, sent_at=timezone.now() - timedelta(hours=3))
    seed(server, S.QUEUED, 6, attempts=1)  # every send answered 500 since

    content = page(signed_in(marketer), connection)

    found = re.search(r'<dd id="failure-rate">(.*?)</dd>', content, re.S)
    assert found is not None
    rate = found.group(1)
    assert "50 %" in rate
    assert "0 failed, 6 waiting for a retry of 12" in rate


def test_no_glance_is_shown_before_a_server_output_exists(
    marketer: User, connection: Connection
) -> None:
    add_output(connection, "ios", "ios-app-key-0001")

    assert 'id="glance"' not in page(signed_in(marketer), connection)


def test_a_new_connection_lists_five_undone_steps_and_the_first_event_snippets(
    marketer: User,
) -> None:
    connection, secret = services.connection_create(name="New")

    content = page(signed_in(marketer), connection)

    assert re.findall(r'id="onboarding-(\w+)" data-done="(\d)"', content) == [
        ("app", "0"),
        ("server", "0"),
        ("tested", "0"),
        ("received", "0"),
        ("delivered", "0"),
    ]
    assert '<details class="card first-event" id="first-event" open>' in content
    for name in ("python", "node", "curl"):
        text = snippet(content, name)
        assert connection.inbound_key in text
        assert "MPBRAZE_INBOUND_SECRET" in text
        assert secret not in text
    assert 'config.host = "http://testserver/v2"' in snippet(content, "python")
    assert 'client.basePath = "http://testserver/v2"' in snippet(content, "node")
    assert 'curl --fail-with-body "http://testserver/v2/events"' in snippet(content, "curl")
    assert secret not in content
    assert "shown once, when this connection was created or its secret was last rotated" in content


def steps(content: str) -> dict[str, bool]:
    return {k: d == "1" for k, d in re.findall(r'id="onboarding-(\w+)" data-done="(\d)"', content)}


def test_each_step_is_ticked_by_what_the_database_holds(
    marketer: User, connection: Connection
) -> None:
    client = signed_in(marketer)
    add_output(connection, "web", "web-app-key-0001")
    assert steps(page(client, connection)) == {
        "app": True,
        "server": False,
        "tested": False,
        "received": False,
        "delivered": False,
    }

    server = add_output(connection, "server", "rest-key-0001")
    check = ConnectivityCheck.objects.create(
        connection=connection, output=server, outcome=ConnectivityCheck.Outcome.FAILED
    )
    assert steps(page(client, connection))["server"]
    assert not steps(page(client, connection))["tested"]  # a failed test is no pass

    check.outcome = ConnectivityCheck.Outcome.PASSED
    check.save()
    seed(server, S.QUEUED)  # a batch arrives and its row waits
    assert steps(page(client, connection)) == {
        "app": True,
        "server": True,
        "tested": True,
        "received": True,
        "delivered": False,
    }

    Delivery.objects.update(status=S.SENT, sent_at=timezone.now())
    content = page(client, connection)
    assert 'id="onboarding"' not in content
    assert '<details class="card first-event" id="first-event">' in content  # collapsed
    assert "Send a test event" in content
    assert content.index('id="glance"') < content.index('id="first-event"')


def test_a_test_of_an_app_output_does_not_tick_the_server_test(
    marketer: User, connection: Connection
) -> None:
    with_outputs(connection)
    app = connection.outputs.get(platform="ios")
    ConnectivityCheck.objects.create(
        connection=connection, output=app, outcome=ConnectivityCheck.Outcome.PASSED
    )

    assert not steps(page(signed_in(marketer), connection))["tested"]


def test_the_connection_page_reads_its_glance_and_onboarding_in_a_bounded_number_of_queries(
    marketer: User, connection: Connection, django_assert_max_num_queries: Any
) -> None:
    server = with_outputs(connection)
    client = signed_in(marketer)
    page(client, connection)  # sessions and permissions cached as on any later view
    with django_assert_max_num_queries(40) as few:
        page(client, connection)
    for n in range(20):
        seed(server, S.SENT, 5, sent_at=timezone.now() - timedelta(hours=n))
        issue(server, "string_truncated", f"attributes.a{n}", n + 1)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page(client, connection)


# The snippets, run as a developer would run them, against a live server.


def run_snippet(args: list[str], secret: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPBRAZE_INBOUND_SECRET": secret}
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)


def mapped_without_issues(batch: InboundBatch) -> None:
    """Mapped for the connection's Server output: one event, and not one mapping issue."""
    server = batch.connection.outputs.get(platform="server")
    assert mapping_service.batch_map(batch_id=batch.pk) == server.pk
    assert list(Delivery.objects.values_list("kind", "event_name")) == [
        ("events", FIRST_EVENT_NAME)
    ]
    assert list(MappingIssue.objects.values_list("kind", "field_path")) == []


@pytest.fixture
def live_page(live_server: Any, marketer: User) -> Any:
    connection, secret = services.connection_create(name="Live")
    with_outputs(connection)
    client = Client(HTTP_HOST=f"127.0.0.1:{live_server.thread.port}")
    client.force_login(marketer)
    return connection, secret, page(client, connection)


@pytest.mark.django_db(transaction=True)
def test_the_python_snippet_sends_a_batch_that_is_stored(live_page: Any) -> None:
    connection, secret, content = live_page

    done = run_snippet([sys.executable, "-c", snippet(content, "python")], secret)

    assert done.returncode == 0, done.stderr
    batch = InboundBatch.objects.get(connection=connection)
    assert batch.payload["user_identities"] == {"customer_id": FIRST_EVENT_USER}
    assert batch.payload["events"][0]["data"]["event_name"] == FIRST_EVENT_NAME
    mapped_without_issues(batch)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed")
def test_the_curl_snippet_sends_a_batch_that_is_stored(live_page: Any) -> None:
    connection, secret, content = live_page

    done = run_snippet(["bash", "-c", snippet(content, "curl")], secret)

    assert done.returncode == 0, done.stdout + done.stderr
    batch = InboundBatch.objects.get(connection=connection)
    assert batch.payload["events"][0]["data"]["event_name"] == FIRST_EVENT_NAME
    mapped_without_issues(batch)


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
def test_the_node_snippet_is_valid_javascript(marketer: User, connection: Connection) -> None:
    # The mparticle package is not installed here: check the syntax only.
    code = snippet(page(signed_in(marketer), connection), "node")
    # The event carries its time, as the Python and curl ones do (no "Missing timestamp").
    assert code.index("event.timestamp_unixtime_ms = Date.now();") < code.index("addEvent(event)")

    done = subprocess.run(
        ["node", "--check", "--input-type=commonjs", "-"],
        input=code,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert done.returncode == 0, done.stderr


def step_links(content: str) -> dict[str, str]:
    found = re.findall(
        r'id="onboarding-(\w+)".*?<span class="step-label">(?:<a href="([^"]*)">)?', content, re.S
    )
    return {key: html.unescape(url) for key, url in found}


def test_each_step_still_to_do_links_to_where_it_is_done(
    marketer: User, auditor: User, connection: Connection
) -> None:
    pk = connection.pk
    assert step_links(page(signed_in(marketer), connection)) == {
        "app": f"/connections/{pk}/outputs/new/",
        "server": f"/connections/{pk}/#output-server",  # its card says: an app output first
        "tested": f"/connections/{pk}/checks/",
        "received": f"/connections/{pk}/#first-event",
        "delivered": f"/connections/{pk}/#glance",
    }
    add_output(connection, "ios", "ios-app-key-0001")
    links = step_links(page(signed_in(marketer), connection))
    assert links["app"] == ""  # done: nothing to go to
    assert links["server"].endswith("?platform=server")
    for_auditor = step_links(page(signed_in(auditor), connection))
    assert for_auditor["server"] == ""  # a page the auditor may not open
    assert for_auditor["tested"] == f"/connections/{pk}/checks/"
