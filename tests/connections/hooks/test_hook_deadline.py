"""A REST hook receiver that trickles its answer a byte at a time never holds a worker past
the hook timeout: httpx times each read, so the send keeps an overall deadline of its own."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.models import User

from connections.hooks.models import HookDelivery
from connections.hooks.sending import hook_delivery_send
from connections.hooks.services import hook_event_emit, hook_subscription_create

pytestmark = pytest.mark.django_db
EVENT = "connection.paused"


@contextmanager
def trickling_receiver(byte_every: float) -> Iterator[tuple[int, threading.Event]]:
    """Accepts, reads the request, then sends an endless status line one byte at a time; the
    event is set when the client closes the connection before the line is done."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    cut = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                    if stop.is_set():
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        cut.set()
                        break
                    time.sleep(byte_every)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], cut
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def test_a_receiver_trickling_its_answer_is_cut_at_the_timeout(ops: User, settings: Any) -> None:
    settings.MPBRAZE_HOOK_TIMEOUT_SECONDS = 0.5
    with trickling_receiver(byte_every=0.05) as (port, cut):
        hook_subscription_create(user=ops, target_url=f"http://127.0.0.1:{port}/in", events=[EVENT])
        event = hook_event_emit(event=EVENT, data={"reason": "test"})
        assert event is not None
        delivery = event.deliveries.get()
        hook_delivery_send(delivery_id=delivery.pk)
        # Each byte arrives well within a 0.5 s read timeout, and the whole line would take
        # 500 s: the client closing it early is the overall deadline at work.
        assert cut.wait(timeout=30)

    delivery = HookDelivery.objects.get(pk=delivery.pk)
    assert delivery.status == HookDelivery.Status.PENDING  # retried later
    (attempt,) = delivery.attempt_records.all()
    assert attempt.status_code is None
    assert attempt.error == "timed out after 0.5 s"
