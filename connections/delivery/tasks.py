"""Celery tasks: thin wrappers that take ids and call services. Names are stable contracts."""

from __future__ import annotations

import os

from celery import Task, shared_task

from connections.delivery import forwarder, mapping_service, retention, sweeper

# A mapping task goes on mapping other waiting batches for this long: a backlog is mapped in
# large transactions, and the messages of the batches it took find nothing left to do. Short
# enough that a worker process busy mapping a backlog turns to forwarding within a second.
MAPPING_PULL_SECONDS = 1.0


@shared_task(name="mpbraze.batches_map")
def batches_map(batch_ids: list[int]) -> None:
    """Map stored batches into outbox rows (each quietly skipped when gone or mapped)."""
    mapping_service.batches_map(batch_ids=batch_ids, pull_seconds=MAPPING_PULL_SECONDS)


@shared_task(name="mpbraze.batch_map")
def batch_map(batch_id: int) -> None:
    """One batch: kept for messages published by earlier versions."""
    batches_map([batch_id])


@shared_task(bind=True, name="mpbraze.output_forward")
def output_forward(self: Task[[int], None], output_id: int) -> None:
    """Send one output's due rows for a while; schedule the next run when rows wait."""
    worker = f"{self.request.hostname or 'local'} pid {os.getpid()}"
    forwarder.output_forward_run(output_id=output_id, worker=worker)


@shared_task(name="mpbraze.deliveries_sweep")
def deliveries_sweep() -> None:
    """Beat: recover expired leases, re-enqueue due rows and unmapped batches."""
    sweeper.deliveries_sweep()


@shared_task(name="mpbraze.retention_prune")
def retention_prune() -> None:
    """Beat: forget what is past its retention, for a bounded time (failed rows stay)."""
    retention.retention_prune()
