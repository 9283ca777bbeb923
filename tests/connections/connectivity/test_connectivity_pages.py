"""The "Test connection" and "Test" buttons, the result page and its JSON, by persona."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from connections import services
from connections.connectivity.models import ConnectivityCheck
from connections.connectivity.services import connectivity_check_run, output_test_connectivity
from connections.models import BrazeOutput, Connection
from connections.templatetags.mpbraze_tags import ago
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import REST_KEY

pytestmark = pytest.mark.django_db


def test_a_marketer_starts_a_check_of_every_output_and_lands_on_the_result(
    client: Client, marketer: User, connection: Connection, output: BrazeOutput
) -> None:
    client.force_login(marketer)
    response = client.post(f"/connections/{connection.pk}/test/")
    assert response.status_code == 302
    assert response["Location"] == f"/connections/{connection.pk}/checks/"
    assert ConnectivityCheck.objects.filter(connection=connection).count() == 2
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.content.decode().count("Running…") == 2
    assert '<meta http-equiv="refresh" content="2">' in page.content.decode()  # without JS


def test_the_result_shows_each_step_and_the_json_says_the_same(
    client: Client,
    marketer: User,
    connection: Connection,
    output: BrazeOutput,
    braze: FakeBraze,
) -> None:
    braze.remove_key(REST_KEY)
    client.force_login(marketer)
    client.post(f"/connections/{connection.pk}/outputs/server/test/")
    check = ConnectivityCheck.objects.get()
    connectivity_check_run(check_id=check.pk)
    page = client.get(f"/connections/{connection.pk}/checks/").content.decode()
    assert "API key rejected by Braze (401)" in page
    assert "✗" in page
    assert "refresh" not in page  # nothing runs any more
    data = client.get(f"/connections/{connection.pk}/checks.json").json()
    assert data["running"] is False
    [server] = data["checks"]
    assert (server["platform"], server["outcome"]) == ("server", "failed")
    assert [step["name"] for step in server["steps"]] == ["DNS", "TCP", "TLS", "HTTP"]
    assert server["summary"].startswith("API key rejected by Braze (401)")


def test_a_double_click_starts_one_check(
    client: Client, marketer: User, connection: Connection, output: BrazeOutput
) -> None:
    client.force_login(marketer)
    client.post(f"/connections/{connection.pk}/outputs/server/test/")
    client.post(f"/connections/{connection.pk}/outputs/server/test/")
    assert ConnectivityCheck.objects.count() == 1


@pytest.mark.parametrize(("persona", "status"), [("auditor", 403), ("outsider", 403), ("ops", 302)])
def test_only_marketers_and_ops_may_start_a_check(
    client: Client,
    request: Any,
    connection: Connection,
    output: BrazeOutput,
    persona: str,
    status: int,
) -> None:
    client.force_login(request.getfixturevalue(persona))
    assert client.post(f"/connections/{connection.pk}/test/").status_code == status
    assert client.post(f"/connections/{connection.pk}/outputs/server/test/").status_code == status


def test_unknown_ids_and_a_get_are_refused(
    client: Client, marketer: User, connection: Connection, output: BrazeOutput
) -> None:
    client.force_login(marketer)
    assert client.post("/connections/999999/test/").status_code == 404
    assert client.post(f"/connections/{connection.pk}/outputs/web/test/").status_code == 404
    assert client.get("/connections/999999/checks/").status_code == 404
    assert client.get("/connections/999999/checks.json").status_code == 404
    assert client.get(f"/connections/{connection.pk}/test/").status_code == 405
    assert not ConnectivityCheck.objects.exists()


def test_the_connection_page_offers_the_buttons_to_those_who_may_use_them(
    client: Client, marketer: User, auditor: User, connection: Connection, output: BrazeOutput
) -> None:
    client.force_login(marketer)
    page = client.get(f"/connections/{connection.pk}/").content.decode()
    assert 'id="test-connection"' in page
    assert f'action="/connections/{connection.pk}/outputs/server/test/"' in page
    client.force_login(auditor)
    page = client.get(f"/connections/{connection.pk}/").content.decode()
    assert 'id="test-connection"' not in page


def test_the_dashboard_shows_each_connections_last_test_and_its_age(
    client: Client, marketer: User, connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    other, _secret = services.connection_create(name="Other app")
    client.force_login(marketer)
    assert "never" in client.get("/").content.decode()
    check = output_test_connectivity(output=output)
    connectivity_check_run(check_id=check.pk)
    ConnectivityCheck.objects.filter(pk=check.pk).update(
        started_at=timezone.now() - timedelta(minutes=3)
    )
    page = client.get("/").content.decode()
    assert '<span class="badge badge-passed">Passed</span>' in page
    assert "Server, 3\xa0minutes ago" in page
    assert page.count("never") == 1  # the other connection was never tested
    assert other.pk != connection.pk


def test_an_age_under_a_minute_reads_just_now() -> None:
    assert ago(timezone.now() - timedelta(seconds=20)) == "just now"
    assert ago(timezone.now() - timedelta(minutes=2, seconds=5)) == "2\xa0minutes ago"
