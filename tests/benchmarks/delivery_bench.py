"""End to end on the real stack: ingest under gunicorn, then a backlog drained by Celery
workers into a fake Braze answering in 50 ms; beside a bare view and a naive forwarder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.benchmarks import row_versions, stack
from tests.benchmarks.at_once import bench_at_once
from tests.benchmarks.harness import EXPECTED, LATENCY_MS, Bench, check_in_order, naive_forwarder
from tests.benchmarks.load import CLIENTS, EVENTS, EVENTS_PER_BATCH, bodies, hot_bodies
from tests.benchmarks.report import BenchmarkRow

# Which phases run: the baseline's run (baseline.py) needs only the end-to-end ones.
PHASES = os.environ.get("MPBRAZE_BENCH_PHASES", "ingest,e2e,at_once,hot").split(",")
HOT_USERS = 200  # a hot backlog's users: each is in every 200th batch (50 batches each)
MAPPING_TASK_CASE = f"{EVENTS:,}-event backlog, 1 worker process on the mapping queue"


def bench_delivery() -> list[BenchmarkRow]:
    machine = stack.prepare_environment()
    with tempfile.TemporaryDirectory(prefix="mpbraze-bench-") as folder:
        bench = Bench(Path(folder))
        try:
            return _run(bench, machine)
        finally:
            bench.close()


def _run(bench: Bench, machine: str) -> list[BenchmarkRow]:
    rows: list[BenchmarkRow] = []
    if "ingest" in PHASES:
        rows += _ingest_and_mapping(bench)
    if "e2e" in PHASES:
        rows += _end_to_end(bench)
    if "at_once" in PHASES:
        rows += bench_at_once(bench)
    if "hot" in PHASES:
        rows += _hot_backlog(bench)
    if bench.web_rss:
        rows.append(BenchmarkRow("memory", "web (gunicorn worker)", bench.web_rss, "MB peak RSS"))
    note = f"{LATENCY_MS} ms Braze"
    rows.append(BenchmarkRow("machine", machine, os.cpu_count() or 0, "cores", note))
    return rows


def _ingest_and_mapping(bench: Bench) -> list[BenchmarkRow]:
    rows: list[BenchmarkRow] = []
    ingest = bench.ingest("map")
    bare = bench.bare(bodies("bare")[: ingest.requests])
    share = 100 * ingest.requests / ingest.seconds / (bare.requests / bare.seconds)
    rows += ingest.row(f"inbound API, {CLIENTS} clients", f"{share:.0f} % of the bare view.")
    rows += bare.row("bare Django view answering 202 (reference)")[:1]
    mapped = bench.map_only("map")
    batches = EVENTS / EVENTS_PER_BATCH
    rows.append(
        BenchmarkRow(
            "mapping task",
            MAPPING_TASK_CASE,
            mapped["batches_per_second"] * EVENTS_PER_BATCH,
            "events/s",
            f"{mapped['batches_per_second']:,.0f} batches/s;"
            f" {mapped['queries_per_batch']:.2f} SQL statements per batch;"
            f" {batches / mapped['seconds']:,.0f} batches/s counting the worker's start",
        )
    )
    return rows


def _end_to_end(bench: Bench) -> list[BenchmarkRow]:
    rows: list[BenchmarkRow] = []
    naive = naive_forwarder(bench.braze.url)
    runs = {}
    for workers, prefix in ((1, "one"), (2, "two")):
        bench.ingest(prefix)
        runs[workers] = bench.drain(workers, prefix)
    for workers, run in runs.items():
        rows += _drain_rows(workers, run, naive)
    case = _drain_case(2)
    rows += row_versions.rows(case, *bench.writes["two"], EXPECTED, "the drain alone")
    scale = runs[1]["seconds"] / runs[2]["seconds"]
    rows.append(BenchmarkRow("end to end", "scale-out 1 → 2 workers", scale, "x faster"))
    rows.append(BenchmarkRow("naive forwarder", "1 request per event", naive, "events/s"))
    return rows


def _hot_backlog(bench: Bench) -> list[BenchmarkRow]:
    """The same users in batch after batch: a claim meets users whose earlier rows are still
    in flight, which the order hold keeps apart. Checked in order per user before a figure."""
    bench.ingest("hot", hot_bodies("hot", HOT_USERS))
    run = bench.drain(2, "hot", check=check_in_order)
    case = f"{EVENTS:,}-event backlog of {HOT_USERS} users, 2 worker processes"
    rate = EVENTS / run["seconds"]
    note = "from the workers' start; each user's events checked in order"
    return [
        BenchmarkRow("hot backlog", case, rate, "events/s", note),
        BenchmarkRow("hot backlog", case, run["sustained"], "events/s sustained", ""),
        BenchmarkRow(
            "hot backlog",
            case,
            run["objects_per_request"],
            "objects/request",
            f"{run['requests']:.0f} requests",
        ),
    ]


def _drain_case(workers: int) -> str:
    return f"{EVENTS:,}-event backlog, {workers} worker process{'es' if workers > 1 else ''}"


def _drain_rows(workers: int, run: dict[str, float], naive: float) -> list[BenchmarkRow]:
    case = _drain_case(workers)
    rate = EVENTS / run["seconds"]
    return [
        BenchmarkRow(
            "end to end",
            case,
            rate,
            "events/s",
            f"{rate / naive:.0f}x naive; from the workers' start to the last object accepted",
        ),
        BenchmarkRow(
            "end to end",
            case,
            run["sustained"],
            "events/s sustained",
            f"from the first object to the last; {run['sustained'] / naive:.0f}x naive",
        ),
        BenchmarkRow(
            "end to end", case, run["first_after"], "s to first object", "from the workers' start"
        ),
        BenchmarkRow(
            "end to end",
            case,
            run["objects_per_request"],
            "objects/request",
            f"{run['requests']:.0f} requests; fill ceiling 66 (6 users of 11 objects)",
        ),
        BenchmarkRow(
            "end to end",
            case,
            run["queries_per_request"],
            "SQL statements/request",
            f"{run['commits_per_request']:.1f} commits per request (whole database)",
        ),
        BenchmarkRow(
            "mapping task",
            case,
            EVENTS / run["mapped_after"],
            "events/s",
            f"{EVENTS / EVENTS_PER_BATCH / run['mapped_after']:,.0f} batches/s, while sending",
        ),
        BenchmarkRow("memory", case, run["rss"], "MB peak worker RSS"),
    ]
