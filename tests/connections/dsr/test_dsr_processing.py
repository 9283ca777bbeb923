"""Carrying out an erasure against a fake Braze over HTTP: what Braze is asked to delete, what
is deleted here, retries and refusals, the forwarder's guard, callbacks and REST hooks."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from standardwebhooks import Webhook

from connections.audit.models import FailureGroup
from connections.braze.transport import BrazeTransport
from connections.delivery import forwarder, outbox
from connections.delivery.intake import batch_content_hash
from connections.delivery.sender import Sender, workspace_of
from connections.dsr import callbacks, processing
from connections.dsr.models import DataSubjectRequest
from connections.dsr.parsing import dsr_body_parse
from connections.dsr.services import dsr_request_create
from connections.hooks.models import HookEvent
from connections.hooks.services import hook_subscription_create
from connections.identity.models import IdentityAlias, IdentityRecord
from connections.merging.models import AnonymousProfile
from connections.models import BrazeOutput, Connection, Delivery, InboundBatch
from connections.profiles.models import UserProfile
from devtools.fakebraze import FakeBraze
from mapping.models import MappingIssue
from tests.connections.delivery_helpers import REST_KEY, braze_connection
from tests.connections.dsr.helpers import erasure
from tests.connections.hooks_helpers import receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track", "users.delete"}}) as fake:
        yield fake


@pytest.fixture
def output(connection: Connection, braze: FakeBraze) -> BrazeOutput:
    return braze_connection(connection, braze.url)


def user_batch(connection: Connection, mpid: int, **identities: str) -> InboundBatch:
    payload = {"mpid": mpid, "user_identities": identities, "events": []}
    return InboundBatch.objects.create(
        connection=connection,
        content_hash=batch_content_hash(payload),
        payload=payload,
        status=InboundBatch.Status.MAPPED,
    )


def queue(output: BrazeOutput, batch: InboundBatch, user: str, names: list[str]) -> None:
    Delivery.objects.bulk_create(
        Delivery(
            connection=output.connection,
            output=output,
            batch=batch,
            sequence=n,
            kind="events",
            body={"external_id": user, "name": name, "time": "2026-11-01T00:00:00Z"},
            user_key=user,
            event_name=name,
            event_index=n,
            next_attempt_at=timezone.now(),
        )
        for n, name in enumerate(names)
    )


def accept(body: dict[str, Any], user: User | None = None) -> DataSubjectRequest:
    draft, parsed = dsr_body_parse(json.dumps(body).encode())
    request, _ = dsr_request_create(draft=draft, body=parsed, user=user)
    return request


def run(request: DataSubjectRequest) -> DataSubjectRequest:
    DataSubjectRequest.objects.filter(pk=request.pk).update(next_attempt_at=timezone.now())
    processing.dsr_request_process(request_id=request.pk)
    return DataSubjectRequest.objects.get(pk=request.pk)


@pytest.fixture
def two_users(output: BrazeOutput) -> tuple[InboundBatch, InboundBatch]:
    ana = user_batch(output.connection, 111, customer_id="cust-1", email="ana@example.com")
    bo = user_batch(output.connection, 222, customer_id="cust-2")
    queue(output, ana, "cust-1", ["Viewed", "Bought"])
    queue(output, bo, "cust-2", ["Viewed"])
    return ana, bo


def test_an_erasure_deletes_the_subject_at_braze_and_every_row_here(
    output: BrazeOutput, braze: FakeBraze, two_users: tuple[InboundBatch, InboundBatch]
) -> None:
    connection = output.connection
    IdentityRecord.objects.create(
        connection=connection, identity_type="email", value="ana@example.com", mpid=111
    )
    issue = MappingIssue.objects.create(
        connection=connection,
        output=output,
        kind="invalid_value",
        field_path="x",
        action="dropped_field",
        example_value="ana@example.com",
        count=3,
        first_seen=timezone.now(),
        last_seen=timezone.now(),
        sample_event={"to": "cust-1"},
    )
    subject = {"email": {"value": "ana@example.com", "encoding": "raw"}}
    done = run(accept(erasure(subject_identities=subject)))

    assert done.status == "completed", done.status_reason
    assert [(d["kind"], d["id"]) for d in braze.deleted_users()] == [("external_ids", "cust-1")]
    assert list(Delivery.objects.values_list("user_key", flat=True)) == ["cust-2"]
    assert list(InboundBatch.objects.values_list("payload__mpid", flat=True)) == [222]
    assert not IdentityRecord.objects.exists()
    issue.refresh_from_db()
    assert (issue.example_value, issue.sample_event, issue.count) == ("", None, 3)
    result = done.results[str(connection.pk)]
    assert result["braze_deleted"] == 1
    assert result["erased_here"]["outbox rows"] == 2
    assert (done.identities, done.keys, done.results["identities_given"]) == ([], {}, 1)


def test_an_erasure_finds_the_anonymous_user_the_web_sdk_aliased_to_the_subject(
    output: BrazeOutput, braze: FakeBraze, two_users: tuple[InboundBatch, InboundBatch]
) -> None:
    connection = output.connection
    before_login = user_batch(connection, 333)  # the visitor's anonymous events
    queue(output, before_login, "333", ["Browsed"])
    IdentityRecord.objects.create(
        connection=connection, identity_type="customerid", value="cust-1", mpid=111
    )
    IdentityRecord.objects.create(
        connection=connection, identity_type="device_application_stamp", value="d-1", mpid=333
    )
    window = {"starts_at": timezone.now(), "ends_at": timezone.now()}
    IdentityAlias.objects.create(
        connection=connection, request_id="r-1", source_mpid=333, destination_mpid=111, **window
    )
    IdentityAlias.objects.create(
        connection=connection, request_id="r-2", source_mpid=444, destination_mpid=222, **window
    )
    done = run(accept(erasure()))

    assert done.status == "completed", done.status_reason
    assert list(InboundBatch.objects.values_list("payload__mpid", flat=True)) == [222]
    assert list(Delivery.objects.values_list("user_key", flat=True)) == ["cust-2"]
    assert not IdentityRecord.objects.exists()
    assert list(IdentityAlias.objects.values_list("request_id", flat=True)) == ["r-2"]
    assert done.results[str(connection.pk)]["erased_here"]["identity aliases"] == 1


def test_an_anonymous_user_is_deleted_by_their_user_alias(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    output.settings = {**output.settings, "anonymous_users": "user_alias"}
    output.save()
    user_batch(output.connection, 333)
    subject = {"mpid": {"value": "333", "encoding": "raw"}}
    assert run(accept(erasure(subject_identities=subject))).status == "completed"
    assert braze.deleted_users() == [
        {
            "request": 1,
            "kind": "user_aliases",
            "id": {"alias_name": "333", "alias_label": "mparticle_id"},
        }
    ]
    assert not InboundBatch.objects.exists()


def test_more_than_50_ids_go_to_braze_in_requests_of_50(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    BrazeOutput.objects.filter(pk=output.pk).update(external_identity_type="mpid")
    for mpid in range(1, 61):  # one customer id seen under 60 devices' MPIDs
        user_batch(output.connection, mpid, customer_id="cust-1")
    assert run(accept(erasure())).status == "completed"
    sizes = [r["counts"]["external_ids"] for r in braze.requests() if r["path"] == "/users/delete"]
    assert sizes == [50, 10]
    assert len(braze.deleted_users()) == 60


@pytest.mark.parametrize("status", [404])
def test_braze_finding_nothing_to_delete_counts_as_done(
    output: BrazeOutput, braze: FakeBraze, two_users: Any, status: int
) -> None:
    braze.set_faults(next_statuses=[status])
    assert run(accept(erasure())).status == "completed"


def test_a_5xx_is_tried_again_later_and_then_completes(
    output: BrazeOutput, braze: FakeBraze, two_users: Any
) -> None:
    braze.set_faults(next_statuses=[503])
    waiting = run(accept(erasure()))
    assert waiting.status == "in_progress"
    assert waiting.next_attempt_at is not None
    assert waiting.next_attempt_at > timezone.now()
    assert Delivery.objects.filter(user_key="cust-1").count() == 2  # nothing erased yet
    assert run(waiting).status == "completed"
    assert [d["id"] for d in braze.deleted_users()] == ["cust-1"]


def test_a_key_without_users_delete_fails_the_request_with_the_reason(
    output: BrazeOutput, braze: FakeBraze, two_users: Any
) -> None:
    braze.set_key(REST_KEY, ("users.track",))
    failed = run(accept(erasure()))
    assert failed.status == "failed"
    assert "403" in failed.status_reason
    assert "users.delete permission" in failed.status_reason


def test_a_row_already_claimed_by_a_worker_is_never_sent_once_the_erasure_is_accepted(
    output: BrazeOutput, braze: FakeBraze, two_users: Any, no_linger: None
) -> None:
    claim = outbox.outbox_claim_batch(output=output)
    assert {row.user_key for row in claim.rows} == {"cust-1", "cust-2"}
    accept(erasure())  # accepted while the worker holds the rows, before it sends them
    with (
        BrazeTransport(output.rest_host, REST_KEY) as transport,
        ThreadPoolExecutor(2) as pool,
    ):
        sender = Sender(output, transport, workspace_of(output), time.monotonic() + 30, pool)
        sender.claim = claim
        forwarder.send_rows(sender, claim.rows, whole_claim=claim)
    forwarder.output_forward(output_id=output.pk, budget_seconds=10)
    sent = [o["body"]["external_id"] for o in braze.accepted_objects()]
    assert sent == ["cust-2"]
    assert not Delivery.objects.filter(user_key="cust-1").exists()


def test_callbacks_report_each_status_in_order_signed_as_standard_webhooks(
    output: BrazeOutput, braze: FakeBraze, two_users: Any
) -> None:
    with receiver(200) as got:
        request = accept(erasure(status_callback_urls=[got.url("/dsr")]))
        callbacks.dsr_callbacks_send(request_id=request.pk)
        run(request)
        callbacks.dsr_callbacks_send(request_id=request.pk)
    verifier = Webhook(settings.MPBRAZE_DSR_CALLBACK_SECRET)
    bodies = [verifier.verify(r.body, r.headers) for r in got.requests]
    assert [b["request_status"] for b in bodies] == ["pending", "in_progress", "completed"]
    assert {b["subject_request_id"] for b in bodies} == {str(request.subject_request_id)}
    assert bodies[-1]["status_callback_url"] == got.url("/dsr")


def test_a_failing_callback_is_retried_later(output: BrazeOutput, two_users: Any) -> None:
    with receiver(500) as got:
        request = accept(erasure(status_callback_urls=[got.url("/dsr")]))
        callbacks.dsr_callbacks_send(request_id=request.pk)
    owed = request.callbacks.get()
    assert (owed.state, owed.attempts, owed.last_status_code) == ("pending", 1, 500)
    assert owed.next_attempt_at > timezone.now() + timedelta(seconds=3)


def test_a_completed_erasure_fires_the_dsr_completed_hook_naming_no_one(
    output: BrazeOutput, braze: FakeBraze, two_users: Any, ops: User
) -> None:
    hook_subscription_create(user=ops, target_url="https://ops.example/h", events=["dsr.completed"])
    run(accept(erasure()))
    event = HookEvent.objects.get(type="dsr.completed")
    assert event.payload["data"]["connections"][0]["braze_deleted"] == 1
    assert "cust-1" not in event.body


def test_the_failure_group_sample_of_the_subject_is_forgotten(
    output: BrazeOutput, braze: FakeBraze, two_users: Any
) -> None:
    now = timezone.now()
    group = FailureGroup.objects.create(
        connection=output.connection,
        output=output,
        key="k",
        kind="rejected",
        title="t",
        first_seen=now,
        last_seen=now,
        count=4,
        sample_user="cust-1",
        sample_message="m",
    )
    run(accept(erasure()))
    group.refresh_from_db()
    assert (group.sample_user, group.count) == ("", 4)


def test_a_request_that_is_done_is_not_processed_twice(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    request = run(accept(erasure(subject_request_id=str(uuid.uuid4()))))
    assert request.status == "completed"
    processing.dsr_request_process(request_id=request.pk)
    assert DataSubjectRequest.objects.get(pk=request.pk).attempts == 1


def test_an_erasure_deletes_the_subjects_profiles_and_what_outputs_know_of_their_mpids(
    output: BrazeOutput, braze: FakeBraze, two_users: tuple[InboundBatch, InboundBatch]
) -> None:
    connection = output.connection
    now = timezone.now()
    for mpid, external_id in ((111, "cust-1"), (None, "cust-1"), (222, "cust-2")):
        UserProfile.objects.create(
            connection=connection,
            mpid=mpid,
            external_id=external_id,
            attributes={"plan": "gold"},
            updated_at=now,
        )
    for anonymous, external_id in (("111", "cust-1"), ("222", "cust-2")):
        AnonymousProfile.objects.create(output=output, mpid=anonymous, external_id=external_id)
    done = run(accept(erasure()))

    assert done.status == "completed", done.status_reason
    assert list(UserProfile.objects.values_list("external_id", flat=True)) == ["cust-2"]
    assert list(AnonymousProfile.objects.values_list("mpid", flat=True)) == ["222"]
    assert done.results[str(connection.pk)]["erased_here"]["UserProfile"] == 2
