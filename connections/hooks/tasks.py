"""Celery tasks of REST hooks: thin; the names are stable contracts."""

from __future__ import annotations

from celery import shared_task

from connections.hooks.sending import hook_delivery_send
from connections.hooks.sweep import hooks_sweep as sweep


@shared_task(name="mpbraze.hook_deliver")
def hook_deliver(delivery_id: int) -> None:
    """One attempt of a due delivery (nothing when it is gone, done or taken)."""
    hook_delivery_send(delivery_id=delivery_id)


@shared_task(name="mpbraze.hooks_sweep")
def hooks_sweep() -> None:
    """Beat: recover, publish due deliveries, disable failing hooks, flush failure counts."""
    sweep()
