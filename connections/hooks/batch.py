"""Sending a batch of REST hook deliveries in one task.

The database work (claim, attempt row, settling) stays on the task's thread; only the POSTs
run on a small thread pool, at most ``SEND_CONCURRENCY`` in flight, each cut at its own
deadline as a single send is. A claim is the same conditional update as a single send's, so
two workers holding the same delivery send it once.

A task that has spent ``BUDGET_SECONDS`` starts no new POST and publishes what it did not
claim again: it gives its worker back within the budget and one timeout, whatever the
receivers do.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from connections.hooks.models import HookDelivery
from connections.hooks.sending import (
    Answer,
    Started,
    hook_attempt_complete,
    hook_delivery_post,
    hook_delivery_start,
)
from connections.hooks.services import hook_deliveries_publish
from connections.hooks.tuning import HookConfig, hook_config

logger = logging.getLogger(__name__)
SEND_CONCURRENCY = 5
BUDGET_SECONDS = 30.0


@dataclass(frozen=True)
class HookBatchReport:
    sent: int  # attempts made
    skipped: int  # gone, not due, taken by another worker, or cancelled
    left: tuple[int, ...]  # not started within the budget: published again


def hook_deliveries_send(
    *, delivery_ids: Sequence[int], budget_seconds: float = BUDGET_SECONDS
) -> HookBatchReport:
    """Make one attempt of each due delivery of ``delivery_ids``, a few at once; the ones not
    started within ``budget_seconds`` are published again (each quietly skipped when it is
    gone, not due or taken)."""
    batch = _Batch(hook_config(), deque(delivery_ids), time.monotonic() + budget_seconds)
    with ThreadPoolExecutor(SEND_CONCURRENCY, thread_name_prefix="hook-send") as pool:
        while batch.start_more(pool) or batch.in_flight:
            batch.complete_some()
    left = tuple(batch.waiting)
    if left:
        HookDelivery.objects.filter(pk__in=left).update(enqueued_at=None)
        hook_deliveries_publish(delivery_ids=left)
    return HookBatchReport(batch.sent, batch.skipped, left)


@dataclass
class _Batch:
    config: HookConfig
    waiting: deque[int]
    stop_at: float
    sent: int = 0
    skipped: int = 0

    def __post_init__(self) -> None:
        self.in_flight: dict[Future[Answer], Started] = {}

    def start_more(self, pool: ThreadPoolExecutor) -> bool:
        """Claim and post until the pool is full; False when nothing more will start."""
        while len(self.in_flight) < SEND_CONCURRENCY:
            if not self.waiting or time.monotonic() >= self.stop_at:
                return False
            started = hook_delivery_start(delivery_id=self.waiting.popleft(), config=self.config)
            if isinstance(started, Started):
                self.in_flight[pool.submit(_post, started, self.config)] = started
            else:
                self.skipped += 1
        return True

    def complete_some(self) -> None:
        """Record the answers of the POSTs that ended (waiting for at least one)."""
        done, _ = wait(self.in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            hook_attempt_complete(started=self.in_flight.pop(future), answer=future.result())
            self.sent += 1


def _post(started: Started, config: HookConfig) -> Answer:
    """A POST that always answers: a bug in one send is recorded on its attempt instead of
    leaving the batch's other attempts unrecorded."""
    began = time.monotonic()
    try:
        return hook_delivery_post(started.delivery, config)
    except Exception as error:
        logger.exception("REST hook delivery %s could not be sent", started.delivery.pk)
        took = int((time.monotonic() - began) * 1000)
        return Answer(None, took, f"mpbraze could not send it ({type(error).__name__})")
