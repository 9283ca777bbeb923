"""Celery tasks: thin wrappers that take ids and call services. Names are stable contracts."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="mpbraze.batch_map")
def batch_map(batch_id: int) -> None:
    """Map one stored batch into outbox rows (returns quietly when gone or already mapped)."""
    from connections.delivery import mapping_service

    mapping_service.batch_map(batch_id=batch_id)


@shared_task(name="mpbraze.output_forward")
def output_forward(output_id: int) -> None:
    """Send one output's due rows for a while; run again when rows wait or remain."""
    from connections.delivery import forwarder

    run_again_in = forwarder.output_forward(output_id=output_id)
    if run_again_in is not None:
        output_forward.apply_async((output_id,), countdown=run_again_in)


@shared_task(name="mpbraze.deliveries_sweep")
def deliveries_sweep() -> None:
    """Beat: recover expired leases, re-enqueue due rows and unmapped batches, prune."""
    from connections.delivery import sweeper

    sweeper.deliveries_sweep()
