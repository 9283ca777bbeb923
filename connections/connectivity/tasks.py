"""Celery task: thin; the name is a stable contract."""

from __future__ import annotations

from celery import shared_task

from connections.connectivity import services


@shared_task(name="mpbraze.connectivity_check_run")
def connectivity_check_run(check_id: int) -> None:
    """Run a recorded connectivity check (nothing when it is gone or done)."""
    services.connectivity_check_run(check_id=check_id)
