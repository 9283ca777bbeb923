"""Celery tasks of the audit: thin wrappers taking ids. Names are stable contracts."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="mpbraze.replay_run")
def replay_run_execute(run_id: int) -> None:
    """Do a recorded replay or discard in chunks (nothing when it is gone or done)."""
    from connections.audit import services

    services.replay_run_execute(run_id=run_id)
