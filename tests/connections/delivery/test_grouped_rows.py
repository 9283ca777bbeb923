"""A row holding a user's objects of one batch: sent whole in one request while Braze answers
its objects alike, split into rows of one object each when it does not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from connections.audit.models import FailureGroup
from connections.delivery.forwarder import output_forward
from connections.models import BrazeOutput, Delivery, DeliveryAttempt
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import event, queue_rows, queue_user_row

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_linger")]


def attributes(user: str, **values: Any) -> tuple[str, dict[str, Any]]:
    return ("attributes", {"external_id": user, **values})


def user_objects(user: str, events: int) -> list[tuple[str, dict[str, Any]]]:
    return [attributes(user, plan="pro"), *(event(user, f"E{n}") for n in range(events))]


def objects_by_status() -> dict[str, int]:
    counts = Delivery.objects.values("status").annotate(n=Sum("size"))
    return {row["status"]: row["n"] for row in counts}


def accepted_keys(braze: FakeBraze) -> list[tuple[str, str]]:
    return [
        (o["body"]["external_id"], o["body"].get("name", "attributes"))
        for o in braze.accepted_objects()
    ]


def test_a_row_of_eleven_objects_goes_whole_in_one_request_and_is_marked_sent_once(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    row = queue_user_row(output, user_objects("u1", 10))
    output_forward(output_id=output.pk)
    row.refresh_from_db()
    assert (row.status, row.size, Delivery.objects.count()) == ("sent", 11, 1)
    [request] = braze.requests()
    assert request["counts"] == {"attributes": 1, "events": 10, "purchases": 0}
    attempt = DeliveryAttempt.objects.get()
    assert attempt.object_count == 11
    assert attempt.index_map == {"attributes": [row.pk], "events": [row.pk] * 10}
    assert list(attempt.deliveries.all()) == [row]


def test_a_per_object_error_splits_the_row_and_rejects_that_object_alone(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    bad_email = attributes("u1", email="not-an-email")
    row = queue_user_row(output, [bad_email, event("u1", "Play"), event("u1", "Stop")])
    output_forward(output_id=output.pk)
    rows = list(Delivery.objects.order_by("sequence"))
    assert [(r.sequence, r.kind, r.status, r.size) for r in rows] == [
        (0, "attributes", "rejected", 1),
        (1, "events", "sent", 1),
        (2, "events", "sent", 1),
    ]
    assert (rows[0].pk, rows[0].body, rows[0].more) == (row.pk, bad_email[1], [])
    assert rows[0].error_class == "braze_object_error"
    assert [r.body["name"] for r in rows[1:]] == ["Play", "Stop"]
    assert FailureGroup.objects.get().count == 1  # one object failed, counted once
    attempt = DeliveryAttempt.objects.get()
    assert attempt.index_map == {"attributes": [rows[0].pk], "events": [rows[1].pk, rows[2].pk]}
    for each in rows:  # every object keeps the request it travelled in
        assert list(each.http_attempts.all()) == [attempt]
    assert sorted(accepted_keys(braze)) == [("u1", "Play"), ("u1", "Stop")]


def test_a_whole_request_400_bisects_a_lone_row_into_its_objects(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_faults(next_statuses=(400,))
    queue_user_row(output, user_objects("u1", 7))
    output_forward(output_id=output.pk)
    assert objects_by_status() == {"sent": 8}
    assert Delivery.objects.count() == 8  # split into its objects to be bisected
    assert DeliveryAttempt.objects.filter(outcome="split").count() == 1
    assert sorted(accepted_keys(braze)) == sorted(
        [("u1", "attributes"), *((("u1", f"E{n}")) for n in range(7))]
    )


def test_a_5xx_retries_the_row_whole(output: BrazeOutput, braze: FakeBraze) -> None:
    braze.set_faults(next_statuses=(503,))
    row = queue_user_row(output, user_objects("u1", 3))
    output_forward(output_id=output.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.size, Delivery.objects.count()) == ("queued", 1, 4, 1)


def test_a_row_past_its_retries_dies_as_one_failed_row_per_object(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_faults(next_statuses=(500,))
    queue_user_row(output, user_objects("u1", 2))
    Delivery.objects.update(created_at=timezone.now() - timedelta(hours=25))
    output_forward(output_id=output.pk)
    rows = list(Delivery.objects.order_by("sequence"))
    assert [(r.kind, r.status, r.size, r.error_class) for r in rows] == [
        ("attributes", "dead", 1, "http_5xx"),
        ("events", "dead", 1, "http_5xx"),
        ("events", "dead", 1, "http_5xx"),
    ]
    assert FailureGroup.objects.get().count == 3
    attempt = DeliveryAttempt.objects.get()
    assert all(list(r.http_attempts.all()) == [attempt] for r in rows)


def test_a_row_spread_over_two_requests_is_split_in_two_and_sent_in_order_exactly_once(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    queue_rows(output, [event("u0", "Before")])
    queue_user_row(output, user_objects("u1", 79))  # 80 objects: over 75 a request
    output_forward(output_id=output.pk)
    assert objects_by_status() == {"sent": 81}
    rows = Delivery.objects.filter(user_key="u1").order_by("sequence")
    assert [row.size for row in rows] == [74, 6]  # a row per request: as full as they go
    keys = accepted_keys(braze)
    assert len(keys) == len(set(keys)) == 81
    u1 = [name for user, name in keys if user == "u1"]
    assert u1 == ["attributes", *(f"E{n}" for n in range(79))]


def test_an_object_over_100_kb_in_a_row_is_refused_alone_and_the_rest_sent(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    too_big = event("u1", "Big", blob="x" * 120_000)
    queue_user_row(output, [attributes("u1", plan="pro"), too_big, event("u1", "Small")])
    output_forward(output_id=output.pk)
    rows = list(Delivery.objects.order_by("sequence"))
    assert [(r.kind, r.event_name, r.status, r.size, r.error_class) for r in rows] == [
        ("attributes", "", "sent", 2, ""),  # with "Small": they went in one request
        ("events", "Big", "rejected", 1, "too_large"),
    ]
    assert [held.event_name for held in rows[0].held_objects()] == ["", "Small"]
    assert sorted(accepted_keys(braze)) == [("u1", "Small"), ("u1", "attributes")]
