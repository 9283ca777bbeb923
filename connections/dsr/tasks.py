"""Celery tasks of erasures: thin; the names are stable contracts."""

from __future__ import annotations

from celery import shared_task

from connections.dsr import callbacks, processing, sweep


@shared_task(name="mpbraze.dsr_request_process")
def dsr_request_process(request_id: int) -> None:
    """One pass of an erasure over the connections (nothing when it is done or taken)."""
    processing.dsr_request_process(request_id=request_id)


@shared_task(name="mpbraze.dsr_callbacks_send")
def dsr_callbacks_send(request_id: int) -> None:
    """The request's due status callbacks, in order per URL."""
    callbacks.dsr_callbacks_send(request_id=request_id)


@shared_task(name="mpbraze.dsr_sweep")
def dsr_sweep() -> None:
    """Beat: publish requests and callbacks that wait past their time."""
    sweep.dsr_sweep()
