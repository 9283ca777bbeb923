"""Anonymous → known end to end on real parts: the mParticle SDK (or the inbound API over HTTP)
posts an anonymous user's events, then the same MPID after the login; Celery workers map and
forward; the fake Braze sees the alias's objects, one ``/users/identify``, then the known
user's objects. Also with the whole worker killed mid-run, and with two workers on a backlog.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mparticle
import pytest

from connections import lifecycle, services
from connections.models import (
    AnonymousProfile,
    Connection,
    Delivery,
    DeliveryAttempt,
    InboundBatch,
)
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import REST_KEY, braze_connection
from tests.connections.identify_helpers import (
    IDENTIFY_PERMISSIONS,
    anonymous_batch,
    known_batch,
    send_anonymous_users_as_alias,
)
from tests.reliability.conftest import WorkerProcess, wait_until
from tests.reliability.harness import (
    StartWeb,
    StartWorker,
    own_redis,  # noqa: F401  (fixture)
    post_bulk,
    start_fault_worker,  # noqa: F401  (fixture)
    start_web_server,  # noqa: F401  (fixture)
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
FIRST_MPID = 8_100_000_000
SHORT_LEASE = {  # as the worker fault tests: a dead worker's claims come back within seconds
    "MPBRAZE_TASK_TIME_LIMIT_SECONDS": "10",
    "MPBRAZE_FORWARD_BUDGET_SECONDS": "5",
    "MPBRAZE_OUTBOX_LEASE_SECONDS": "11",
    "MPBRAZE_SWEEP_SECONDS": "1",
}


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: IDENTIFY_PERMISSIONS}) as fake:
        yield fake


def alias_connection(braze: FakeBraze) -> tuple[Connection, str]:
    connection, secret = services.connection_create(name="Merges")
    send_anonymous_users_as_alias(braze_connection(connection, braze.url))
    return connection, secret


def drained() -> bool:
    return not Delivery.objects.filter(status__in=("queued", "sending")).exists()


def timeline(braze: FakeBraze) -> dict[str, list[tuple[int, str, str]]]:
    """Per MPID, what Braze accepted in request order: ``(request, kind, what)``, the alias's
    objects and the known user's (customer ids are ``c-<mpid>``) under the same MPID."""
    users: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for item in sorted(braze.accepted_objects(), key=lambda o: (o["request"], o["index"])):
        body = item["body"]
        if item["kind"] == "identify":
            mpid, what = body["user_alias"]["alias_name"], f"identify {body['external_id']}"
        elif "user_alias" in body:
            mpid, what = body["user_alias"]["alias_name"], f"alias {body.get('name', 'attrs')}"
        else:
            mpid, what = body["external_id"].removeprefix("c-"), f"known {body.get('name')}"
        users[mpid].append((item["request"], item["kind"], what))
    return users


def unknown_outcome_identifies() -> dict[str, int]:
    """Per MPID, identify sends whose outcome is unknown (a worker killed mid-request): each
    may have reached Braze, so the identify may be there once more."""
    counts: dict[str, int] = defaultdict(int)
    for attempt in DeliveryAttempt.objects.filter(outcome="unknown"):
        for row in attempt.deliveries.filter(kind="identify"):
            counts[row.body["user_alias"]["alias_name"]] += 1
    return counts


def assert_merged_in_order(braze: FakeBraze, mpids: list[int], *, known_events: int) -> None:
    """For each user: the alias's objects, then the identify, then every known object; one
    identify row, sent, and one copy at Braze (two only after an unknown-outcome send)."""
    users, unknown = timeline(braze), unknown_outcome_identifies()
    for mpid in map(str, mpids):
        seen = users[mpid]
        identifies = [request for request, kind, _ in seen if kind == "identify"]
        assert 1 <= len(identifies) <= 1 + unknown[mpid], (mpid, seen)
        first_identify = identifies[0]
        alias = [request for request, _kind, what in seen if what.startswith("alias")]
        known = [request for request, _kind, what in seen if what.startswith("known")]
        assert alias
        assert max(alias) < first_identify, (mpid, seen)
        assert len(known) >= known_events
        assert first_identify < min(known), (mpid, seen)
    rows = Delivery.objects.filter(kind="identify")
    assert sorted(rows.values_list("user_key", flat=True)) == sorted(f"c-{m}" for m in mpids)
    assert set(rows.values_list("status", flat=True)) == {"sent"}
    assert AnonymousProfile.objects.filter(identified_at__isnull=False).count() == len(mpids)


def sdk_batch(mpid: int, customer_id: str | None, names: list[str]) -> Any:
    batch = mparticle.Batch(environment="production")
    batch.mpid = mpid
    if customer_id is not None:
        batch.user_identities = mparticle.UserIdentities(customerid=customer_id)
    batch.events = [mparticle.AppEvent(name, "other") for name in names]
    return batch


def test_an_anonymous_user_who_logs_in_is_merged_at_braze_before_their_known_events(
    start_worker: Callable[..., WorkerProcess],
    sdk_client: Callable[[str, str], Any],
    braze: FakeBraze,
) -> None:
    connection, secret = alias_connection(braze)
    api = sdk_client(connection.inbound_key, secret)
    start_worker()
    mpid = FIRST_MPID
    api.upload_events(sdk_batch(mpid, None, ["Browse", "Add to cart"]))
    wait_until(lambda: len(braze.accepted_objects()) == 3, timeout=30, what="the alias's objects")
    api.upload_events(sdk_batch(mpid, f"c-{mpid}", ["Checkout"]))
    api.upload_events(sdk_batch(mpid, f"c-{mpid}", ["Pay"]))
    wait_until(lambda: len(braze.accepted_objects()) == 6, timeout=30, what="all 6 at Braze")
    wait_until(drained, timeout=30, what="every row finished")

    assert [(kind, what) for _, kind, what in timeline(braze)[str(mpid)]] == [
        ("attributes", "alias attrs"),
        ("events", "alias Browse"),
        ("events", "alias Add to cart"),
        ("identify", f"identify c-{mpid}"),
        ("events", "known Checkout"),
        ("events", "known Pay"),
    ]
    assert_merged_in_order(braze, [mpid], known_events=2)
    [request] = [r for r in braze.requests() if r["path"] == "/users/identify"]
    assert (request["status"], request["counts"]) == (201, {"aliases_to_identify": 1})


# --- Killed workers and a backlog (PostgreSQL, a private Redis) ---------------------------------


def post_users(web_url: str, connection: Connection, secret: str, mpids: list[int]) -> None:
    """Each user's anonymous batch, then their login batch, 10 batches a request."""
    batches = [anonymous_batch(f"Browse {m}", f"Look {m}", mpid=m) for m in mpids]
    batches += [known_batch(f"c-{m}", f"Checkout {m}", f"Pay {m}", mpid=m) for m in mpids]
    for start in range(0, len(batches), 10):
        post = post_bulk(web_url, connection.inbound_key, secret, batches[start : start + 10])
        assert post.status == 202, post


def identify_in_flight() -> bool:
    return DeliveryAttempt.objects.filter(outcome="pending", deliveries__kind="identify").exists()


def alias_sends_in_flight() -> bool:
    """The alias's objects are being sent and no identify was tried yet."""
    started = DeliveryAttempt.objects.filter(deliveries__kind="identify").exists()
    return DeliveryAttempt.objects.filter(outcome="pending").exists() and not started


@pytest.mark.parametrize(
    ("moment", "kill_when"),
    [("sending the alias's objects", alias_sends_in_flight), ("identifying", identify_in_flight)],
)
def test_the_identify_goes_once_and_in_order_when_the_whole_worker_is_killed_mid_run(
    start_fault_worker: StartWorker,  # noqa: F811
    start_web_server: StartWeb,  # noqa: F811
    braze: FakeBraze,
    tmp_path: Path,
    moment: str,
    kill_when: Callable[[], bool],
) -> None:
    connection, secret = alias_connection(braze)
    braze.set_faults(latency_ms=400)  # slow answers: the kill finds requests in flight
    env = {**SHORT_LEASE, "MPBRAZE_LOCAL_DIR": str(tmp_path / "local")}
    web = start_web_server(env=env)
    mpids = [FIRST_MPID + n for n in range(40)]
    post_users(web.url, connection, secret, mpids)
    first = start_fault_worker("w1", concurrency=2, beat=True, env=env)
    wait_until(kill_when, timeout=30, what=f"the worker {moment}")
    first.kill_all()  # kill -9 of the worker and its pool, mid-request
    held = Delivery.objects.filter(status="sending").count()
    start_fault_worker("w1", concurrency=2, beat=True, env=env)
    wait_until(drained, timeout=90, what="every row finished after the kill")

    unknown = unknown_outcome_identifies()
    print(f"\nkilled {moment} with {held} rows held; {len(unknown)} identifies of unknown outcome")
    assert held > 0
    assert_merged_in_order(braze, mpids, known_events=2)
    assert not Delivery.objects.exclude(status="sent").exists()
    copies = len(braze.accepted_objects("identify"))
    if kill_when is alias_sends_in_flight:  # never tried before the kill: exactly once
        assert (unknown, copies) == ({}, len(mpids))
    else:  # the killed requests may have reached Braze: sent again (an identify is idempotent)
        assert unknown  # the identifies in flight at the kill
        assert set(unknown) <= set(map(str, mpids))
        assert len(mpids) <= copies <= len(mpids) + sum(unknown.values())


def test_two_workers_on_a_backlog_identify_each_user_once_before_their_known_objects(
    start_fault_worker: StartWorker,  # noqa: F811
    start_web_server: StartWeb,  # noqa: F811
    braze: FakeBraze,
    tmp_path: Path,
) -> None:
    connection, secret = alias_connection(braze)
    braze.set_faults(latency_ms=50)
    # Small claims: the two workers forward the backlog side by side, claim after claim.
    env = {
        **SHORT_LEASE,
        "MPBRAZE_LOCAL_DIR": str(tmp_path / "local"),
        "MPBRAZE_OUTBOX_CLAIM_SIZE": "150",
    }
    web = start_web_server(env=env)
    mpids = [FIRST_MPID + n for n in range(120)]
    lifecycle.connection_pause(connection=connection, reason="Holding the backlog")
    post_users(web.url, connection, secret, mpids)  # the backlog: 240 batches, 840 rows
    workers = [
        start_fault_worker("w1", concurrency=2, beat=True, env=env),
        start_fault_worker("w2", concurrency=2, beat=False, env=env),
    ]
    wait_until(
        lambda: not InboundBatch.objects.exclude(status="mapped").exists(),
        timeout=60,
        what="the backlog mapped",
    )
    started = time.monotonic()
    Connection.objects.filter(pk=connection.pk).update(paused_reason="", paused_at=None)
    wait_until(drained, timeout=120, what="the backlog forwarded")  # the sweeper starts it
    expected = len(mpids) * 6  # 3 of the alias, 1 identify, 2 known events
    wait_until(lambda: len(braze.accepted_objects()) >= expected, timeout=30, what="all at Braze")
    senders = set(DeliveryAttempt.objects.values_list("worker", flat=True))
    seconds = time.monotonic() - started
    print(f"\n{len(mpids)} users merged in {seconds:.1f} s by {len(senders)} processes")

    assert {name.split("@")[0] for name in senders} == {"w1", "w2"}  # both workers forwarded
    assert_merged_in_order(braze, mpids, known_events=2)
    assert len(braze.accepted_objects("identify")) == len(mpids)  # no kill: exactly once each
    assert all(worker.alive() for worker in workers)
