"""The Celery application: configured from Django settings (``CELERY_*``)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init, worker_ready

from mpbraze import broker
from mpbraze.heap import heap_settle
from mpbraze.heartbeat import HeartbeatFile

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mpbraze.settings")
# Django's system checks run with `migrate` and `manage.py check`, before workers start; run
# again by each worker they import the URLs and the REST API it never serves: about half a
# second of every start (and of a backlog's first object). CELERY_SKIP_CHECKS= turns them on.
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")


def _survive_a_lost_redis() -> None:
    """kombu 5.7.0: when the Redis connection is lost, closing the channel restores unacked
    messages through a client whose connection details were already dropped, and the
    resulting ``AttributeError`` stops the worker ("Unrecoverable error") instead of letting
    it reconnect. Raise the connection error it really is, which kombu handles. The messages
    it could not restore are found again by the visibility timeout, or by the sweeper."""
    from kombu.transport import redis as kombu_redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    original = getattr(kombu_redis.Channel, "_connparams")  # noqa: B009

    def connparams(self: Any, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            raise RedisConnectionError("the connection to the broker was closed")
        return original(self, asynchronous=asynchronous)

    setattr(kombu_redis.Channel, "_connparams", connparams)  # noqa: B010


def forward_queue(default_queue: str) -> str:
    """Forwarding's own queue, beside the default one (which carries mapping and the sweep)."""
    return f"{default_queue}.forward"


def hooks_queue(default_queue: str) -> str:
    """REST hook delivery's own queue: a fan-out of deliveries never holds back mapping or a
    connectivity check on the default queue."""
    return f"{default_queue}.hooks"


HOOK_TASKS = frozenset({"mpbraze.hook_deliveries_send", "mpbraze.hook_deliver"})


def route_task(name: str, *args: Any, **kwargs: Any) -> dict[str, str] | None:
    """``CELERY_TASK_ROUTES``: forwarding and hook delivery to their queues, named after the
    default queue in force (tests replace it with a private one at run time)."""
    if name == "mpbraze.output_forward":
        return {"queue": forward_queue(app.conf.task_default_queue)}
    if name in HOOK_TASKS:
        return {"queue": hooks_queue(app.conf.task_default_queue)}
    return None


def _keep_database_connections(**_: Any) -> None:
    """Around each task, what Django does around each request: close a connection only when
    it is broken or older than ``CONN_MAX_AGE``. Celery's Django fixup would close it before
    and after every task (unless told to reuse it, below): a mapping or forwarding task then
    spent more time opening a PostgreSQL connection than on its first statement."""
    from django.db import close_old_connections

    close_old_connections()


def _settle_heap(**_: Any) -> None:
    """In each pool process once it has started (and in the main one, which runs the tasks of
    a solo or threads pool): what was imported stays out of garbage collection."""
    heap_settle()


_survive_a_lost_redis()
broker.register()
app = Celery("mpbraze")
app.config_from_object("django.conf:settings", namespace="CELERY")
# The fixup's forced close happens every 2 x this many tasks; our handler does the rest.
app.conf.CELERY_DB_REUSE_MAX = 1000
task_prerun.connect(_keep_database_connections, weak=False)
task_postrun.connect(_keep_database_connections, weak=False)
worker_process_init.connect(_settle_heap, weak=False)
worker_ready.connect(_settle_heap, weak=False)
# The liveness file of `manage.py healthcheck worker`, touched while the consumer runs.
app.steps["consumer"].add(HeartbeatFile)
app.autodiscover_tasks()
app.autodiscover_tasks(
    [
        "connections.delivery",
        "connections.dsr",
        "connections.connectivity",
        "connections.audit",
        "connections.hooks",
        "connections.probes",
    ]
)
