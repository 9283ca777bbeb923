"""The auditors' admin over failures seeded through the forwarder and a fake Braze: groups,
filters, search, the row's detail, CSV, and replay and discard behind a dry run."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from connections.audit import services
from connections.audit.models import FailureGroup, ReplayRun
from connections.delivery.forwarder import output_forward
from connections.models import BrazeOutput, Connection, Delivery, DeliveryAttempt
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import REST_KEY, event, queue_rows
from tests.responses import streamed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_linger")]
FAILED = reverse("admin:connections_failedsend_changelist")
APP_KEY = "ios-app-key-0001"


@pytest.fixture
def seeded(output: BrazeOutput, braze: FakeBraze, settings: Any) -> BrazeOutput:
    """Per-object rejections, a whole-request 400, and 5xx until dead (one try)."""
    settings.MPBRAZE_RETRY_MAX_ATTEMPTS = 2
    email = ("attributes", {"external_id": "ana", "email": "nope", "app_id": APP_KEY})
    queue_rows(output, [email, event("bo", name="Viewed")])
    output_forward(output_id=output.pk)
    braze.set_faults(next_statuses=(400,))
    queue_rows(output, [event("cy", name="Refund")])
    output_forward(output_id=output.pk)
    braze.set_faults(next_statuses=(503, 503))
    queue_rows(output, [event("dee", name="Checkout"), event("eve", name="Checkout")])
    output_forward(output_id=output.pk)
    Delivery.objects.filter(status="queued").update(next_attempt_at="2000-01-01T00:00:00Z")
    output_forward(output_id=output.pk)
    braze.set_faults()
    return output


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(client: Client, **params: str) -> str:
    response = client.get(FAILED, params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_seeded_failures_form_three_groups_whose_counts_agree_with_the_rows(
    seeded: BrazeOutput, auditor: User
) -> None:
    groups = {g.kind + " " + g.status_class: g.count for g in FailureGroup.objects.all()}
    assert groups == {"rejected 201": 1, "rejected 400": 1, "dead 5xx": 2}
    page = signed_in(auditor).get(reverse("admin:connections_failuregroup_changelist"))
    text = page.content.decode()
    assert "Retries exhausted: HTTP 5xx" in text
    assert "Braze refused the request (HTTP 400)" in text
    assert f"?group={FailureGroup.objects.get(kind='dead').pk}" in text


def test_filters_and_search_find_the_rows(seeded: BrazeOutput, auditor: User) -> None:
    client = signed_in(auditor)
    everything = listed(client)
    assert all(user in everything for user in ("ana", "cy", "dee", "eve"))
    assert "No failed send matches" in listed(client, q="bo")  # sent: not a failed send
    dead = listed(client, kind="dead")
    assert "dee" in dead
    assert "cy" not in dead
    assert "cy" in listed(client, status_code="400")
    assert "dee" not in listed(client, status_code="400")
    assert "Refund" in listed(client, q="Refund")
    assert "Checkout" not in listed(client, q="Refund")
    assert "ana" in listed(client, q="not a valid email")  # the error text
    group = FailureGroup.objects.get(kind="dead").pk
    by_group = listed(client, group=str(group))
    assert "dee" in by_group
    assert "ana" not in by_group
    assert "dee" in listed(client, connection=str(seeded.connection_id), platform="server")
    assert "No failed send matches this filter." in listed(client, q="nobody-at-all")
    assert "No failed send matches this filter." in listed(client, state="replayed")


def test_a_bad_filter_value_is_named_not_a_500(seeded: BrazeOutput, auditor: User) -> None:
    text = listed(signed_in(auditor), failed_since="yesterday")
    assert "Filter “failed_since”: expected a date" in text


def test_the_detail_shows_the_object_the_source_event_and_every_attempt(
    seeded: BrazeOutput, auditor: User
) -> None:
    row = Delivery.objects.get(user_key="dee")
    page = signed_in(auditor).get(reverse("admin:connections_failedsend_change", args=[row.pk]))
    text = page.content.decode()
    attempts = DeliveryAttempt.objects.filter(deliveries=row).count()
    assert attempts == 2
    assert text.count("<td>HTTP status") == 0
    assert text.count("Failed; will retry") == 1  # both attempts, as table rows
    assert text.count("Failed; retries exhausted") == 1  # the last one, read for this row
    assert f"{attempts} HTTP attempts; 2 counted against the retry budget" in text
    assert "&quot;external_id&quot;: &quot;dee&quot;" in text  # indented JSON, not a repr
    assert "next attempt at" not in text  # a final row has none
    ana = Delivery.objects.get(user_key="ana")
    page = signed_in(auditor).get(reverse("admin:connections_failedsend_change", args=[ana.pk]))
    assert APP_KEY not in page.content.decode()
    assert "••••0001" in page.content.decode()


def test_the_csv_has_the_filtered_rows_and_no_key(seeded: BrazeOutput, auditor: User) -> None:
    response = signed_in(auditor).get(
        reverse("admin:connections_failedsend_export"), {"kind": "dead"}
    )
    assert response.status_code == 200
    text = streamed(response).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(r["user"] for r in rows) == ["dee", "eve"]
    assert {r["http_status"] for r in rows} == {"503"}
    everything = streamed(
        signed_in(auditor).get(reverse("admin:connections_failedsend_export"))
    ).decode()
    assert "ana" in everything
    assert APP_KEY not in everything
    assert REST_KEY not in everything


def test_ops_replays_a_filter_after_a_dry_run_and_each_row_reaches_braze_once(
    seeded: BrazeOutput, braze: FakeBraze, ops: User
) -> None:
    client = signed_in(ops)
    url = reverse("admin:connections_failedsend_replay")
    dry = client.get(url, {"kind": "dead"})
    assert "2 rows, 2 users; 0 already accepted by Braze will be skipped" in dry.content.decode()
    assert ReplayRun.objects.count() == 0
    done = client.post(url + "?kind=dead")
    assert done.status_code == 302
    run = ReplayRun.objects.get()
    assert (run.requested_by, run.requested_via, run.selection) == (
        ops,
        "admin",
        {"filter": {"kind": "dead"}},
    )
    services.replay_run_execute(run_id=run.pk)
    before = len(braze.accepted_objects())
    output_forward(output_id=seeded.pk)
    assert sorted(o["body"]["external_id"] for o in braze.accepted_objects()[before:]) == [
        "dee",
        "eve",
    ]
    again = client.get(url, {"kind": "dead", "state": "all"})
    assert "2 already accepted by Braze will be skipped" in again.content.decode()
    listing = signed_in(ops).get(reverse("admin:connections_replayrun_changelist")).content.decode()
    assert "Queued again 2 of 2 rows" in listing


def test_selected_rows_go_through_the_dry_run_and_discard_needs_a_reason(
    seeded: BrazeOutput, ops: User
) -> None:
    client = signed_in(ops)
    row = Delivery.objects.get(user_key="cy")
    chosen = client.post(FAILED, {"action": "discard_selected", "_selected_action": [row.pk]})
    assert chosen.status_code == 302
    assert chosen["Location"].endswith(f"/discard/?ids={row.pk}")
    assert "1 rows, 1 users" in client.get(chosen["Location"]).content.decode()
    client.post(chosen["Location"], {"reason": "bad test data"})
    run = ReplayRun.objects.get()
    assert (run.action, run.reason) == ("discard", "bad test data")
    services.replay_run_execute(run_id=run.pk)
    assert Delivery.objects.get(pk=row.pk).status == "discarded"


def test_an_auditor_reads_everything_and_can_neither_replay_nor_discard(
    seeded: BrazeOutput, auditor: User
) -> None:
    client = signed_in(auditor)
    for name in (
        "failedsend",
        "failuregroup",
        "replayrun",
        "delivery",
        "deliveryattempt",
        "inboundbatch",
    ):
        assert client.get(reverse(f"admin:connections_{name}_changelist")).status_code == 200
    assert "Replay all matching" not in listed(client)
    for action in ("replay", "discard"):
        assert client.get(reverse(f"admin:connections_failedsend_{action}")).status_code == 403
        assert client.post(reverse(f"admin:connections_failedsend_{action}")).status_code == 403
    row = Delivery.objects.get(user_key="cy")
    refused = client.post(FAILED, {"action": "replay_selected", "_selected_action": [row.pk]})
    assert "/replay/" not in refused.get("Location", "")  # not an action an auditor has
    assert ReplayRun.objects.count() == 0
    assert (
        client.post(reverse("admin:connections_failedsend_delete", args=[row.pk])).status_code
        == 403
    )


@pytest.mark.parametrize("persona", ["marketer", "outsider"])
def test_marketers_and_outsiders_get_403(seeded: BrazeOutput, persona: str, request: Any) -> None:
    client = signed_in(request.getfixturevalue(persona))
    for url in (
        FAILED,
        reverse("admin:connections_failedsend_export"),
        reverse("admin:connections_failedsend_replay"),
    ):
        assert client.get(url).status_code == 403


def test_replay_of_a_paused_connection_is_refused_on_the_page(
    seeded: BrazeOutput, ops: User, connection: Connection
) -> None:
    Connection.objects.filter(pk=connection.pk).update(paused_reason="Braze answered 401")
    client = signed_in(ops)
    url = reverse("admin:connections_failedsend_replay")
    assert "is paused (Braze answered 401)" in client.get(url).content.decode()
    client.post(url)
    assert ReplayRun.objects.get().status == "refused"
    assert set(
        Delivery.objects.filter(failed_at__isnull=False).values_list("status", flat=True)
    ) <= {"dead", "rejected"}


def test_the_connection_page_shows_failure_groups_with_user_message_and_a_link(
    seeded: BrazeOutput, auditor: User, marketer: User
) -> None:
    url = reverse("connection_detail", args=[seeded.connection_id])
    page = signed_in(auditor).get(url).content.decode()
    section = page[page.index('id="failed-sends"') :]
    dead = FailureGroup.objects.get(kind="dead")
    assert "Retries exhausted: HTTP 5xx" in section
    assert f"?connection={seeded.connection_id}&amp;group={dead.pk}" in section
    assert f'<code class="user">{dead.sample_user}</code>' in section
    assert "not a valid email" in section  # Braze's message, not just "Bad Request"
    assert "2 objects, last" in section
    for_marketer = signed_in(marketer).get(url).content.decode()
    assert "Retries exhausted: HTTP 5xx" in for_marketer
    assert "failedsend" not in for_marketer  # no link into an admin they cannot open


def test_select_all_across_pages_replays_the_whole_filter(seeded: BrazeOutput, ops: User) -> None:
    client = signed_in(ops)
    row = Delivery.objects.get(user_key="dee")
    chosen = client.post(
        FAILED + "?kind=dead",
        {"action": "replay_selected", "_selected_action": [row.pk], "select_across": "1"},
    )
    assert chosen.status_code == 302
    assert chosen["Location"].endswith("/replay/?kind=dead")
    assert "2 rows, 2 users" in client.get(chosen["Location"]).content.decode()


def test_a_failed_sends_own_page_has_a_replay_button_to_the_dry_run_of_that_row(
    seeded: BrazeOutput, ops: User, auditor: User
) -> None:
    row = Delivery.objects.get(user_key="cy")
    detail = reverse("admin:connections_failedsend_change", args=[row.pk])
    text = signed_in(ops).get(detail).content.decode()
    replay = reverse("admin:connections_failedsend_replay") + f"?ids={row.pk}"
    assert f'<a href="{replay}" id="replay-one">Replay…</a>' in text
    dry = signed_in(ops).get(replay).content.decode()
    assert "1 rows, 1 users" in dry
    assert ReplayRun.objects.count() == 0  # a dry run only
    assert "Replay…" not in signed_in(auditor).get(detail).content.decode()


def test_a_refused_request_of_one_object_reads_as_rejected_not_split_and_resent(
    seeded: BrazeOutput, auditor: User
) -> None:
    row = Delivery.objects.get(user_key="cy")
    attempt = DeliveryAttempt.objects.get(deliveries=row)
    assert (attempt.object_count, attempt.status_code, attempt.outcome) == (1, 400, "rejected")
    page = signed_in(auditor).get(reverse("admin:connections_failedsend_change", args=[row.pk]))
    text = page.content.decode()
    assert "split and resent" not in text
    assert "<td>Rejected</td><td>400</td><td>1</td>" in text


def test_the_csv_names_each_rows_failure_group_by_its_title(
    seeded: BrazeOutput, auditor: User
) -> None:
    response = signed_in(auditor).get(reverse("admin:connections_failedsend_export"))
    text = streamed(response).decode()
    groups = {r["user"]: r["failure_group"] for r in csv.DictReader(io.StringIO(text))}
    dead = FailureGroup.objects.get(kind="dead")
    assert groups["dee"] == groups["eve"] == dead.title == "Retries exhausted: HTTP 5xx"
    assert groups["cy"] == "Braze refused the request (HTTP 400): Bad Request"
