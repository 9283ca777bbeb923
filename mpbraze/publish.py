"""Publishing a task message: one attempt that fails fast when the broker is down.

Work is published by the task's name (a stable contract, see the ``tasks`` modules), so a
module that publishes never imports the module of the task: tasks call services, and services
publish. kombu would otherwise retry connecting for seconds, so each publish is one attempt on
a broker connection kept per thread (building a new broker client for every publish was a
quarter of the inbound view's time). The caller decides what a failure means: the database
still holds the work, and a beat sweep publishes it again.
"""

from __future__ import annotations

import threading
from typing import Any

from mpbraze.celery import app

_connections = threading.local()


def publish(task_name: str, args: tuple[Any, ...], **options: Any) -> None:
    """Send one message for ``task_name`` (``countdown=``, ``queue=`` …); raises when the
    broker cannot take it."""
    connection = getattr(_connections, "broker", None)
    if connection is None:
        connection = app.connection_for_write(transport_options={"max_retries": 0})
        _connections.broker = connection
    try:
        app.send_task(
            task_name, args, producer=app.amqp.Producer(connection), retry=False, **options
        )
    except Exception:
        _connections.broker = None
        connection.release()
        raise


def publish_release() -> None:
    """Close this thread's broker connection, if it opened one: for a thread about to end."""
    connection = getattr(_connections, "broker", None)
    _connections.broker = None
    if connection is not None:
        connection.release()
