"""Lanes: a forwarding task sends its next claim while the last waits for Braze, within the
task's requests in flight, each user's objects still in order; on PostgreSQL and SQLite."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, cast

import pytest
from django.db import connection as db

from connections.delivery.forwarder import output_forward
from connections.delivery.lanes import Lanes
from connections.delivery.sender import Sender
from connections.models import BrazeOutput
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import event, queue_rows, statuses
from tests.services import require_postgresql

pytestmark = pytest.mark.usefixtures("no_linger")


def sent_once(braze: FakeBraze) -> Counter[tuple[str, str]]:
    """Each (user, event name) at the fake Braze, counted."""
    return Counter((o["body"]["external_id"], o["body"]["name"]) for o in braze.accepted_objects())


@pytest.mark.parametrize("lanes", [1, 2, 3])
@pytest.mark.django_db(transaction=True)
def test_each_lane_keeps_a_claim_in_flight_while_the_others_claim(
    output: BrazeOutput, braze: FakeBraze, settings: Any, lanes: int
) -> None:
    """Claims of one request each, answered in 300 ms: one lane has one request at Braze at a
    time (its next claim waits for the answer), and each lane opened adds one."""
    settings.MPBRAZE_FORWARD_LANES = lanes
    settings.MPBRAZE_OUTBOX_CLAIM_SIZE = 75
    braze.set_faults(latency_ms=300)
    queue_rows(output, [event(f"u{n}") for n in range(75 * 8)])  # 8 claims of one request
    assert output_forward(output_id=output.pk) is None
    assert statuses() == {"sent": 600}
    assert braze.peak_in_flight() == lanes  # (lanes paging at once may cut a ninth claim)
    assert set(sent_once(braze).values()) == {1}


@pytest.mark.django_db(transaction=True)
def test_lanes_share_the_tasks_requests_in_flight(
    output: BrazeOutput, braze: FakeBraze, settings: Any
) -> None:
    """Two lanes of claims of four requests, two requests in flight for the task: never
    more than two at Braze at once."""
    settings.MPBRAZE_FORWARD_LANES = 2
    settings.MPBRAZE_FORWARD_CONCURRENCY = 2
    settings.MPBRAZE_OUTBOX_CLAIM_SIZE = 300
    braze.set_faults(latency_ms=150)
    queue_rows(output, [event(f"u{n}") for n in range(300 * 4)])
    assert output_forward(output_id=output.pk) is None
    assert statuses() == {"sent": 1200}
    assert braze.peak_in_flight() == 2
    assert set(sent_once(braze).values()) == {1}


@pytest.mark.django_db(transaction=True)
def test_a_users_objects_reach_braze_in_order_across_lanes(
    output: BrazeOutput, braze: FakeBraze, settings: Any
) -> None:
    """Twelve active users, eight events each in each of two batches, among events of users
    seen once: claims of 20 objects cut through the active users, and three lanes claim at
    once, so a lane's page skips rows another lane has locked, and meets active users whose
    earlier events another lane is sending. Each active user's events arrive in the order
    they were queued, and every event once."""
    settings.MPBRAZE_FORWARD_LANES = 3
    settings.MPBRAZE_OUTBOX_CLAIM_SIZE = 20
    braze.set_faults(latency_ms=150)  # long enough for the lanes to overlap on a busy machine
    users, others = 12, 2  # each active user's event is followed by 2 of users seen once
    for part in range(2):
        bodies = []
        for n in range(8):
            for user in range(users):
                bodies.append(event(f"u{user}", f"E{part}-{n}"))
                bodies += [event(f"once-{part}-{n}-{user}-{k}") for k in range(others)]
        queue_rows(output, bodies)
    deadline = time.monotonic() + 60
    while (again := output_forward(output_id=output.pk)) is not None:
        # rows held for order: run again when asked, as the scheduled message would
        assert time.monotonic() < deadline
        time.sleep(again)
    assert statuses() == {"sent": users * (1 + others) * 8 * 2}
    assert set(sent_once(braze).values()) == {1}
    arrived: dict[str, list[str]] = {}
    for accepted in braze.accepted_objects():
        arrived.setdefault(accepted["body"]["external_id"], []).append(accepted["body"]["name"])
    expected = [f"E{part}-{n}" for part in range(2) for n in range(8)]
    assert {user: arrived[user] for user in arrived if user.startswith("u")} == {
        f"u{user}": expected for user in range(users)
    }
    if db.vendor == "postgresql":  # where a lane's page skips rows another lane has locked
        assert braze.peak_in_flight() > 1  # the lanes did overlap


@pytest.mark.django_db(transaction=True)
def test_a_lanes_database_connection_closes_with_it(
    output: BrazeOutput, braze: FakeBraze, settings: Any
) -> None:
    require_postgresql()  # counts PostgreSQL's sessions: SQLite has none
    settings.MPBRAZE_FORWARD_LANES = 3
    settings.MPBRAZE_OUTBOX_CLAIM_SIZE = 75
    braze.set_faults(latency_ms=100)
    queue_rows(output, [event(f"u{n}") for n in range(75 * 6)])

    def sessions() -> int:
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            return int(cursor.fetchone()[0])

    before = sessions()
    assert output_forward(output_id=output.pk) is None
    assert braze.peak_in_flight() == 3  # three lanes, each with a connection of its own
    assert sessions() == before


def idle_sender() -> Sender:
    """A sender for ``Lanes`` alone: the forward functions below never touch its parts."""
    return Sender(cast(Any, None), cast(Any, None), "workspace", deadline=0.0, pool=cast(Any, None))


def test_lanes_open_up_to_their_most_and_answer_the_soonest_run_again() -> None:
    opened: list[str] = []
    answers = iter([5.0, None, 2.0, 9.0])

    def forward(sender: Sender) -> float | None:
        opened.append(threading.current_thread().name)
        assert sender.open_lane is not None
        for _ in range(4):  # every lane asks for more; only three are ever open
            sender.open_lane()
        return next(answers)

    assert Lanes(idle_sender, forward, 3).run() == 2.0
    assert len(opened) == 3
    assert len(set(opened)) == 3


def test_one_lane_offers_no_other() -> None:
    def forward(sender: Sender) -> float | None:
        assert sender.open_lane is None
        return None

    assert Lanes(idle_sender, forward, 1).run() is None


def test_an_error_in_a_lane_stops_the_others_and_is_raised_by_the_task() -> None:
    stopped = threading.Event()
    task = threading.current_thread()

    def forward(sender: Sender) -> float | None:
        if threading.current_thread() is task:
            assert sender.open_lane is not None
            sender.open_lane()
            while not sender.stopped:  # the first lane sends until told to stop
                stopped.wait(0.01)
            stopped.set()
            return 0.0
        raise RuntimeError("lane failed")

    with pytest.raises(RuntimeError, match="lane failed"):
        Lanes(idle_sender, forward, 2).run()
    assert stopped.is_set()
