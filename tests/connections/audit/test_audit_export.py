"""The failed sends' CSV export: streamed through a cursor with bounded memory, and inert in
a spreadsheet."""

from __future__ import annotations

import csv
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection as db
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections.audit.export import COLUMNS
from connections.delivery.intake import batch_content_hash
from connections.models import BrazeOutput, Connection, Delivery, InboundBatch
from tests.connections.delivery_helpers import braze_connection, event, queue_rows
from tests.responses import streamed
from tests.services import require_postgresql

pytestmark = pytest.mark.django_db
EXPORT = reverse("admin:connections_failedsend_export")
ROWS = 100_000


def fill_failed(output: BrazeOutput, rows: int) -> None:
    """Dead rows in one statement, the newest last, each object about 380 bytes of JSON."""
    batch = InboundBatch.objects.create(
        connection=output.connection, content_hash=batch_content_hash({"n": rows}), payload={}
    )
    with db.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO connections_delivery (connection_id, output_id, batch_id, sequence,
                kind, body, user_key, event_index, event_name, status, attempts, created_at,
                next_attempt_at, claim_token, split_depth, error_class, last_error,
                last_status_code, failed_at, replay_count)
            SELECT %s, %s, %s, g, 'events',
                jsonb_build_object('external_id', 'user-' || g, 'name', 'Checkout',
                    'time', '2026-11-01T00:00:00Z',
                    'properties', jsonb_build_object('n', g, 'note', repeat('x', 300))),
                'user-' || g, g, 'Checkout', 'dead', 20, now(), now(), '', 0, 'http_5xx',
                'Braze answered 503', 503, now() - interval '1 day' + g * interval '1 ms', 0
            FROM generate_series(1, %s) AS g
            """,
            [output.connection_id, output.pk, batch.pk, rows],
        )


def peak_bytes(work: Callable[[], Any]) -> int:
    """The most Python memory ``work`` held at once, beyond what was held before it."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.integration  # PostgreSQL: its server-side cursor is what is measured
def test_the_csv_of_100000_failed_rows_streams_in_a_small_fraction_of_their_size(
    connection: Connection, auditor: User
) -> None:
    require_postgresql()
    fill_failed(braze_connection(connection, "http://127.0.0.1:9"), ROWS)
    client = signed_in(auditor)
    failed = Delivery.objects.filter(failed_at__isnull=False).order_by("pk")
    # Holding a fifth of the rows, as a list would hold them all (tracing all is 4x slower).
    loaded = peak_bytes(lambda: list(failed.values_list(*COLUMNS.values())[: ROWS // 5]))
    kept: list[bytes] = []  # the header, the first row and the last one
    lines = 0

    def stream() -> None:
        nonlocal lines
        response = client.get(EXPORT)
        assert response.status_code == 200
        assert isinstance(response, StreamingHttpResponse)
        for line in response.streaming_content:
            lines += 1
            if lines <= 2:
                kept.append(line)
        kept.append(line)

    streaming = peak_bytes(stream)
    print(f"\npeak: {loaded / 2**20:.1f} MiB for a fifth loaded, {streaming / 2**20:.1f} streamed")
    assert loaded > 30 * 2**20  # what holding rows costs: the bound below would catch it
    assert streaming < loaded / 4  # all rows streamed hold less than a twentieth of them loaded
    assert lines == ROWS + 1
    header, first, last = (next(csv.reader([line.decode()])) for line in kept)
    assert header == list(COLUMNS)
    ids = failed.values_list("pk", flat=True)
    assert [int(first[0]), int(last[0])] == [ids.first(), ids.last()]
    assert first[5] == "user-1"
    assert (last[5], last[6], last[7]) == (f"user-{ROWS}", "dead", "503")


def test_a_formula_looking_user_id_is_written_as_text(
    connection: Connection, auditor: User
) -> None:
    formula = '=HYPERLINK("https://evil.example/steal","Open")'
    output = braze_connection(connection, "http://127.0.0.1:9")
    queue_rows(output, [event(formula, name="+Checkout"), event("plain-user", name="Checkout")])
    Delivery.objects.update(status="dead", failed_at=timezone.now())
    response = signed_in(auditor).get(EXPORT)
    text = streamed(response).decode()
    rows = list(csv.DictReader(text.splitlines()))
    assert [(r["user"], r["event_name"]) for r in rows] == [
        ("'" + formula, "'+Checkout"),
        ("plain-user", "Checkout"),
    ]


SPREADSHEET_CELLS = [
    # (user id as an app sent it, evaluated by a spreadsheet?)
    ("=1+1", True),
    ("+1", True),
    ("-1", True),
    ("@SUM(A1)", True),
    (" =1+1", True),  # leading space
    ("\u00a0\u3000@x", True),  # no-break and ideographic spaces
    ("\u200b\ufeff=1", True),  # zero-width space, byte-order mark
    ("\t=1", True),
    ("\r\n+1", True),
    ("\uff1dHYPERLINK(1)", True),  # fullwidth equals
    ("\uff0b1", True),  # fullwidth plus
    ("\uff0d1", True),  # fullwidth minus
    ("\uff20x", True),  # fullwidth commercial at
    ("\ufe66x", True),  # small equals
    ("\ufe62x", True),  # small plus
    ("user=1", False),
    ("a-b+c@d", False),
    ("\u00e9l\u00e8ve", False),
    ("42", False),
]


@pytest.mark.parametrize(("user", "evaluated"), SPREADSHEET_CELLS)
def test_a_cell_a_spreadsheet_would_evaluate_is_written_as_text(
    connection: Connection, auditor: User, user: str, evaluated: bool
) -> None:
    output = braze_connection(connection, "http://127.0.0.1:9")
    queue_rows(output, [event(user)])
    Delivery.objects.update(status="dead", failed_at=timezone.now())
    response = signed_in(auditor).get(EXPORT)
    text = streamed(response).decode()
    (row,) = csv.DictReader(text.splitlines(keepends=True))
    assert row["user"] == ("'" + user if evaluated else user)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("foo=1", "foo"),
        ("ids=1", "ids"),
        ("id=1.5", "id"),
        ("pk=0x10", "pk"),
        ("failure_group=1e5", "failure_group"),
        ("failed_at__gte=someday", "failed_at__gte"),
        ("connection=abc", "connection"),
        ("state=bogus", "state"),
        ("state=all&foo=1", "foo"),
    ],
)
def test_a_filter_the_list_would_not_apply_is_named_and_nothing_is_exported(
    auditor: User, query: str, named: str
) -> None:
    response = signed_in(auditor).get(f"{EXPORT}?{query}")
    assert response.status_code == 400
    assert f"Filter “{named}”" in response.content.decode()


def test_the_lists_own_filters_and_ordering_export_as_the_list_shows(
    connection: Connection, auditor: User
) -> None:
    output = braze_connection(connection, "http://127.0.0.1:9")
    queue_rows(output, [event("u1"), event("u2")])
    Delivery.objects.update(status="dead", failed_at=timezone.now())
    query = f"state=all&connection={connection.pk}&q=u2&o=1"
    response = signed_in(auditor).get(f"{EXPORT}?{query}")
    text = streamed(response).decode()
    assert [row["user"] for row in csv.DictReader(text.splitlines())] == ["u2"]
