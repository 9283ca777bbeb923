"""Celery task of the probes: thin; the name is a stable contract."""

from __future__ import annotations

import os

from celery import Task, shared_task

from connections.probes.readiness import heartbeat_record


@shared_task(bind=True, name="mpbraze.worker_heartbeat")
def worker_heartbeat(self: Task[[], None]) -> None:
    """Beat, as often as the delivery sweep: the worker that runs it stamps its heartbeat
    (``/readyz`` fails when no worker has for two sweeps)."""
    heartbeat_record(worker=self.request.hostname or f"pid {os.getpid()}")
