"""``rows_update``: many rows' fields in one statement, on PostgreSQL (arrays) and SQLite."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connections.models import Connection, DeliveryAttempt
from mpbraze.sql import rows_update
from tests.connections.delivery_helpers import braze_connection


@pytest.mark.django_db
def test_each_row_gets_its_own_values_in_one_statement(connection: Connection) -> None:
    output = braze_connection(connection, "http://127.0.0.1:9")
    started = timezone.now()
    attempts = DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            connection=connection,
            output=output,
            started_at=started,
            object_count=1,
            index_map={"events": [n]},
        )
        for n in range(3)
    )
    untouched = DeliveryAttempt.objects.create(
        connection=connection, output=output, started_at=started, object_count=1, status_code=418
    )
    for n, attempt in enumerate(attempts):
        attempt.index_map = {"events": [n, n + 1], "note": f"é {n}"}
        attempt.status_code = None if n == 1 else 200 + n
        attempt.braze_errors = [{"index": n, "type": "x'y"}]
        attempt.outcome = DeliveryAttempt.Outcome.SUCCESS
        attempt.finished_at = started if n == 0 else None
    fields = ["index_map", "status_code", "braze_errors", "outcome", "finished_at"]
    with CaptureQueriesContext(db) as queries:
        assert rows_update(DeliveryAttempt, attempts, fields) == 3
    assert len(queries) == 1
    stored = DeliveryAttempt.objects.in_bulk()
    for n, attempt in enumerate(attempts):
        row = stored[attempt.pk]
        assert row.index_map == {"events": [n, n + 1], "note": f"é {n}"}
        assert row.status_code == (None if n == 1 else 200 + n)
        assert row.braze_errors == [{"index": n, "type": "x'y"}]
        assert row.outcome == "success"
        assert row.finished_at == (started if n == 0 else None)
    assert stored[untouched.pk].status_code == 418
    assert stored[untouched.pk].index_map == {}


@pytest.mark.django_db
def test_nothing_to_update_runs_no_statement() -> None:
    with CaptureQueriesContext(db) as queries:
        assert rows_update(DeliveryAttempt, [], ["outcome"]) == 0
    assert len(queries) == 0
