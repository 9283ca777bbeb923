"""One forwarding run's state: the output, its transport and rate-limit workspace, its
deadline, the threads that keep requests in flight, and the claims it holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

from connections.braze.transport import BrazeTransport
from connections.delivery import outbox
from connections.delivery.models import Delivery
from connections.delivery.outcomes import RowsAt, unique_rows
from connections.delivery.tuning import delivery_config
from connections.models import BrazeOutput
from mapping.requests import TrackRequest

Planned = list[tuple[TrackRequest, RowsAt]]  # requests as packed, with the rows of each


@dataclass
class Sender:
    """What one forwarding run needs: the output, its transport, workspace and deadline, and
    the threads that keep up to ``concurrency`` requests in flight."""

    output: BrazeOutput
    transport: BrazeTransport
    workspace: str
    deadline: float
    pool: Executor
    concurrency: int = 1
    worker: str = ""
    claim: outbox.Claim | None = None
    next_claim: outbox.Claim | None = None  # taken while the last requests were in flight
    stopped: bool = False
    run_again_in: float | None = None
    accepted_any: bool = False  # Braze accepted a request of this run
    retried: list[Delivery] = field(default_factory=list)  # rows of this claim sent back
    # Users whose rows of this claim went back to the queue: their later rows in it wait too.
    put_back: set[str] = field(default_factory=set)
    open_lane: Callable[[], None] | None = None  # another lane of the task (lanes.py)
    held_behind: outbox.HeldBehind = field(default_factory=outbox.HeldBehind)  # the task's

    def run_again_after(self, seconds: float) -> None:
        """Ask for another run after ``seconds`` (the soonest of all requests wins)."""
        if self.run_again_in is None or seconds < self.run_again_in:
            self.run_again_in = max(0.0, seconds)

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline


def workspace_of(output: BrazeOutput) -> str:
    """Rate limits are per Braze workspace: REST host plus a fingerprint of the key."""
    return f"{output.rest_host}#{output.api_key_fingerprint[:16]}"


def rows_of(requests: Planned) -> list[Delivery]:
    """The rows of these requests, each once."""
    return unique_rows(row for _, rows_at in requests for row in rows_at.values())


def keep_lease(sender: Sender, rows: list[Delivery]) -> bool:
    """Renew the claim's lease when half of it is spent; False when it had run out and
    some of these rows were recovered meanwhile (sending them would duplicate them)."""
    claim = sender.claim
    if claim is None or claim.lease_left >= delivery_config().lease_seconds / 2:
        return True
    expired = claim.lease_left <= 0
    outbox.outbox_renew_lease(claim=claim)
    return not expired or outbox.outbox_still_held(rows=rows)
