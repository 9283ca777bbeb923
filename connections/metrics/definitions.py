"""Every counter and histogram of mpbraze, and the one-line helpers the pipeline calls.

One call per request, batch or claim, never per row: ingest and sending are benchmarked at
thousands of events a second. Labels are bounded: a connection's id, an HTTP status class,
a mapping issue kind. Never a user, an event name or a key.
"""

from __future__ import annotations

import os
import socket
from collections import Counter as Tally
from collections.abc import Iterable

from django.conf import settings
from prometheus_client import Counter, Histogram, values

from mapping.issues import Issue

# Multiprocess mode whatever imported prometheus_client first (settings name the directory).
# Processes of several containers may share the directory, where a pid alone could name two
# of them: each process's files are named by host and pid.
_HOST = socket.gethostname()[:64]
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", settings.PROMETHEUS_MULTIPROC_DIR)
values.ValueClass = values.MultiProcessValue(lambda: f"{_HOST}_{os.getpid()}")

BATCHES = Counter(
    "mpbraze_inbound_batches", "Inbound batches stored (repeats are not).", ["connection"]
)
EVENTS = Counter("mpbraze_inbound_events", "Events in the inbound batches stored.", ["connection"])
MAPPED_OBJECTS = Counter(
    "mpbraze_mapped_objects", "Braze objects queued by mapping.", ["connection"]
)
MAPPING_ISSUES = Counter(
    "mpbraze_mapping_issues", "Mapping issues found, by kind.", ["connection", "kind"]
)
REQUESTS = Counter(
    "mpbraze_braze_requests",
    "Requests to Braze /users/track by answer: 2xx, 3xx, 4xx, 5xx or network (no answer).",
    ["connection", "status_class"],
)
RATE_LIMITED = Counter(
    "mpbraze_braze_rate_limited", "Requests Braze answered with 429.", ["connection"]
)
REQUEST_OBJECTS = Histogram(
    "mpbraze_braze_request_objects",
    "Objects per request to Braze.",
    ["connection"],
    buckets=(1, 5, 10, 25, 50, 75),
)
REQUEST_SECONDS = Histogram(
    "mpbraze_braze_request_duration_seconds",
    "Time from sending a request to Braze to its answer (or failure).",
    ["connection"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
RETRIED = Counter(
    "mpbraze_outbox_retried_rows", "Outbox rows put back for a retry with backoff.", ["connection"]
)
REJECTED = Counter("mpbraze_outbox_rejected_rows", "Outbox rows rejected (final).", ["connection"])
DEAD = Counter(
    "mpbraze_outbox_dead_rows", "Outbox rows dead-lettered (retries exhausted).", ["connection"]
)
RATE_LIMIT_WAITS = Counter(
    "mpbraze_ratelimit_waits", "Requests that waited for a slot of the client-side rate limit."
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "mpbraze_ratelimit_wait_seconds", "Seconds spent waiting for rate-limit slots."
)
RATE_LIMIT_DEFERRALS = Counter(
    "mpbraze_ratelimit_deferrals",
    "Requests sent back to the queue because the next rate-limit slot was too far away.",
)


def status_class(status_code: int | None) -> str:
    """``2xx`` … ``5xx``, or ``network`` when no answer arrived."""
    if status_code is None:
        return "network"
    return f"{status_code // 100}xx" if 200 <= status_code < 600 else "other"


def record_ingest(*, connection_id: int, batches: int, events: int) -> None:
    BATCHES.labels(connection_id).inc(batches)
    EVENTS.labels(connection_id).inc(events)


def record_mapping(*, connection_id: int, objects: int, issues: Iterable[Issue]) -> None:
    MAPPED_OBJECTS.labels(connection_id).inc(objects)
    for kind, count in Tally(issue.kind.value for issue in issues).items():
        MAPPING_ISSUES.labels(connection_id, kind).inc(count)


def record_request(
    *, connection_id: int, status_code: int | None, objects: int, duration_ms: int
) -> None:
    """One answered (or failed) request to Braze."""
    REQUESTS.labels(connection_id, status_class(status_code)).inc()
    REQUEST_OBJECTS.labels(connection_id).observe(objects)
    REQUEST_SECONDS.labels(connection_id).observe(duration_ms / 1000)
    if status_code == 429:
        RATE_LIMITED.labels(connection_id).inc()


def record_rows(counter: Counter, *, connection_id: int | None, rows: int) -> None:
    """Rows retried, rejected or dead-lettered (``RETRIED``, ``REJECTED``, ``DEAD``)."""
    if rows and connection_id is not None:
        counter.labels(connection_id).inc(rows)


def record_rate_limit_wait(*, seconds: float | None) -> None:
    """One acquire that had to wait: ``seconds`` waited, or ``None`` when it gave up."""
    if seconds is None:
        RATE_LIMIT_DEFERRALS.inc()
        return
    RATE_LIMIT_WAITS.inc()
    RATE_LIMIT_WAIT_SECONDS.inc(seconds)
