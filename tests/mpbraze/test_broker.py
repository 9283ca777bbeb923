"""The embedded default's broker: kombu's filesystem transport with each message written
whole before a consumer can take it (``mpbraze.broker``)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from queue import Empty
from typing import Any

from kombu import Connection

from mpbraze.settings import filesystem_broker_options

WRITERS = 2
MESSAGES = 1500  # per writer
BODY = "x" * 2000


def race(folder: Path, transport: str | None) -> tuple[list[int], list[str]]:
    """Two writers put messages while a consumer takes them as they come; returns the
    numbers taken and the errors the consumer met."""
    options = filesystem_broker_options(folder)
    taken: list[int] = []
    errors: list[str] = []
    written = threading.Event()

    def write(first: int) -> None:
        with Connection("filesystem://", transport=transport, transport_options=options) as c:
            channel: Any = c.channel()
            for number in range(first, first + MESSAGES):
                channel._put("q", {"n": number, "body": BODY})

    def consume() -> None:
        with Connection("filesystem://", transport=transport, transport_options=options) as c:
            channel: Any = c.channel()
            while True:
                try:
                    taken.append(channel._get("q")["n"])
                except Empty:
                    if written.is_set():
                        return
                except Exception as error:  # kombu 5.7's own transport: JSONDecodeError
                    errors.append(repr(error)[:80])

    consumer = threading.Thread(target=consume)
    writers = [threading.Thread(target=write, args=(n * MESSAGES,)) for n in range(WRITERS)]
    consumer.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    written.set()
    consumer.join(timeout=60)
    return taken, errors


def test_a_consumer_racing_two_writers_takes_every_message_whole(tmp_path: Path) -> None:
    taken, errors = race(tmp_path, "mpbraze.broker:Transport")
    assert errors == []
    assert sorted(taken) == list(range(WRITERS * MESSAGES))


def test_the_embedded_default_publishes_through_it(tmp_path: Path) -> None:
    """A process with no broker configured (as ``make run`` starts them) uses it."""
    program = (
        "import django; django.setup(); from mpbraze.celery import app; "
        "print(type(app.connection_for_write().transport).__module__)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(DJANGO_SETTINGS_MODULE="mpbraze.settings", MPBRAZE_LOCAL_DIR=str(tmp_path))
    answer = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
    )
    assert answer.stdout.strip() == "mpbraze.broker"


def test_a_url_names_its_own_transport_beside_the_embedded_default() -> None:
    """A process may talk to a second broker by URL (tests, ops scripts): only
    ``filesystem://`` means this transport (building a connection connects nowhere)."""
    from mpbraze.celery import app

    assert app.connection_for_write("filesystem://").transport_cls == "filesystem"
    assert type(app.connection_for_write("filesystem://").transport).__module__ == "mpbraze.broker"
    redis = app.connection_for_write("redis://127.0.0.1:1/0")
    assert type(redis.transport).__module__ == "kombu.transport.redis"
