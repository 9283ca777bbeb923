"""Run before migrate, gunicorn or Celery: can this process reach its database and broker?

A wrong ``DATABASE_URL`` or broker URL then stops the container at once with one line naming
the host, instead of a traceback from the first query or a worker retrying forever.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from mpbraze.celery import app

CONNECT_TIMEOUT_SECONDS = 5


def database_problem() -> str | None:
    if connection.vendor != "postgresql":
        return None
    params = connection.get_connection_params()
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    db = connection.settings_dict
    try:
        psycopg.connect(**params).close()
    except Exception as error:  # every driver error means the same thing here
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        return f"cannot reach the database at {db['HOST']}:{db['PORT']}: {first_line}"
    return None


def broker_problem() -> str | None:
    with app.connection_for_write() as broker:
        if broker.transport_cls == "filesystem":
            return None
        try:
            broker.ensure_connection(
                max_retries=1, interval_start=0, timeout=CONNECT_TIMEOUT_SECONDS
            )
        except Exception as error:  # kombu raises the transport's own errors
            where = f"{broker.transport_cls}://{broker.hostname}:{broker.port}"
            return f"cannot reach the broker at {where}: {error}"
    return None


class Command(BaseCommand):
    help = "Exit 1 naming the host when the database or the broker cannot be reached."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = [p for p in (database_problem(), broker_problem()) if p]
        if problems:
            raise CommandError("; ".join(problems))
