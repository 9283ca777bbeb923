"""End to end on real parts: the mParticle SDK posts, Celery workers map and forward, and a
fake Braze HTTP server receives. PostgreSQL and Redis as in production."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import mparticle
import pytest

from connections import lifecycle, services
from connections.models import Connection, Delivery, DeliveryAttempt
from connections.rules.validation import OutputDraft
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import (
    REST_KEY,
    braze_connection,
    event,
    objects_in,
    queue_rows,
)
from tests.reliability.conftest import WorkerProcess, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Start = Callable[..., WorkerProcess]


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as fake:
        yield fake


@pytest.fixture
def pipeline(braze: FakeBraze, sdk_client: Callable[[str, str], Any]) -> tuple[Connection, Any]:
    connection, secret = services.connection_create(name="Pipeline")
    braze_connection(connection, braze.url)
    return connection, sdk_client(connection.inbound_key, secret)


def sdk_batch(customer_id: str, events: int, start_ms: int = 1_764_300_000_000) -> Any:
    batch = mparticle.Batch(environment="production")
    batch.user_identities = mparticle.UserIdentities(customerid=customer_id)
    batch.user_attributes = {"plan": "pro"}
    custom_events = []
    for n in range(events):
        item = mparticle.AppEvent(f"Played {n}", "other")
        item.timestamp_unixtime_ms = start_ms + n
        item.custom_attributes = {"position": n, "note": "x" * 300}
        custom_events.append(item)
    batch.events = custom_events
    return batch


def sent_count(braze: FakeBraze) -> Callable[[], int]:
    return lambda: len(braze.accepted_objects())


def rows_sent(count: int, **where: Any) -> None:
    """Braze records a request before the worker writes the answer back: wait for the rows
    holding ``count`` objects to be marked sent."""
    sent = Delivery.objects.filter(status="sent", **where)
    wait_until(lambda: objects_in(sent) == count, timeout=30, what=f"{count} objects marked sent")


def test_sdk_batches_arrive_at_braze_as_exact_objects(
    start_worker: Start, pipeline: tuple[Connection, Any], braze: FakeBraze
) -> None:
    connection, api = pipeline
    start_worker()
    api.upload_events(sdk_batch("customer-1", events=2))
    wait_until(lambda: sent_count(braze)() == 3, timeout=30, what="3 objects at Braze")
    objects = braze.accepted_objects()
    bodies = sorted(((o["kind"], o["body"]) for o in objects), key=lambda o: o[1].get("name", ""))
    assert bodies == [
        ("attributes", {"external_id": "customer-1", "plan": "pro"}),
        (
            "events",
            {
                "external_id": "customer-1",
                "name": "Played 0",
                "time": "2025-11-28T03:20:00.000Z",
                "properties": {"position": 0, "note": "x" * 255},
            },
        ),
        (
            "events",
            {
                "external_id": "customer-1",
                "name": "Played 1",
                "time": "2025-11-28T03:20:00.001Z",
                "properties": {"position": 1, "note": "x" * 255},
            },
        ),
    ]
    issue = connection.mapping_issues.get()
    assert (issue.kind, issue.count) == ("string_truncated", 2)


def test_2000_events_go_out_in_full_requests_but_a_last_one_per_sender(
    start_worker: Start,
    pipeline: tuple[Connection, Any],
    braze: FakeBraze,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _connection, api = pipeline
    batches = [sdk_batch(f"customer-{u}", events=100) for u in range(20)]
    for first in range(0, 20, 4):  # 4 batches of ~50 KB stay under the 256 KB request limit
        api.bulk_upload_events(batches[first : first + 4])
    # A partly filled last request waits up to the linger time for the rows mapped behind it.
    # The default (1 s) is shorter than mapping this burst takes on a loaded machine (CI's):
    # the tail then leaves partly filled because it waited its time, not because the
    # hold-back failed. Waiting longer than the mapping keeps this about the hold-back.
    monkeypatch.setenv("MPBRAZE_FORWARD_LINGER_SECONDS", "5")
    start_worker()  # a burst that arrived while the worker was busy or starting
    seconds = wait_until(lambda: sent_count(braze)() == 2020, timeout=90, what="2,020 objects")
    sizes = [sum(r["counts"].values()) for r in braze.requests() if r["status"] == 201]
    average = sum(sizes) / len(sizes)
    print(f"\n2,020 objects in {len(sizes)} requests, {average:.1f} per request, {seconds:.1f} s")
    # The burst is mapped while the worker's two processes forward it: a claim taken while
    # mapping still adds rows may end on a partly filled request, and the tail waits for the
    # linger time. 27 requests is the least; 29 keeps the mean fill at 69.7 or more.
    assert max(sizes) <= 75
    assert len([size for size in sizes if size < 75]) <= 4
    assert len(sizes) <= 29
    rows_sent(2020)


def test_a_5xx_burst_then_recovery_delivers_everything_once(
    start_worker: Start, pipeline: tuple[Connection, Any], braze: FakeBraze
) -> None:
    connection, _api = pipeline
    output = connection.outputs.get(platform="server")
    braze.set_faults(next_statuses=(503, 502, 500, 504))
    queue_rows(output, [event(f"user-{n}", name=f"E{n}") for n in range(300)])
    start_worker()
    seconds = wait_until(lambda: sent_count(braze)() >= 300, timeout=60, what="300 objects")
    names = [o["body"]["name"] for o in braze.accepted_objects()]
    retried = DeliveryAttempt.objects.filter(outcome="retry").count()
    print(f"\n300 objects delivered after {retried} failed requests in {seconds:.1f} s")
    assert sorted(names) == sorted(f"E{n}" for n in range(300))  # each exactly once
    assert retried == 4
    rows_sent(300)


def test_a_429_is_honoured_before_the_next_request(
    start_worker: Start, pipeline: tuple[Connection, Any], braze: FakeBraze
) -> None:
    connection, _api = pipeline
    braze.set_faults(next_statuses=(429,), retry_after_seconds=3)
    queue_rows(connection.outputs.get(platform="server"), [event("u1"), event("u2")])
    start_worker()
    wait_until(lambda: sent_count(braze)() == 2, timeout=30, what="2 objects")
    first, second = braze.requests()[:2]
    assert first["status"] == 429
    waited = datetime.fromisoformat(second["time"]) - datetime.fromisoformat(first["time"])
    assert waited.total_seconds() >= 2.9
    rows_sent(2, attempts=1)


def test_per_object_errors_reject_exactly_the_right_rows(
    start_worker: Start, pipeline: tuple[Connection, Any], braze: FakeBraze
) -> None:
    connection, _api = pipeline
    too_big = event("u0", blob="x" * 120_000)  # refused before sending: shifts the indexes
    bad_email = ("attributes", {"external_id": "u2", "email": "not-an-email"})
    bad_state = ("attributes", {"external_id": "u4", "push_subscribe": "maybe"})
    bodies = [too_big, event("u1"), bad_email, event("u3"), bad_state, event("u5")]
    rows = queue_rows(connection.outputs.get(platform="server"), bodies)
    start_worker()
    waiting = ("queued", "sending")
    wait_until(
        lambda: not Delivery.objects.filter(status__in=waiting).exists(),
        timeout=30,
        what="every row to be sent or rejected",
    )
    status = dict(Delivery.objects.values_list("pk", "status"))
    assert [status[row.pk] for row in rows] == [
        "rejected",
        "sent",
        "rejected",
        "sent",
        "rejected",
        "sent",
    ]
    assert sorted(o["body"]["external_id"] for o in braze.accepted_objects()) == ["u1", "u3", "u5"]


def test_a_401_pauses_and_a_key_fix_resumes_with_nothing_lost(
    start_worker: Start, pipeline: tuple[Connection, Any], braze: FakeBraze
) -> None:
    connection, _api = pipeline
    output = connection.outputs.get(platform="server")
    braze.remove_key(REST_KEY)
    queue_rows(output, [event(f"u{n}") for n in range(10)])
    start_worker()
    wait_until(lambda: Connection.objects.get().paused_reason != "", timeout=30, what="a pause")
    # The pause commits with the refused request's rows; a claim taken ahead goes back to the
    # queue a moment later, when the forwarding task stops.
    queued = Delivery.objects.filter(status="queued")
    wait_until(lambda: queued.count() == 10, timeout=10, what="all 10 rows back in the queue")
    braze.set_key("fixed-key-cccc")
    draft = OutputDraft(
        platform="server",
        api_key="fixed-key-cccc",
        braze_instance=output.braze_instance,
        custom_rest_endpoint=output.custom_rest_endpoint,
    )
    services.output_save(
        connection=connection, draft=draft, settings=output.forwarding, output=output
    )
    wait_until(lambda: sent_count(braze)() == 10, timeout=30, what="10 objects after the fix")
    rows_sent(10)


def test_two_workers_never_send_the_same_row(
    start_worker: Start, pipeline: tuple[Connection, Any], braze: FakeBraze
) -> None:
    from connections.delivery.tasks import output_forward

    connection, _api = pipeline
    output = connection.outputs.get(platform="server")
    queue_rows(output, [event(f"user-{n % 100}", name=f"E{n}") for n in range(3000)])
    braze.set_faults(latency_ms=20)
    start_worker("w1", beat=False)
    start_worker("w2", beat=False)
    for _ in range(8):
        output_forward.delay(output.pk)
    wait_until(lambda: sent_count(braze)() >= 3000, timeout=90, what="3,000 objects")
    names = [o["body"]["name"] for o in braze.accepted_objects()]
    assert len(names) == len(set(names)) == 3000


def test_a_connectivity_check_runs_on_a_worker_and_a_passing_one_resumes_and_drains(
    start_worker: Start, braze: FakeBraze
) -> None:
    from connections.connectivity.models import ConnectivityCheck
    from connections.connectivity.services import connection_test_connectivity

    connection, _secret = services.connection_create(name="Checked")
    server = braze_connection(connection, braze.url)
    queue_rows(server, [event(f"u{n}") for n in range(10)])
    lifecycle.connection_pause(connection=connection, reason="Braze answered 401")
    start_worker()
    braze.remove_key(REST_KEY)
    [failing] = [
        c for c in connection_test_connectivity(connection=connection) if c.output == server
    ]
    done = ConnectivityCheck.objects.filter(pk=failing.pk).exclude(outcome="pending")
    wait_until(done.exists, timeout=30, what="the check to finish on the worker")
    assert done.get().summary.startswith("API key rejected by Braze (401)")
    connection.refresh_from_db()
    assert connection.paused_reason == "Braze answered 401"

    braze.set_key(REST_KEY)  # the key is fixed at Braze; test again
    [passing] = [
        c for c in connection_test_connectivity(connection=connection) if c.output == server
    ]
    assert passing.pk != failing.pk
    rows_sent(10)  # resumed on proof, and what waited drained
    assert ConnectivityCheck.objects.get(pk=passing.pk).outcome == "passed"
