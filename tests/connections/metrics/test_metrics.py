"""``/metrics``: each metric moves when the real code path runs, behind its token when set,
summed across processes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from connections.delivery import ratelimit
from connections.delivery.forwarder import output_forward
from connections.delivery.mapping_service import batches_map
from connections.delivery.models import Delivery, InboundBatch
from connections.models import BrazeOutput, Connection
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import event, objects_in, queue_rows
from tests.connections.inbound_helpers import Sender, custom_event, sdk_batch

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_linger")]
ROOT = Path(__file__).resolve().parents[3]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
OnCommit = Callable[..., Any]


def scrape(client: Client, **headers: Any) -> Samples:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: object) -> float:
    key = frozenset((label, str(text)) for label, text in labels.items())
    return samples.get((name, key), 0.0)


class Moves:
    """The change of every sample between a scrape now and the scrape of ``after()``."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.before = scrape(client)
        self.now: Samples = {}

    def after(self) -> Moves:
        self.now = scrape(self.client)
        return self

    def __call__(self, name: str, **labels: object) -> float:
        return value(self.now, name, **labels) - value(self.before, name, **labels)


@pytest.fixture
def sender(client: Client, connection: Connection) -> Sender:
    return Sender(client, connection)


def test_stored_batches_and_their_events_are_counted_and_repeats_are_not(
    client: Client, sender: Sender, connection: Connection
) -> None:
    moves = Moves(client)
    batches = [
        sdk_batch(source_request_id="r1"),
        sdk_batch(source_request_id="r2", events=[custom_event("A"), custom_event("B")]),
    ]
    assert sender.post("/v2/bulkevents", batches).status_code == 202
    assert sender.post("/v2/bulkevents", batches).status_code == 202  # a repeat: accepted only
    moves.after()
    assert moves("mpbraze_inbound_batches_total", connection=connection.pk) == 2
    assert moves("mpbraze_inbound_events_total", connection=connection.pk) == 3


def test_mapping_counts_the_objects_queued_and_the_issues_by_kind(
    client: Client,
    sender: Sender,
    output: BrazeOutput,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    long_key = "k" * 300  # dropped: a key longer than 255 characters
    events = [custom_event("A", custom_attributes={long_key: 1}), custom_event("B")]
    assert sender.post("/v2/events", sdk_batch(events=events)).status_code == 202
    moves = Moves(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert batches_map(batch_ids=list(InboundBatch.objects.values_list("pk", flat=True))) == 1
    objects = objects_in(Delivery.objects.all())
    moves.after()
    connection = output.connection_id
    assert objects >= 2
    assert moves("mpbraze_mapped_objects_total", connection=connection) == objects
    assert moves("mpbraze_mapping_issues_total", connection=connection, kind="key_too_long") == 1


def test_mapping_counts_nothing_when_its_transaction_rolls_back(
    client: Client, sender: Sender, output: BrazeOutput
) -> None:
    assert sender.post("/v2/events", sdk_batch()).status_code == 202
    moves = Moves(client)
    batches_map(batch_ids=list(InboundBatch.objects.values_list("pk", flat=True)))
    moves.after()  # the test's transaction never commits: nothing was queued for good
    assert moves("mpbraze_mapped_objects_total", connection=output.connection_id) == 0


def test_accepted_requests_count_by_status_class_with_objects_and_latency(
    client: Client, output: BrazeOutput, braze: FakeBraze
) -> None:
    queue_rows(output, [event(f"user-{n}") for n in range(100)])
    moves = Moves(client)
    output_forward(output_id=output.pk)
    moves.after()
    connection = output.connection_id
    assert moves("mpbraze_braze_requests_total", connection=connection, status_class="2xx") == 2
    objects = "mpbraze_braze_request_objects"
    assert moves(f"{objects}_count", connection=connection) == 2
    assert moves(f"{objects}_sum", connection=connection) == 100
    assert moves(f"{objects}_bucket", connection=connection, le="25.0") == 1  # the 25 left
    assert moves(f"{objects}_bucket", connection=connection, le="75.0") == 2
    latency = "mpbraze_braze_request_duration_seconds"
    assert moves(f"{latency}_count", connection=connection) == 2
    assert 0 < moves(f"{latency}_sum", connection=connection) < 10
    assert moves(f"{latency}_bucket", connection=connection, le="+Inf") == 2


def test_a_5xx_counts_a_5xx_request_and_a_retried_row(
    client: Client, output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_faults(next_statuses=(503,))
    queue_rows(output, [event("u1"), event("u2")])
    moves = Moves(client)
    output_forward(output_id=output.pk)
    moves.after()
    connection = output.connection_id
    assert moves("mpbraze_braze_requests_total", connection=connection, status_class="5xx") == 1
    assert moves("mpbraze_outbox_retried_rows_total", connection=connection) == 2
    assert moves("mpbraze_outbox_dead_rows_total", connection=connection) == 0


def test_a_lost_connection_counts_as_a_network_failure(
    client: Client, output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_faults(next_statuses=("reset",))
    queue_rows(output, [event("u1")])
    moves = Moves(client)
    output_forward(output_id=output.pk)
    moves.after()
    connection = output.connection_id
    assert moves("mpbraze_braze_requests_total", connection=connection, status_class="network") == 1


def test_rows_past_the_retry_window_count_as_dead_lettered(
    client: Client, output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_faults(next_statuses=(500,))
    rows = queue_rows(output, [event("u1")])
    Delivery.objects.filter(pk=rows[0].pk).update(created_at=timezone.now() - timedelta(hours=25))
    moves = Moves(client)
    output_forward(output_id=output.pk)
    moves.after()
    assert moves("mpbraze_outbox_dead_rows_total", connection=output.connection_id) == 1
    assert moves("mpbraze_outbox_retried_rows_total", connection=output.connection_id) == 0


def test_objects_braze_refuses_count_as_rejected_rows(
    client: Client, output: BrazeOutput, braze: FakeBraze
) -> None:
    bad_email = ("attributes", {"external_id": "u2", "email": "not-an-email"})
    too_big = event("u3", blob="x" * 120_000)  # refused before sending
    queue_rows(output, [event("u1"), bad_email, too_big])
    moves = Moves(client)
    output_forward(output_id=output.pk)
    moves.after()
    assert moves("mpbraze_outbox_rejected_rows_total", connection=output.connection_id) == 2


def test_a_429_counts_as_rate_limited_and_as_a_4xx(
    client: Client, output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_faults(next_statuses=(429,), retry_after_seconds=7)
    queue_rows(output, [event("u1")])
    moves = Moves(client)
    output_forward(output_id=output.pk)
    moves.after()
    connection = output.connection_id
    assert moves("mpbraze_braze_rate_limited_total", connection=connection) == 1
    assert moves("mpbraze_braze_requests_total", connection=connection, status_class="4xx") == 1


def test_rate_limit_waits_and_deferrals_are_counted(client: Client, settings: Any) -> None:
    settings.MPBRAZE_BRAZE_RATE_LIMIT = "1/0.3"
    workspace = f"metrics-{uuid.uuid4().hex}"
    moves = Moves(client)
    assert ratelimit.acquire(workspace, timeout=5) is not None  # a free slot: no wait
    waited = ratelimit.acquire(workspace, timeout=5)  # waits for the window to pass
    assert ratelimit.acquire(workspace, timeout=0.01) is None  # too far away: deferred
    moves.after()
    assert waited is not None
    assert waited > 0.1
    assert moves("mpbraze_ratelimit_waits_total") == 1
    assert moves("mpbraze_ratelimit_wait_seconds_total") == pytest.approx(waited, abs=0.05)
    assert moves("mpbraze_ratelimit_deferrals_total") == 1


def test_queue_depth_and_the_oldest_due_row_are_read_from_the_outbox(
    client: Client, output: BrazeOutput, braze: FakeBraze
) -> None:
    rows = queue_rows(output, [event("u1"), event("u2"), event("u3")])
    waiting_since = timezone.now() - timedelta(minutes=5)
    Delivery.objects.filter(pk=rows[0].pk).update(next_attempt_at=waiting_since)
    Delivery.objects.filter(pk=rows[1].pk).update(status=Delivery.Status.SENDING)
    samples = scrape(client)
    connection = output.connection_id
    assert value(samples, "mpbraze_outbox_rows", connection=connection, status="queued") == 2
    assert value(samples, "mpbraze_outbox_rows", connection=connection, status="sending") == 1
    oldest = value(samples, "mpbraze_outbox_oldest_due_seconds", connection=connection)
    assert 299 <= oldest <= 330
    Delivery.objects.update(status=Delivery.Status.SENT)
    samples = scrape(client)
    assert value(samples, "mpbraze_outbox_rows", connection=connection, status="queued") == 0
    assert value(samples, "mpbraze_outbox_oldest_due_seconds", connection=connection) == 0


def test_a_set_token_is_required_as_a_bearer_token(client: Client, settings: Any) -> None:
    settings.MPBRAZE_METRICS_TOKEN = "scrape-token-1"
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-2")
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    scrape(client, HTTP_AUTHORIZATION="Bearer scrape-token-1")


def test_it_answers_plain_http_when_https_is_enforced(client: Client, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/metrics").status_code == 200
    assert client.get("/login/").status_code == 301


CHILD = """
import django
django.setup()
from connections.metrics.definitions import record_ingest
record_ingest(connection_id={label}, batches=3, events=7)
"""


def test_counts_of_another_process_are_summed_into_the_scrape(client: Client) -> None:
    label = 900_000 + uuid.uuid4().int % 99_999  # no connection of this test database
    moves = Moves(client)
    env = {key: text for key, text in os.environ.items() if not key.startswith("PYTEST")}
    env["DJANGO_SETTINGS_MODULE"] = "mpbraze.settings"
    code = CHILD.format(label=label)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)
    moves.after()
    assert moves("mpbraze_inbound_batches_total", connection=label) == 3
    assert moves("mpbraze_inbound_events_total", connection=label) == 7
