"""The audit admin: who gets in (the Auditor and Ops roles, no staff status), what they see."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from connections.connectivity.models import ConnectivityCheck
from connections.models import BrazeOutput, Connection
from connections.rules.instances import CUSTOM
from mapping.issues import Issue, IssueAction, IssueKind, example_of
from mapping.models import MappingIssue
from mapping.services import mapping_issues_record
from tests.conftest import PASSWORD, add_output

pytestmark = pytest.mark.django_db
SEEN = datetime(2026, 11, 1, 9, 5, 7, tzinfo=UTC)
EVERY_AUDIT_SCREEN = {
    "connections/connection",
    "connections/brazeoutput",
    "connections/connectivitycheck",
    "connections/delivery",
    "connections/deliveryattempt",
    "connections/inboundbatch",
    "mapping/mappingissue",
}


@pytest.fixture
def output(connection: Connection) -> BrazeOutput:
    return add_output(connection, "server", "rest-key-0002")


@pytest.fixture
def check(output: BrazeOutput) -> ConnectivityCheck:
    return ConnectivityCheck.objects.create(
        connection=output.connection,
        output=output,
        started_at=SEEN,
        finished_at=SEEN,
        outcome="failed",
        duration_ms=1204,
        summary="API key rejected by Braze (401)",
    )


@pytest.fixture
def issue(output: BrazeOutput) -> MappingIssue:
    path = "events[0].custom_attributes.profile"
    found = Issue(
        IssueKind.OBJECT_IN_EVENT_PROPERTY, path, example_of({"a": 1}), IssueAction.DROPPED_FIELD, 0
    )
    payload = {"events": [{"event_type": "custom_event", "data": {"custom_attributes": {}}}]}
    mapping_issues_record(
        connection_id=output.connection_id,
        output_id=output.pk,
        issues=[found],
        payload=payload,
        objects=[],
        now=SEEN,
    )
    return MappingIssue.objects.get()


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.content.decode())


@pytest.mark.parametrize("persona", ["auditor", "ops"])
def test_a_role_without_staff_status_opens_every_audit_screen(
    persona: str, request: pytest.FixtureRequest, check: ConnectivityCheck, issue: MappingIssue
) -> None:
    user = request.getfixturevalue(persona)
    assert not user.is_staff
    assert not user.is_superuser
    client = signed_in(user)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert "mpbraze audit" in index.content.decode()
    listed = {m["admin_url"] for app in index.context["app_list"] for m in app["models"]}
    assert {f"/admin/{screen}/" for screen in EVERY_AUDIT_SCREEN} <= listed
    for url in listed:
        assert "<title>" in page(client, url)


@pytest.mark.parametrize("persona", ["marketer", "outsider"])
def test_a_signed_in_user_without_an_audit_role_is_refused_everywhere(
    persona: str, request: pytest.FixtureRequest, check: ConnectivityCheck
) -> None:
    client = signed_in(request.getfixturevalue(persona))
    urls = [
        reverse("admin:index"),
        reverse("admin:app_list", args=["connections"]),
        reverse("admin:connections_connection_changelist"),
        reverse("admin:connections_connection_change", args=[check.connection_id]),
        reverse("admin:connections_connectivitycheck_changelist"),
        reverse("admin:mapping_mappingissue_changelist"),
        reverse("admin:password_change"),
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url


def test_the_anonymous_are_sent_to_the_admin_sign_in() -> None:
    response = Client().get(reverse("admin:connections_connection_changelist"))
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/connections/connection/"


def test_an_auditor_signs_in_through_the_admin_form_and_a_marketer_does_not(
    auditor: User, marketer: User
) -> None:
    client = Client()
    answer = client.post(
        reverse("admin:login"), {"username": "auditor", "password": PASSWORD, "next": "/admin/"}
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    refused = Client().post(reverse("admin:login"), {"username": "marketer", "password": PASSWORD})
    assert refused.status_code == 200
    assert "an account with the Auditor or Ops role" in refused.content.decode()


def test_an_auditor_adds_changes_and_deletes_nothing(
    auditor: User, connection: Connection, issue: MappingIssue
) -> None:
    client = signed_in(auditor)
    change = reverse("admin:connections_connection_change", args=[connection.pk])
    assert client.post(change, {"name": "Renamed", "slug": "renamed"}).status_code == 403
    delete = reverse("admin:connections_connection_delete", args=[connection.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:connections_connection_add")).status_code == 403
    issue_delete = reverse("admin:mapping_mappingissue_delete", args=[issue.pk])
    assert client.post(issue_delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:auth_user_add")).status_code == 403
    assert Connection.objects.get().name == "Shop app"
    assert MappingIssue.objects.exists()


def test_times_show_their_seconds_and_zone_in_lists_and_records(
    auditor: User, check: ConnectivityCheck, issue: MappingIssue
) -> None:
    client = signed_in(auditor)
    listing = page(client, reverse("admin:connections_connectivitycheck_changelist"))
    record = page(client, reverse("admin:connections_connectivitycheck_change", args=[check.pk]))
    issues = page(client, reverse("admin:mapping_mappingissue_changelist"))
    for shown in (listing, record, issues):
        assert "2026-11-01 09:05:07 UTC" in shown


def test_labels_are_words_and_json_is_shown_as_indented_json(
    auditor: User, output: BrazeOutput, issue: MappingIssue
) -> None:
    client = signed_in(auditor)
    connections = page(client, reverse("admin:connections_connection_changelist"))
    assert "Accepts inbound batches" in connections
    assert "Ingest enabled" not in connections
    detail = page(client, reverse("admin:connections_brazeoutput_change", args=[output.pk]))
    assert "API key" in detail
    assert "REST host" in detail
    assert "Api key masked" not in detail
    assert "Rest host" not in detail
    assert '<pre class="json">{\n  "' in detail  # forwarding settings, indented
    output.braze_instance = CUSTOM
    output.custom_rest_endpoint = "rest.braze-proxy.example.com"
    output.save()
    history = page(client, reverse("admin:connections_brazeoutput_history", args=[output.pk]))
    assert '<th scope="col">API key</th>' in history
    assert "<strong>Custom REST endpoint:</strong>" in history  # the change, named in words
    assert "custom_rest_endpoint" not in history
    assert "Api key masked" not in history
    mapping = page(client, reverse("admin:mapping_mappingissue_change", args=[issue.pk]))
    assert '<code>{"a": 1}</code>' in mapping
    assert "Times seen" in mapping
    assert "What mpbraze did" in mapping


def test_the_site_header_links_auditors_and_ops_to_the_audit_admin_but_not_marketers(
    auditor: User, ops: User, marketer: User
) -> None:
    for user, linked in ((auditor, True), (ops, True), (marketer, False)):
        client = Client()
        client.force_login(user)
        page = client.get(reverse("dashboard")).content.decode()
        assert ('id="audit-link"' in page) is linked, user.username


def test_the_site_header_links_everyone_to_the_api_docs_and_ops_to_hooks_and_tokens(
    auditor: User, ops: User, marketer: User
) -> None:
    hooks = reverse("admin:connections_hooksubscription_changelist")
    tokens = reverse("admin:connections_apitoken_changelist")
    for user, linked in ((ops, True), (auditor, False), (marketer, False)):
        client = Client()
        client.force_login(user)
        page = client.get(reverse("dashboard")).content.decode()
        assert '<a href="/api/v1/docs" id="api-docs-link">API docs</a>' in page
        assert (f'<a href="{hooks}" id="hooks-link">REST hooks</a>' in page) is linked
        assert (f'<a href="{tokens}" id="tokens-link">API tokens</a>' in page) is linked
        if linked:
            assert client.get(hooks).status_code == client.get(tokens).status_code == 200
    assert Client().get("/api/v1/docs").status_code == 200
