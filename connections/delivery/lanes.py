"""Lanes: the claims one forwarding task sends at once (``MPBRAZE_FORWARD_LANES``).

A claim's requests wait about Braze's latency for their answers, and the claim's database work
(recording attempts, applying answers, packing the next claim) waits on PostgreSQL. One lane
leaves the process idle through both; a second lane, in a thread with a database connection of
its own, claims and sends meanwhile. Lanes share the task's transport and its threads for
requests in flight, so ``MPBRAZE_FORWARD_CONCURRENCY`` still bounds what one task has at Braze.

Lanes claim like separate workers do (``outbox.outbox_claim_batch``): rows locked with
``skip_locked``, and a user's rows held while an earlier row of theirs is pending, so each user's
objects still reach Braze in order. A lane opens only when a claim leaves rows due behind it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections

from connections.delivery.sender import Sender
from mpbraze.publish import publish_release

Forward = Callable[[Sender], float | None]


class Lanes:
    """Up to ``most`` senders of one output, the first in the task's own thread."""

    def __init__(self, make: Callable[[], Sender], forward: Forward, most: int) -> None:
        self._make = make
        self._forward = forward
        self._most = most
        self._lock = threading.Lock()
        self._senders: list[Sender] = []
        self._threads: list[threading.Thread] = []
        self._results: list[float | None] = []
        self._errors: list[BaseException] = []
        self._stopped = False  # set once: no lane opens after it

    def run(self) -> float | None:
        """Send in this thread, and in the lanes it opens; when all are done, the soonest
        time any of them asked to run again (None when none did). An error in any lane stops
        the others (each after its requests in flight) and is raised here."""
        first = self._sender()
        try:
            result = self._forward(first)
        except BaseException:
            self._stop_others()
            raise
        finally:
            self._join()
        if self._errors:
            raise self._errors[0]
        wanted = [seconds for seconds in [result, *self._results] if seconds is not None]
        return min(wanted, default=None)

    def open(self) -> None:
        """Open another lane, unless ``most`` are open or the lanes were stopped (called by a
        lane whose claim left rows due behind it)."""
        with self._lock:
            if len(self._senders) >= self._most or self._stopped:
                return
            sender = self._sender()
            thread = threading.Thread(
                target=self._lane, args=(sender,), name=f"forward-lane-{len(self._senders)}"
            )
            self._threads.append(thread)
        thread.start()

    def _sender(self) -> Sender:
        sender = self._make()
        sender.open_lane = self.open if self._most > 1 else None
        self._senders.append(sender)
        return sender

    def _lane(self, sender: Sender) -> None:
        try:
            seconds = self._forward(sender)
            with self._lock:
                self._results.append(seconds)
        except BaseException as error:
            with self._lock:
                self._errors.append(error)
            self._stop_others()
        finally:  # this thread's database and broker connections end with it
            connections.close_all()
            publish_release()

    def _stop_others(self) -> None:
        with self._lock:
            self._stopped = True
            for sender in self._senders:
                sender.stopped = True

    def _join(self) -> None:
        """Wait for every lane, those opened while waiting included."""
        joined = 0
        while True:
            with self._lock:
                waiting = self._threads[joined:]
            if not waiting:
                return
            for thread in waiting:
                try:
                    thread.join()
                except BaseException:  # the task's soft time limit: the lanes stop too
                    self._stop_others()
                    raise
            joined += len(waiting)
