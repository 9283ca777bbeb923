"""Celery tasks of REST hooks: thin; the names are stable contracts."""

from __future__ import annotations

from celery import shared_task

from connections.hooks import batch
from connections.hooks.sweep import hooks_sweep as sweep


@shared_task(name="mpbraze.hook_deliveries_send")
def hook_deliveries_send(delivery_ids: list[int]) -> None:
    """One attempt of each due delivery, a few at once (nothing for those gone, done or taken)."""
    batch.hook_deliveries_send(delivery_ids=delivery_ids)


@shared_task(name="mpbraze.hook_deliver")
def hook_deliver(delivery_id: int) -> None:
    """One delivery: kept for messages published by earlier versions."""
    hook_deliveries_send([delivery_id])


@shared_task(name="mpbraze.hooks_sweep")
def hooks_sweep() -> None:
    """Beat: recover, publish due deliveries, disable failing hooks, flush failure counts."""
    sweep()
