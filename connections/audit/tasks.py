"""Celery tasks of the audit: thin wrappers taking ids. Names are stable contracts."""

from __future__ import annotations

from celery import shared_task

from connections.audit import services


@shared_task(name="mpbraze.replay_run")
def replay_run_execute(run_id: int) -> None:
    """Do a recorded replay or discard in chunks (nothing when it is gone or done)."""
    services.replay_run_execute(run_id=run_id)


@shared_task(name="mpbraze.replay_runs_sweep")
def replay_runs_sweep() -> None:
    """Beat: start again replay runs whose message was lost or whose worker died."""
    services.replay_runs_resume()
