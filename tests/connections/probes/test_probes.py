"""/healthz answers without the database; /readyz names the check that fails."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.db import connection as db
from django.test import Client
from django.utils import timezone

from connections import lifecycle
from connections.models import BrazeOutput, Connection, Delivery, WorkerHeartbeat
from connections.probes.readiness import heartbeat_record
from connections.probes.tasks import worker_heartbeat
from tests.connections.delivery_helpers import event, queue_rows

pytestmark = pytest.mark.django_db


def ready() -> tuple[int, dict[str, Any]]:
    response = Client().get("/readyz")
    return response.status_code, response.json()


def test_healthz_answers_without_touching_the_database(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_ready_with_a_recent_worker_heartbeat_and_no_waiting_rows() -> None:
    heartbeat_record(worker="w1@host")
    status, body = ready()
    assert (status, body["failing"]) == (200, [])
    assert set(body["checks"]) == {"database", "broker", "worker", "outbox"}


def test_without_a_worker_heartbeat_readyz_answers_503_naming_the_worker() -> None:
    status, body = ready()
    assert (status, body["failing"]) == (503, ["worker"])
    assert body["checks"]["worker"]["detail"] == "no worker has run the beat's heartbeat task yet"
    heartbeat_record(worker="w1@host", now=timezone.now() - timedelta(minutes=5))
    status, body = ready()
    assert status == 503
    # 300 s old when written; a second or two more by the time a busy machine reads it.
    assert re.match(r"last worker heartbeat 30[0-9] s ago", body["checks"]["worker"]["detail"])


def test_the_beats_heartbeat_task_stamps_the_heartbeat_of_the_worker_that_ran_it() -> None:
    worker_heartbeat()  # the task body, as a worker runs it (without the pool's signals)
    assert WorkerHeartbeat.objects.count() == 1
    assert ready()[1]["checks"]["worker"]["ok"] is True


def test_an_overdue_row_of_an_active_output_fails_readiness_but_a_paused_ones_does_not(
    output: BrazeOutput, connection: Connection
) -> None:
    heartbeat_record(worker="w1@host")
    queue_rows(output, [event("u1")])
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=20))
    status, body = ready()
    assert (status, body["failing"]) == (503, ["outbox"])
    assert "waited 1200 s (over 600 s)" in body["checks"]["outbox"]["detail"]
    lifecycle.connection_pause(connection=connection, reason="Braze answered 401")
    assert ready()[0] == 200


def test_a_database_that_fails_makes_readyz_503_naming_the_database() -> None:
    def refuse(execute: Any, sql: str, *args: Any) -> Any:
        raise OperationalError("connection refused")

    with db.execute_wrapper(refuse):
        status, body = ready()
    assert (status, body["failing"]) == (503, ["database"])
    assert "connection refused" in body["checks"]["database"]["detail"]


def test_both_probes_are_exempt_from_the_https_redirect(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)
    assert client.get("/login/").status_code == 301
