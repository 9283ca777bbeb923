"""Fault injection on the workers and on Braze (``reliability_security.md`` §5, rows 1, 2, 8,
9 and 11): real Celery worker processes on the test's own Redis, PostgreSQL, the product
under gunicorn taking batches over HTTP, and a fake Braze.

Every test ends with the ledger of what the inbound API accepted against what Braze
accepted and what was dead-lettered: nothing missing, and duplicates only from sends whose
outcome is unknown (a worker lost between request and answer).
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from connections import services
from connections.delivery.models import ForwardSchedule
from connections.models import Connection, Delivery, DeliveryAttempt, InboundBatch
from devtools.fakebraze import FakeBraze, FakeBrazeConfig
from devtools.fakebraze.config import normalise_keys
from devtools.fakebraze.control import CONTROL_PREFIX, handle_control
from devtools.fakebraze.handler import FakeBrazeHandler, FakeBrazeHTTPServer
from devtools.fakebraze.state import FakeBrazeState
from devtools.fakebraze.track import handle_braze
from devtools.fakebraze.wire import message
from tests.connections.delivery_helpers import REST_KEY, braze_connection, objects_in
from tests.reliability.conftest import wait_until
from tests.reliability.harness import (
    Ledger,
    Poster,
    StartWeb,
    StartWorker,
    WebServer,
    assert_all_answered,
    assert_balanced,
    event_batch,
    own_redis,  # noqa: F401  (fixture)
    post_bulk,
    reconcile,
    start_fault_worker,  # noqa: F401  (fixture)
    start_web_server,  # noqa: F401  (fixture)
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REQUEST_OBJECTS = 75  # Braze's combined cap per /users/track request
IN_FLIGHT = 12  # MPBRAZE_FORWARD_CONCURRENCY's default: requests a process keeps in flight
SWEEP_SECONDS = 1.0
TIME_LIMIT_SECONDS = 10
LEASE_SECONDS = 11  # the shortest lease that outlives the task's hard time limit
# Short, valid timings: budget < 0.8 x time limit < time limit < lease; sweep every second.
SHORT_LEASE = {
    "MPBRAZE_TASK_TIME_LIMIT_SECONDS": str(TIME_LIMIT_SECONDS),
    "MPBRAZE_FORWARD_BUDGET_SECONDS": "5",
    "MPBRAZE_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
    "MPBRAZE_SWEEP_SECONDS": str(SWEEP_SECONDS),
}


# --- Set-up --------------------------------------------------------------------------------


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as fake:
        yield fake


def own_dir(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """``env`` with the processes' local state (beat's schedule) in this test's own folder,
    never shared with another test or a concurrent run (one folder: one host)."""
    return {**env, "MPBRAZE_LOCAL_DIR": str(tmp_path / "local")}


def connect(braze_url: str) -> tuple[Connection, str]:
    """A connection whose Server output points at the fake; returns it and its secret."""
    connection, secret = services.connection_create(name="Faults")
    braze_connection(connection, braze_url)
    return connection, secret


def poster_for(web: WebServer, connection: Connection, secret: str) -> Poster:
    """20 events a request: 5 batches (one user each) of 4 events."""
    return Poster(web.url, connection.inbound_key, secret, batches_per_request=5)


def wait_drained(expected: int, *, timeout: float) -> float:
    """Every accepted event mapped into a row, and no row left queued or sending."""

    def drained() -> bool:
        if InboundBatch.objects.exclude(status="mapped").exists():
            return False
        if Delivery.objects.filter(status__in=("queued", "sending")).exists():
            return False
        return objects_in(Delivery.objects.all()) >= expected

    try:
        return wait_until(drained, timeout=timeout, what=f"{expected} rows mapped and finished")
    except pytest.fail.Exception:
        print(f"\nnot drained: {outbox_state()}")
        raise


def outbox_state() -> str:
    """What is left where: for the message of a failed wait."""
    now = timezone.now()
    batches = Counter(InboundBatch.objects.values_list("status", flat=True))
    rows = Counter(Delivery.objects.values_list("status", flat=True))
    due = Delivery.objects.filter(status="queued").order_by("next_attempt_at").first()
    attempts = Counter(DeliveryAttempt.objects.values_list("outcome", flat=True))
    schedules = [
        (s.output_id, s.due_at and (s.due_at - now).total_seconds(), s.published_at)
        for s in ForwardSchedule.objects.all()
    ]
    soonest = due and (due.next_attempt_at - now).total_seconds()
    return (
        f"batches {dict(batches)}, rows {dict(rows)}, soonest queued row due in {soonest} s, "
        f"attempts {dict(attempts)}, forward schedules (output, due in s, published) {schedules}"
    )


def unknown_objects() -> int:
    """Objects in sends whose outcome is unknown: the most Braze may have received twice."""
    unknown = DeliveryAttempt.objects.filter(outcome="unknown")
    return sum(unknown.values_list("object_count", flat=True))


def worker_pid(attempt: DeliveryAttempt) -> int:
    """The pool process that made the attempt (``"w1@host pid 123"``)."""
    return int(attempt.worker.rsplit("pid ", 1)[1])


def fake_time(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["time"])


def request_objects(record: dict[str, Any]) -> int:
    return sum((record["counts"] or {}).values())


def check_ledger(expected: set[str], braze: FakeBraze, started: float, name: str) -> Ledger:
    """Print and assert the ledger: balanced, duplicates only from unknown-outcome sends."""
    ledger = reconcile(expected, braze)
    print(f"\n{name}: {ledger.line()} in {time.monotonic() - started:.1f} s")
    assert_balanced(ledger, max_duplicates=unknown_objects())
    assert not DeliveryAttempt.objects.filter(outcome="pending").exists(), "attempts left open"
    assert not Delivery.objects.filter(status="sending").exists(), "rows left sending"
    return ledger


def attempts_by_row() -> dict[int, list[tuple[datetime, str]]]:
    """Each row's attempts, oldest first: ``(started_at, outcome)``."""
    links = DeliveryAttempt.deliveries.through.objects.values_list(
        "delivery_id", "deliveryattempt__started_at", "deliveryattempt__outcome"
    )
    rows: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for delivery_id, started_at, outcome in links:
        rows[delivery_id].append((started_at, outcome))
    for attempts in rows.values():
        attempts.sort()
    return rows


# --- 1. kill -9 of a pool process in the middle of a slow send --------------------------------


def test_a_pool_process_killed_mid_send_costs_at_most_its_requests_in_flight_in_duplicates(
    start_fault_worker: StartWorker,  # noqa: F811
    start_web_server: StartWeb,  # noqa: F811
    braze: FakeBraze,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    connection, secret = connect(braze.url)
    braze.set_faults(latency_ms=2000)  # Braze holds every answer for 2 s
    env = own_dir(tmp_path, {**SHORT_LEASE, "MPBRAZE_OUTBOX_CLAIM_SIZE": "150"})  # 2 claims at once
    web = start_web_server(env=env)
    worker = start_fault_worker("w1", concurrency=2, beat=True, env=env)
    poster = poster_for(web, connection, secret)
    assert_all_answered(poster.post_many(15), status=202, within=5)  # 300 events

    def accepted_names() -> set[str]:
        return {o["body"]["name"] for o in braze.accepted_objects("events")}

    def in_flight() -> DeliveryAttempt | None:
        """A pending attempt whose objects Braze already took (it is sleeping its 2 s)."""
        accepted = accepted_names()
        for attempt in DeliveryAttempt.objects.filter(outcome="pending").order_by("pk"):
            names = set(attempt.deliveries.values_list("event_name", flat=True))
            if names and names <= accepted:
                return attempt
        return None

    wait_until(lambda: in_flight() is not None, timeout=20, what="a send Braze is answering")
    victim = in_flight()
    assert victim is not None
    pid = worker_pid(victim)
    assert pid in worker.child_pids()
    worker.kill_child(pid)
    killed_at = time.monotonic()
    worker.wait_children(2, without={pid}, timeout=10)
    assert_all_answered(poster.post_many(5), status=202, within=5)  # 100 more after the kill

    wait_until(
        lambda: DeliveryAttempt.objects.get(pk=victim.pk).outcome != "pending",
        timeout=LEASE_SECONDS + 15,
        what="the killed send's attempt to be closed",
    )
    recovered = time.monotonic() - killed_at
    victim.refresh_from_db()
    print(f"\nkilled send of {victim.object_count} objects closed after {recovered:.1f} s")
    assert victim.outcome == "unknown"
    assert victim.finished_at is not None
    assert recovered <= LEASE_SECONDS + SWEEP_SECONDS + 3  # by the sweeper, right after the lease

    wait_drained(len(poster.accepted), timeout=40)
    ledger = check_ledger(poster.accepted, braze, started, "pool process killed")
    assert ledger.accepted == 400
    assert ledger.dead == 0
    # The unknown outcomes are the killed process's requests in flight, and only those.
    unknown = DeliveryAttempt.objects.filter(outcome="unknown")
    assert victim.pk in set(unknown.values_list("pk", flat=True))
    assert {attempt.worker for attempt in unknown} == {victim.worker}
    assert unknown.count() <= IN_FLIGHT
    assert ledger.duplicates <= sum(a.object_count for a in unknown)
    assert not Delivery.objects.exclude(status="sent").exists()
    # The killed request's rows were sent again and are now sent, under a later attempt.
    resent = Delivery.objects.filter(http_attempts=victim)
    assert objects_in(resent) == victim.object_count
    assert all(row.status == "sent" and row.http_attempts.count() == 2 for row in resent)


# --- 2. kill -9 of the whole worker mid-load, then a new worker --------------------------------


def test_the_whole_worker_killed_mid_load_and_a_new_one_delivers_everything(
    start_fault_worker: StartWorker,  # noqa: F811
    start_web_server: StartWeb,  # noqa: F811
    braze: FakeBraze,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    connection, secret = connect(braze.url)
    braze.set_faults(latency_ms=500)
    env = own_dir(tmp_path, {**SHORT_LEASE, "MPBRAZE_OUTBOX_CLAIM_SIZE": "150"})
    web = start_web_server(env=env)
    first = start_fault_worker("w1", concurrency=2, beat=True, env=env)
    poster = poster_for(web, connection, secret)

    with poster.running(interval=0.1):
        wait_until(
            lambda: (
                len(braze.requests()) >= 3
                and DeliveryAttempt.objects.filter(outcome="pending").exists()
            ),
            timeout=20,
            what="sends under way",
        )
        first.kill_all()
        killed_at = time.monotonic()
        now = timezone.now()
        held = dict(Delivery.objects.filter(status="sending").values_list("pk", "lease_until"))
        open_attempts = set(
            DeliveryAttempt.objects.filter(outcome="pending").values_list("pk", flat=True)
        )
        assert held
        assert open_attempts
        assert all(lease is not None and lease > now for lease in held.values())  # live claims
        # The same worker restarted on the same host: same name, same beat schedule file.
        start_fault_worker("w1", concurrency=2, beat=True, env=env)
        time.sleep(3)  # keep the load on while the new worker takes over
    assert_all_answered(poster.posts, status=202, within=5)

    wait_until(
        lambda: not Delivery.objects.filter(pk__in=list(held), status="sending").exists(),
        timeout=LEASE_SECONDS + 15,
        what="the dead worker's claims to be recovered",
    )
    recovered = time.monotonic() - killed_at
    print(f"\n{len(held)} rows held by the dead worker recovered after {recovered:.1f} s")
    assert recovered <= LEASE_SECONDS + SWEEP_SECONDS + 3

    wait_drained(len(poster.accepted), timeout=40)
    ledger = check_ledger(poster.accepted, braze, started, "whole worker killed")
    assert ledger.dead == 0
    # At most the requests in flight in the two pool processes at the kill.
    assert ledger.duplicates <= REQUEST_OBJECTS * len(open_attempts)
    assert len(open_attempts) <= 2 * IN_FLIGHT
    assert not Delivery.objects.exclude(status="sent").exists()
    outcomes = dict(
        DeliveryAttempt.objects.filter(pk__in=open_attempts).values_list("pk", "outcome")
    )
    assert set(outcomes.values()) == {"unknown"}, outcomes
    # No row of a dead claim was sent again before that claim's lease ran out.
    for row, attempts in attempts_by_row().items():
        if row in held:
            later = [at for at, outcome in attempts if outcome != "unknown"]
            lease = held[row]
            assert lease is not None
            assert all(at >= lease for at in later), (row, lease, later)


# --- 3. Braze 5xx and connection resets, then healthy -----------------------------------------

BACKOFF = (1.0, 2.0, 4.0)
JITTER = 0.2  # outbox.JITTER
FAILING_SECONDS = 5.0


def attempts_within(window: float, schedule: tuple[float, ...]) -> int:
    """The most attempts one row can start in ``window`` seconds with the shortest jitter."""
    count, elapsed = 1, 0.0
    while True:
        elapsed += (1 - JITTER) * schedule[min(count, len(schedule)) - 1]
        if elapsed > window:
            return count
        count += 1


def test_5xx_and_resets_then_recovery_retry_on_schedule_without_a_storm(
    start_fault_worker: StartWorker,  # noqa: F811
    start_web_server: StartWeb,  # noqa: F811
    braze: FakeBraze,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    connection, secret = connect(braze.url)
    env = own_dir(
        tmp_path, {**SHORT_LEASE, "MPBRAZE_RETRY_BACKOFF_SECONDS": ",".join(map(str, BACKOFF))}
    )
    # A reset and a 503 first, so both kinds are met whatever the draws after them (15
    # requests fail in the outage: at 30 % resets, none among them about one run in 200, as
    # happened once in CI).
    braze.set_faults(error_rate=1.0, error_status=503, reset_rate=0.3, next_statuses=("reset", 503))
    web = start_web_server(env=env)
    start_fault_worker("w1", concurrency=2, beat=True, env=env)
    poster = poster_for(web, connection, secret)
    assert_all_answered(poster.post_many(15), status=202, within=5)  # 300 events

    wait_until(lambda: len(braze.requests()) > 0, timeout=15, what="the first failing request")
    first_failure = fake_time(braze.requests()[0])
    time.sleep(FAILING_SECONDS)  # the outage lasts this long
    braze.set_faults()
    healed = timezone.now()

    wait_drained(len(poster.accepted), timeout=40)
    ledger = check_ledger(poster.accepted, braze, started, "5xx and resets")
    assert ledger.duplicates == 0
    assert unknown_objects() == 0
    assert ledger.dead == 0

    # Every request in the outage failed (503s and resets), every one after it succeeded.
    requests = braze.requests()
    failing = [r for r in requests if r["fault"] is not None]
    healthy = [r for r in requests if r["fault"] is None]
    assert max(r["seq"] for r in failing) < min(r["seq"] for r in healthy)
    assert {r["status"] for r in healthy} == {201}
    statuses = {(r["status"], r["outcome"]) for r in failing}
    assert statuses <= {(503, "answered"), (None, "reset")}, statuses
    assert {(None, "reset"), (503, "answered")} <= statuses  # both kinds were met
    window = (healed - first_failure).total_seconds()
    per_row = attempts_within(window, BACKOFF)
    rows = attempts_by_row()
    rows_ever = Delivery.objects.count()
    objects_ever = objects_in(Delivery.objects.all())
    failed = DeliveryAttempt.objects.filter(outcome="retry")
    failed_objects = sum(failed.values_list("object_count", flat=True))
    firsts = {attempts[0][0] for attempts in rows.values()}
    first_round = failed.filter(started_at__in=firsts).count()
    print(
        f"outage {window:.1f} s: {len(failing)} failed requests ({failed_objects} objects) for"
        f" {rows_ever} rows first sent in {first_round} requests; at most {per_row} tries a row"
    )
    # No retry storm: each row is tried at most as often as its schedule allows in the
    # outage, so the outage costs at most that many rounds of the first requests.
    assert failed.count() == len(failing)  # each request to Braze recorded, none unrecorded
    failed_per_row = [sum(1 for _, outcome in a if outcome == "retry") for a in rows.values()]
    assert max(failed_per_row) <= per_row
    assert failed_objects <= objects_ever * per_row
    assert len(failing) <= first_round * per_row

    # Retries follow the schedule: the n-th failure waits BACKOFF[n] (+-20 %, plus a sweep).
    gaps: list[tuple[int, float]] = []
    for attempts in rows.values():
        for n, ((at, outcome), (then, _)) in enumerate(itertools.pairwise(attempts)):
            assert outcome == "retry"
            gaps.append((n, (then - at).total_seconds()))
    assert gaps
    for n, gap in gaps:
        base = BACKOFF[min(n, len(BACKOFF) - 1)]
        assert (1 - JITTER) * base - 0.05 <= gap <= (1 + JITTER) * base + SWEEP_SECONDS + 1.5, (
            n,
            gap,
        )
    assert {n for n, _ in gaps} >= {0, 1}  # at least two steps of the schedule were used
    # Each row counts exactly the attempts it travelled in; every row met the outage.
    counted = dict(Delivery.objects.values_list("pk", "attempts"))
    assert counted == {pk: len(attempts) for pk, attempts in rows.items()}
    assert min(failed_per_row) >= 1
    assert len(rows) == rows_ever


# --- 4. 429 with Retry-After ------------------------------------------------------------------

RETRY_AFTER = 3


def test_a_429_holds_every_process_until_retry_after_without_spending_attempts(
    start_fault_worker: StartWorker,  # noqa: F811
    start_web_server: StartWeb,  # noqa: F811
    braze: FakeBraze,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    connection, secret = connect(braze.url)
    env = own_dir(tmp_path, {**SHORT_LEASE, "MPBRAZE_OUTBOX_CLAIM_SIZE": "150"})  # both send
    braze.set_faults(latency_ms=300)
    web = start_web_server(env=env)
    start_fault_worker("w1", concurrency=2, beat=True, env=env)
    poster = poster_for(web, connection, secret)
    assert_all_answered(poster.post_many(30), status=202, within=5)  # 600 events

    def senders() -> set[str]:
        return set(
            DeliveryAttempt.objects.filter(outcome="pending").values_list("worker", flat=True)
        )

    wait_until(lambda: len(senders()) == 2, timeout=20, what="both pool processes sending")
    braze.set_faults(latency_ms=300, next_statuses=(429,), retry_after_seconds=RETRY_AFTER)

    wait_drained(len(poster.accepted), timeout=40)
    ledger = check_ledger(poster.accepted, braze, started, "429 with retry-after")
    assert ledger.duplicates == 0
    assert ledger.dead == 0

    requests = braze.requests()
    limited = [r for r in requests if r["status"] == 429]
    assert len(limited) == 1
    at = fake_time(limited[0])
    attempt = DeliveryAttempt.objects.get(outcome="rate_limited")
    answered = attempt.finished_at  # when the product had the 429 (after 300 ms latency)
    assert answered is not None
    early = [
        r
        for r in requests
        if r["seq"] > limited[0]["seq"] and fake_time(r) < at + timedelta(seconds=RETRY_AFTER)
    ]
    print(
        f"requests started within {RETRY_AFTER} s of the 429:"
        f" {[round((fake_time(r) - at).total_seconds(), 3) for r in early]}"
        f" (the 429 reached the product after {(answered - at).total_seconds():.3f} s)"
    )
    # At most the requests already in flight in both pool processes, started before the 429
    # reached the product; nothing after that until Retry-After had passed, from either.
    assert len(early) <= 2 * IN_FLIGHT, early
    assert all(fake_time(r) < answered + timedelta(seconds=0.1) for r in early), early
    assert sum(1 for r in requests if r["status"] == 201) >= 600 // REQUEST_OBJECTS
    # The rows of the refused request waited without spending a retry: one attempt each.
    waited = Delivery.objects.filter(http_attempts=attempt)
    assert objects_in(waited) == attempt.object_count > 0
    assert set(waited.values_list("status", "attempts")) == {("sent", 1)}
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    resent = DeliveryAttempt.objects.filter(deliveries__in=waited, outcome="success")
    first_resend = min(resent.values_list("started_at", flat=True))
    assert (first_resend - answered).total_seconds() >= RETRY_AFTER - 0.1


# --- 5. A poison row ----------------------------------------------------------------------------

POISON = b"POISON"
# Halving a request of 75 takes 6 failures (75, 37, 18, 9, 4, 2) before the poison stands
# alone at the 7th: a budget under 7 dead-letters its last neighbour with it. 10 leaves room
# for a failure or two at a moment when no other request of the output succeeded.
MAX_ATTEMPTS = 10


class _PoisonHandler(FakeBrazeHandler):
    """The fake Braze, except that a request holding the poison marker is answered 500."""

    def _dispatch(self) -> None:
        request = self._read_request()
        if request is None:
            return
        if request.path == "/users/track" and POISON in request.body:
            record = self.state.recorder.start(request.method, request.path)
            body = json.loads(request.body)
            record.counts = {kind: len(body.get(kind) or ()) for kind in ("attributes", "events")}
            record.status, record.fault = 500, "poison"
            self.state.recorder.finish(record)
            self._deliver(message(500))
            return
        if request.path.startswith(CONTROL_PREFIX):
            self._deliver(handle_control(self.state, request))
        else:
            self._deliver(handle_braze(self.state, request))


class _PoisonServer(FakeBrazeHTTPServer):
    def __init__(self, address: tuple[str, int], state: FakeBrazeState) -> None:
        self.state = state
        ThreadingHTTPServer.__init__(self, address, _PoisonHandler)


class PoisonBraze(FakeBraze):
    """``FakeBraze`` served by ``_PoisonHandler``."""

    def __init__(self) -> None:
        config = FakeBrazeConfig(keys=normalise_keys({REST_KEY: {"users.track"}}))
        self.server = _PoisonServer(("127.0.0.1", 0), FakeBrazeState(config))
        self.state = self.server.state
        self._thread = None


def test_a_poison_row_is_isolated_and_dead_lettered_while_the_rest_flows(
    start_fault_worker: StartWorker,  # noqa: F811
    start_web_server: StartWeb,  # noqa: F811
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    with PoisonBraze() as braze:
        connection, secret = connect(braze.url)
        env = own_dir(
            tmp_path,
            {
                **SHORT_LEASE,
                "MPBRAZE_RETRY_BACKOFF_SECONDS": "1",
                "MPBRAZE_RETRY_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            },
        )
        web = start_web_server(env=env)
        start_fault_worker("w1", concurrency=2, beat=True, env=env)
        poster = poster_for(web, connection, secret)

        # One request of 75 events (5 users x 15) with the poison in the middle.
        names = [f"P{n}" for n in range(75)]
        names[37] = "POISON-37"
        batches = [event_batch(f"p-user-{u}", names[u * 15 : (u + 1) * 15]) for u in range(5)]
        with poster.running(interval=0.2):
            answer = post_bulk(web.url, connection.inbound_key, secret, batches)
            assert answer.status == 202
            poison = Delivery.objects.filter(event_name="POISON-37")
            wait_until(
                lambda: poison.filter(status="dead").exists(),
                timeout=45,
                what="the poison row to be dead-lettered",
            )
            dead_at = timezone.now()
            time.sleep(1)  # traffic after the dead-lettering goes through too
        assert_all_answered(poster.posts, status=202, within=5)

        expected = poster.accepted | set(names)
        wait_drained(len(expected), timeout=30)
        ledger = check_ledger(expected, braze, started, "poison row")
        requests = braze.requests()

    row = poison.get()
    assert (row.status, row.attempts, row.last_status_code) == ("dead", MAX_ATTEMPTS, 500)
    # Braze refused exactly the poison's requests and nothing else.
    refused = [r for r in requests if r["fault"] == "poison"]
    sizes = [request_objects(r) for r in refused]
    tries = list(DeliveryAttempt.objects.filter(deliveries=row).order_by("started_at"))
    claims_through = set(
        DeliveryAttempt.objects.filter(outcome="success").values_list("claim_token", flat=True)
    )
    shared = ["yes" if t.claim_token in claims_through else "no" for t in tries]
    print(f"poison requests by size {sizes}; another request of its claim got through: {shared}")
    assert len(refused) == MAX_ATTEMPTS
    assert [t.object_count for t in tries] == sizes
    assert {t.outcome for t in tries} == {"retry"}
    assert {r["status"] for r in requests} == {201, 500}
    # Each failure the poison's request met while another request of the same claim got
    # through halves the size of its next request, until it stands alone.
    halvings = 0
    for n, (before, after) in enumerate(itertools.pairwise(tries), start=2):
        halvings += before.claim_token in claims_through
        cap = max(1, REQUEST_OBJECTS >> halvings)
        assert after.object_count <= cap, (
            f"try {n} of the poison went in a request of {after.object_count} objects after"
            f" {halvings} failure(s) beside accepted requests (at most {cap} expected):"
            f" sizes {sizes}, shared a claim with an accepted request: {shared}"
        )
    assert sizes[-1] == 1
    # Every other row, the 74 that first shared its request included, was delivered.
    dead = Delivery.objects.filter(status="dead").order_by("pk")
    innocent = [(r.event_name, r.attempts, r.split_depth) for r in dead.exclude(pk=row.pk)]
    assert not innocent, f"{len(innocent)} rows dead-lettered with the poison: {innocent[:10]}"
    assert set(Delivery.objects.exclude(pk=row.pk).values_list("status", flat=True)) == {"sent"}
    assert ledger.dead == 1
    assert ledger.duplicates == 0
    neighbours = set(names) - {"POISON-37"}
    assert neighbours <= {o["body"]["name"] for o in braze.accepted_objects("events")}
    # Other traffic kept flowing while the poison was retried.
    first_refusal = fake_time(refused[0])
    flowing = [r for r in requests if r["status"] == 201 and first_refusal < fake_time(r) < dead_at]
    assert len(flowing) >= 3
