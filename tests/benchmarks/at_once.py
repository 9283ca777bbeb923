"""Ingest and delivery at once: 8 clients post the load to gunicorn while 2 worker processes,
started and consuming before the first post, drain it into the fake Braze (issue 26's target:
≥ 5,000 events/s from the first post to the last object, first object within 3 s)."""

from __future__ import annotations

import time
from datetime import datetime

from tests.benchmarks import row_versions, stack
from tests.benchmarks.harness import (
    EXPECTED,
    Bench,
    accepted_span,
    check_exactly_once,
    forget_everything,
    wait,
)
from tests.benchmarks.load import EVENTS, bodies, percentile, post_all
from tests.benchmarks.report import BenchmarkRow

CLIENTS = 8
WORKERS = 2
PREFIX = "both"
TARGET_EVENTS_PER_SECOND = 5_000
TARGET_FIRST_SECONDS = 3.0


def bench_at_once(bench: Bench) -> list[BenchmarkRow]:
    bench.braze.reset()
    before = row_versions.snapshot()
    workers = bench.workers(WORKERS, PREFIX)
    stack.wait_ready(bench.folder / f"counts-{PREFIX}", WORKERS)
    web, url = bench.web(PREFIX)
    load = bodies(PREFIX)
    started, started_at = time.monotonic(), datetime.now().astimezone()
    ingest = post_all(url, bench.auth, load, clients=CLIENTS)
    wait(bench.accepted_all, started)
    worker_rss = max(process.peak_rss_mb() for process in workers)
    web_rss = web.peak_rss_mb()
    for process in [web, *workers]:
        process.stop()
    check_exactly_once(bench.braze, PREFIX, EXPECTED)
    first, last = accepted_span(bench.braze)
    after = row_versions.snapshot()
    forget_everything()
    case = f"{EVENTS:,} events posted by {CLIENTS} clients, {WORKERS} worker processes draining"
    seconds, first_after = (last - started_at).total_seconds(), (first - started_at).total_seconds()
    p50, p99 = percentile(ingest.latencies, 50), percentile(ingest.latencies, 99)
    phase = "ingest and delivery at once"
    return [
        BenchmarkRow(
            phase,
            case,
            EVENTS / seconds,
            "events/s",
            "from the first post to the last object the fake Braze accepted;"
            f" target ≥ {TARGET_EVENTS_PER_SECOND:,}",
        ),
        BenchmarkRow(
            phase,
            case,
            first_after,
            "s to first object",
            f"from the first post; target ≤ {TARGET_FIRST_SECONDS:.0f} s",
        ),
        BenchmarkRow(
            phase,
            case,
            p99 * 1000,
            "ms p99 ingest latency",
            f"p50 {p50 * 1000:.0f} ms; {ingest.requests:,} requests posted in"
            f" {ingest.seconds:.1f} s ({ingest.events / ingest.seconds:,.0f} events/s)",
        ),
        BenchmarkRow("memory", case, worker_rss, "MB peak worker RSS"),
        BenchmarkRow("memory", case, web_rss, "MB peak web RSS", "the largest gunicorn process"),
        *row_versions.rows(case, before, after, EXPECTED, "ingest included"),
    ]
