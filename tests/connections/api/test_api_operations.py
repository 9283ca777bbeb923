"""The REST API beyond configuration: tokens and scopes, connectivity tests, deliveries and
failed sends, failure groups, replay and discard, mapping issues, preview and the docs page
(issue 11, points 1 and 2)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from connections.api.deliveries import FailedSendFilters
from connections.api.models import ApiToken
from connections.api.tokens import api_token_create, api_token_revoke
from connections.audit import selectors as audit_selectors
from connections.audit.models import ReplayRun
from connections.audit.services import replay_run_execute
from connections.connectivity.services import connectivity_check_run
from connections.delivery.forwarder import output_forward
from connections.models import BrazeOutput, Connection, Delivery
from devtools.fakebraze import FakeBraze
from mapping.examples import example_batch
from mapping.models import MappingIssue
from tests.connections.api_helpers import ApiClient
from tests.connections.delivery_helpers import event, queue_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_linger")]


def codes(response: Any) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


@pytest.fixture
def dead_rows(output: BrazeOutput, braze: FakeBraze, settings: Any) -> list[Delivery]:
    """Three rows that died on a 503 (one try allowed)."""
    settings.MPBRAZE_RETRY_MAX_ATTEMPTS = 1
    braze.set_faults(next_statuses=(503,))
    rows = queue_rows(output, [event("u1"), event("u2"), event("u3")])
    output_forward(output_id=output.pk)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"dead"}
    return rows


# Tokens ---------------------------------------------------------------------------------


def test_no_token_or_a_bad_one_gets_401_in_json(api_as: Any, operator: User) -> None:
    for client in (ApiClient(""), ApiClient("mpb_nothing"), ApiClient("Basic abc")):
        response = client.get("connections")
        assert response.status_code == 401
        assert codes(response) == ["unauthenticated"]
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_and_expired_tokens_get_401(operator: User) -> None:
    revoked, revoked_plain = api_token_create(user=operator, scopes=["read"])
    api_token_revoke(token=revoked)
    expired_at = timezone.now() - timedelta(seconds=1)
    _, expired_plain = api_token_create(user=operator, scopes=["read"], expires_at=expired_at)

    assert ApiClient(revoked_plain).get("connections").status_code == 401
    assert ApiClient(expired_plain).get("connections").status_code == 401


def test_an_inactive_users_token_gets_401(api_as: Any, operator: User) -> None:
    client = api_as(operator)
    operator.is_active = False
    operator.save()

    assert client.get("connections").status_code == 401


def test_a_read_token_cannot_write_and_is_told_which_scope(api_as: Any, operator: User) -> None:
    response = api_as(operator, "read").post("connections", {"name": "Shop"})

    assert response.status_code == 403
    assert "“write”" in response.json()["errors"][0]["message"]
    assert not Connection.objects.exists()


def test_the_token_notes_when_it_was_last_used(api: ApiClient) -> None:
    api.get("connections")

    assert ApiToken.objects.get().last_used_at is not None


# Connectivity tests ---------------------------------------------------------------------


def test_a_test_started_over_the_api_runs_and_is_read_back(
    api: ApiClient,
    connection: Connection,
    output: BrazeOutput,
    braze: FakeBraze,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        started = api.post(f"connections/{connection.pk}/tests", {"platform": "server"})

    assert started.status_code == 202
    (check,) = started.json()
    assert (check["platform"], check["outcome"]) == ("server", "pending")
    assert len(callbacks) == 1  # the task is published after the commit
    connectivity_check_run(check_id=check["id"])  # what the worker does with it
    done = api.get(f"tests/{check['id']}").json()
    assert done["outcome"] == "passed"
    assert [s["name"] for s in done["steps"]][-1] == "http"
    listed = api.get(f"connections/{connection.pk}/tests").json()["items"]
    assert [c["id"] for c in listed] == [check["id"]]


def test_starting_a_test_needs_the_test_permission(
    api_as: Any, auditor: User, connection: Connection, output: BrazeOutput
) -> None:
    response = api_as(auditor, "read,write").post(f"connections/{connection.pk}/tests")

    assert response.status_code == 403
    assert "connections.test_connection" in response.json()["errors"][0]["message"]


# Deliveries, failed sends and groups ------------------------------------------------------


def test_deliveries_are_listed_newest_first_and_filtered(
    api: ApiClient, output: BrazeOutput, connection: Connection
) -> None:
    rows = queue_rows(output, [event("u1"), event("u2")])
    Delivery.objects.filter(pk=rows[0].pk).update(status="sent")

    everything = api.get(f"deliveries?connection={connection.pk}").json()["items"]
    sent = api.get("deliveries?status=sent").json()["items"]
    future = api.get("deliveries?since=2999-01-01").json()["items"]

    assert [d["id"] for d in everything] == [rows[1].pk, rows[0].pk]
    assert [d["id"] for d in sent] == [rows[0].pk]
    assert future == []
    assert codes(api.get("deliveries?since=yesterday")) == ["invalid"]
    assert codes(api.get("deliveries?status=lost")) == ["invalid"]


def test_a_delivery_shows_its_object_with_the_app_key_masked_and_its_attempts(
    api: ApiClient, dead_rows: list[Delivery]
) -> None:
    Delivery.objects.filter(pk=dead_rows[0].pk).update(
        body={"external_id": "u1", "app_id": "app-identifier-9876"}
    )
    body = api.get(f"deliveries/{dead_rows[0].pk}").json()

    assert body["body"]["app_id"] == "••••9876"
    assert [a["status_code"] for a in body["http_attempts"]] == [503]


def test_failed_sends_take_the_admins_filters(api: ApiClient, dead_rows: list[Delivery]) -> None:
    dead = api.get("failed-sends?status_code=503").json()["items"]
    none = api.get("failed-sends?status_code=400").json()["items"]
    groups = api.get("failure-groups").json()["items"]

    assert sorted(d["id"] for d in dead) == sorted(r.pk for r in dead_rows)
    assert none == []
    assert [(g["kind"], g["count"]) for g in groups] == [("dead", 3)]
    assert codes(api.get("failed-sends?failed_since=soon")) == ["invalid"]


# Replay and discard ---------------------------------------------------------------------


def test_replaying_ids_queues_them_at_once(
    api: ApiClient, dead_rows: list[Delivery], braze: FakeBraze, output: BrazeOutput
) -> None:
    braze.set_faults()
    response = api.post("replays", {"ids": [dead_rows[0].pk]})

    assert response.status_code == 202, response.content
    (run,) = response.json()["runs"]
    assert run["status"] == "pending"
    replay_run_execute(run_id=run["id"])
    assert api.get(f"replays/{run['id']}").json()["acted"] == 1
    output_forward(output_id=output.pk)
    assert Delivery.objects.get(pk=dead_rows[0].pk).status == "sent"


def test_a_filter_replay_answers_a_dry_run_until_confirmed(
    api: ApiClient, dead_rows: list[Delivery], connection: Connection
) -> None:
    selection = {"filter": {"connection": str(connection.pk)}}

    dry = api.post("replays", selection)
    assert dry.status_code == 200
    assert (dry.json()["dry_run"], dry.json()["matched"], dry.json()["to_send"]) == (True, 3, 3)
    assert not ReplayRun.objects.exists()

    confirmed = api.post("replays", {**selection, "confirm": True})
    assert confirmed.status_code == 202
    assert ReplayRun.objects.get().selection == selection


def test_replay_input_is_checked(api: ApiClient, dead_rows: list[Delivery]) -> None:
    both = api.post("replays", {"ids": [1], "filter": {"connection": "1"}})
    neither = api.post("replays", {})
    unknown = api.post("replays", {"filter": {"colour": "red"}})
    bad_value = api.post("replays", {"filter": {"status_code": "abc"}, "confirm": True})

    assert codes(both) == codes(neither) == ["invalid"]
    assert codes(unknown) == ["unknown_field"]
    assert bad_value.json()["errors"][0]["field"] == "status_code"
    assert not ReplayRun.objects.exists()


def test_a_discard_needs_a_reason_and_the_replay_scope(
    api: ApiClient, api_as: Any, operator: User, dead_rows: list[Delivery]
) -> None:
    ids = {"ids": [r.pk for r in dead_rows]}
    no_scope = api_as(operator, "read,write").post("discards", {**ids, "reason": "test data"})
    no_reason = api.post("discards", ids)
    done = api.post("discards", {**ids, "reason": "test data"})

    assert no_scope.status_code == 403
    assert no_reason.json()["errors"][0]["field"] == "reason"
    assert done.status_code == 202
    assert ReplayRun.objects.get().action == "discard"


def test_an_auditor_cannot_replay(api_as: Any, auditor: User, dead_rows: list[Delivery]) -> None:
    response = api_as(auditor).post("replays", {"ids": [dead_rows[0].pk]})

    assert response.status_code == 403
    assert "connections.replay_delivery" in response.json()["errors"][0]["message"]


# Mapping ------------------------------------------------------------------------------


def test_preview_maps_a_batch_without_storing_or_sending_it(
    api: ApiClient, connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    batch = example_batch("custom_event")
    response = api.post(f"connections/{connection.pk}/preview", {"batch": batch})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["problems"] == []
    assert body["requests"]
    assert "events" in body["requests"][0]
    assert not Delivery.objects.exists()
    assert not MappingIssue.objects.exists()
    assert braze.requests() == []


def test_preview_names_the_problems_of_a_malformed_batch(
    api: ApiClient, connection: Connection, output: BrazeOutput
) -> None:
    response = api.post(f"connections/{connection.pk}/preview", {"batch": {"events": "x"}})

    assert response.status_code == 200
    assert any("$.events" in p for p in response.json()["problems"])
    missing = api.post(f"connections/{connection.pk}/preview", {"platform": "web", "batch": {}})
    assert missing.status_code == 404


def test_mapping_issues_are_listed_by_connection_and_kind(
    api: ApiClient, connection: Connection, output: BrazeOutput
) -> None:
    now = timezone.now()
    MappingIssue.objects.create(
        connection=connection,
        output=output,
        kind="object_in_event_property",
        field_path="events[].data.custom_attributes.cart",
        action="dropped_field",
        count=4,
        first_seen=now,
        last_seen=now,
    )

    listed = api.get(f"mapping-issues?connection={connection.pk}").json()["items"]
    other_kind = api.get("mapping-issues?kind=array_in_event_property").json()["items"]

    assert [(i["kind"], i["count"], i["platform"]) for i in listed] == [
        ("object_in_event_property", 4, "server")
    ]
    assert other_kind == []
    assert codes(api.get("mapping-issues?kind=nonsense")) == ["invalid"]


# Docs ---------------------------------------------------------------------------------


def test_the_docs_page_and_openapi_load_nothing_from_the_internet(api: ApiClient) -> None:
    page = api.get("/api/v1/docs")
    schema = api.get("/api/v1/openapi.json")

    assert page.status_code == 200
    external = re.findall(rb"""(?:src|href)=["'](?:https?:)?//[^"']+""", page.content)
    assert external == []
    paths = schema.json()["paths"]
    assert {"/api/v1/connections", "/api/v1/replays", "/api/v1/failed-sends"} <= set(paths)
    security = schema.json()["components"]["securitySchemes"]
    assert [s["scheme"] for s in security.values()] == ["bearer"]


def test_health_answers_the_readiness_checks_with_503_naming_the_failure(
    api: ApiClient,
) -> None:
    response = api.get("health")  # no worker heartbeat in this test

    assert response.status_code == 503
    assert "worker" in response.json()["failing"]
    assert {c["name"] for c in response.json()["checks"]} >= {"database", "worker"}


def test_the_failed_sends_operation_takes_every_filter_of_the_audit() -> None:
    """A filter renamed on one side only would be dropped without a word."""
    assert set(FailedSendFilters.model_fields) == set(audit_selectors.FILTERS)
