"""Where REST hook events come from: connectivity checks, pauses and resumes, configuration
changes, new mapping issues, and failed rows counted per connection per minute."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from connections import lifecycle, services
from connections.connectivity.services import connectivity_check_run, output_test_connectivity
from connections.delivery import mapping_service
from connections.delivery.intake import batch_receive
from connections.delivery.outbox import (
    Failure,
    outbox_claim_batch,
    outbox_reject,
    outbox_retry_later,
)
from connections.hooks.emit import mapping_issues_detected
from connections.hooks.events import EVENTS
from connections.hooks.failures import hook_failures_flush
from connections.hooks.models import HookEvent, HookFailureCount
from connections.hooks.services import hook_subscription_create
from connections.models import BrazeOutput, Connection, Delivery
from connections.rules.validation import OutputDraft
from devtools.fakebraze import FakeBraze
from mapping.issues import Issue, IssueAction, IssueKind
from mapping.output_settings import OutputSettings
from mapping.services import mapping_issues_record
from tests.conftest import add_output
from tests.connections.delivery_helpers import REST_KEY, event, queue_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed(ops: User) -> User:
    hook_subscription_create(user=ops, target_url="https://hooks.example.com/in", events=EVENTS)
    return ops


def recorded(type_: str) -> list[dict[str, Any]]:
    """The ``data`` of each event of this type, oldest first."""
    events = HookEvent.objects.filter(type=type_).order_by("created_at", "pk")
    return [json.loads(e.body)["data"] for e in events]


# --- connectivity checks -----------------------------------------------------------------


def test_a_passing_check_sends_test_succeeded_with_an_absolute_link_to_the_checks_page(
    subscribed: User, output: BrazeOutput, braze: FakeBraze, settings: Any
) -> None:
    settings.MPBRAZE_PUBLIC_URL = "https://mpbraze.example.com/ops"
    check = output_test_connectivity(output=output)
    connectivity_check_run(check_id=check.pk)
    (data,) = recorded("connection.test_succeeded")
    assert data["check"] == {
        "id": check.pk,
        "outcome": "passed",
        "summary": data["check"]["summary"],
    }
    assert data["connection"]["id"] == output.connection_id
    assert data["output"] == {"platform": "server"}
    assert data["link"] == (
        f"https://mpbraze.example.com/ops/connections/{output.connection_id}/checks/"
    )
    assert recorded("connection.test_failed") == []
    assert REST_KEY not in " ".join(HookEvent.objects.values_list("body", flat=True))


def test_a_failing_check_sends_test_failed_with_its_summary(
    subscribed: User, output: BrazeOutput
) -> None:
    BrazeOutput.objects.filter(pk=output.pk).update(custom_rest_endpoint="127.0.0.1:9")
    output.refresh_from_db()
    check = output_test_connectivity(output=output)
    connectivity_check_run(check_id=check.pk)
    (data,) = recorded("connection.test_failed")
    assert data["check"]["outcome"] == "failed"
    assert data["check"]["summary"] == "connection refused by 127.0.0.1 port 9"


def test_a_check_of_a_paused_connection_that_passes_resumes_it_and_says_so(
    subscribed: User, output: BrazeOutput, braze: FakeBraze
) -> None:
    lifecycle.connection_pause(connection=output.connection, reason="Braze answered 401")
    check = output_test_connectivity(output=output)
    connectivity_check_run(check_id=check.pk)
    assert len(recorded("connection.paused")) == 1
    assert len(recorded("connection.resumed")) == 1
    assert len(recorded("connection.test_succeeded")) == 1


# --- pauses, resumes and configuration ----------------------------------------------------


def test_pause_and_resume_are_sent_only_when_the_state_changes(
    subscribed: User, connection: Connection
) -> None:
    lifecycle.connection_resume(connection=connection)  # was not paused
    assert lifecycle.connection_pause(connection=connection, reason="Braze answered 401")
    assert lifecycle.connection_pause(connection=connection, reason="Braze answered 401 again")
    lifecycle.connection_resume(connection=connection)
    assert recorded("connection.paused") == [
        {
            "connection": {"id": connection.pk, "name": "Shop app", "slug": connection.slug},
            "reason": "Braze answered 401",
        }
    ]
    assert len(recorded("connection.resumed")) == 1


def test_updates_name_what_changed_and_never_a_key(
    subscribed: User, connection: Connection
) -> None:
    services.connection_update(connection=connection, name="Shop app", enabled=True)
    services.connection_update(connection=connection, name="Shop", enabled=False)
    output = add_output(connection, "ios", "ios-secret-key-0001")
    draft = OutputDraft(platform="ios", api_key="ios-secret-key-0002")
    services.output_save(
        connection=connection, draft=draft, settings=OutputSettings(), output=output
    )
    services.output_delete(output=output)
    updates = recorded("connection.updated")
    assert [(u["action"], u.get("output")) for u in updates] == [
        ("updated", None),
        ("output_created", {"platform": "ios"}),
        ("output_updated", {"platform": "ios"}),
        ("output_deleted", {"platform": "ios"}),
    ]
    assert updates[0]["changed"] == ["name", "enabled"]
    assert updates[2]["changed"] == ["api_key"]
    bodies = " ".join(HookEvent.objects.values_list("body", flat=True))
    assert "ios-secret-key" not in bodies


# --- mapping issues ---------------------------------------------------------------------


def test_a_mapping_issue_is_sent_once_when_first_seen(
    subscribed: User, connection: Connection
) -> None:
    output = add_output(connection, "ios", "ios-key-0001")
    tags = Issue(
        IssueKind.ARRAY_IN_EVENT_PROPERTY, "events[0].tags", "[1]", IssueAction.DROPPED_FIELD, 0
    )
    other = Issue(
        IssueKind.ARRAY_IN_EVENT_PROPERTY, "events[0].ids", "[2]", IssueAction.DROPPED_FIELD, 0
    )
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for n, issues in enumerate([[tags] * 5, [tags], [tags, other], [other]]):
        now = start + timedelta(minutes=n)
        mapping_issues_record(
            connection_id=connection.pk,
            output_id=output.pk,
            issues=issues,
            payload={"events": [{}]},
            objects=[],
            now=now,
        )  # then what the mapping service does next
        mapping_issues_detected(
            connection_id=connection.pk, output_id=output.pk, issues=issues, now=now
        )
    found = recorded("mapping.issue_detected")
    assert [d["issue"]["field"] for d in found] == ["events[0].tags", "events[0].ids"]
    assert found[0]["issue"]["kind"] == "array_in_event_property"
    assert found[0]["output"] == {"platform": "ios"}


# --- failed rows, per connection per minute --------------------------------------------------


def dead_letter(output: BrazeOutput, rows: int, status_code: int = 500) -> int:
    queue_rows(output, [event(f"user-{n}") for n in range(rows)])
    claim = outbox_claim_batch(output=output, limit=rows + 1)
    for row in claim.rows:
        row.attempts = 19
    Delivery.objects.filter(pk__in=[r.pk for r in claim.rows]).update(attempts=19)
    return outbox_retry_later(
        rows=claim.rows, failure=Failure(status_code, "http_5xx", "server error")
    )[1]


def test_300_dead_rows_in_one_minute_make_one_event_with_their_count(
    subscribed: User, connection: Connection, no_linger: None, settings: Any
) -> None:
    settings.MPBRAZE_PUBLIC_URL = "https://mpbraze.example.com"
    add_output(connection, "ios", "ios-key-0001")
    server = add_output(connection, "server", REST_KEY)
    assert dead_letter(server, 150) == 150
    assert dead_letter(server, 150) == 150
    assert HookFailureCount.objects.get().count == 300
    assert hook_failures_flush(now=timezone.now()) == 0  # the minute is not closed yet
    assert hook_failures_flush(now=timezone.now() + timedelta(minutes=2)) == 1
    (data,) = recorded("delivery.dead_lettered")
    assert data["count"] == 300
    assert data["failures"] == [{"kind": "Retries exhausted: HTTP 5xx", "count": 300}]
    assert data["link"] == (
        f"https://mpbraze.example.com/admin/connections/failedsend/?connection={connection.pk}"
    )
    assert not HookFailureCount.objects.exists()
    assert hook_failures_flush(now=timezone.now() + timedelta(minutes=3)) == 0


def test_rejected_rows_make_a_rejected_event(subscribed: User, connection: Connection) -> None:
    add_output(connection, "ios", "ios-key-0001")
    server = add_output(connection, "server", REST_KEY)
    queue_rows(server, [event("a"), event("b")])
    claim = outbox_claim_batch(output=server)
    outbox_reject(rows=claim.rows, failure=Failure(400, "braze_object_error", "bad name"))
    hook_failures_flush(now=timezone.now() + timedelta(minutes=2))
    (data,) = recorded("delivery.rejected")
    assert data["count"] == 2
    assert data["failures"] == [{"kind": "Braze rejected the object: bad name", "count": 2}]


def test_nothing_is_counted_while_no_hook_wants_failures(connection: Connection) -> None:
    add_output(connection, "ios", "ios-key-0001")
    server = add_output(connection, "server", REST_KEY)
    assert dead_letter(server, 10) == 10
    assert not HookFailureCount.objects.exists()
    assert not HookEvent.objects.exists()


def test_mapping_a_batch_announces_the_issues_it_sees_first(
    subscribed: User, connection: Connection
) -> None:
    add_output(connection, "server", REST_KEY)
    payload = {
        "events": [
            {
                "event_type": "custom_event",
                "data": {"event_name": "Play", "timestamp_unixtime_ms": 1764979200000},
            }
        ],
        "user_identities": {"customer_id": "u1"},
        "user_attributes": {"scores": {"nested": 1}},
    }
    for _ in range(2):
        batch = batch_receive(connection=connection, payload=payload)[0]
        mapping_service.batch_map(batch_id=batch.pk)
    found = recorded("mapping.issue_detected")
    assert [(d["issue"]["field"], d["output"]) for d in found] == [
        ("user_attributes.scores", {"platform": "server"})
    ]
