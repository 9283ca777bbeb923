"""`python -m tests.benchmarks [name …]`: run the benchmarks and print one markdown table,
also written as JSON to ``.local/benchmarks.json``.

To add a benchmark, write a function returning ``list[BenchmarkRow]`` and list it in BENCHMARKS.
The delivery benchmark runs the real stack on a database and queue of its own
(``tests/benchmarks/stack.py``); the others are pure. With the delivery benchmark, the
baseline commit's end-to-end rows follow (``tests/benchmarks/baseline.py``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from tests.benchmarks.baseline import bench_baseline, beside
from tests.benchmarks.delivery_bench import MAPPING_TASK_CASE, bench_delivery
from tests.benchmarks.mapping_bench import bench_mapping, bench_requests
from tests.benchmarks.report import BenchmarkRow, markdown_table, write_json

BENCHMARKS: list[Callable[[], list[BenchmarkRow]]] = [bench_mapping, bench_requests, bench_delivery]
TARGET_MAPPING_SHARE = 25


def main(selected: list[str]) -> None:
    environment = dict(os.environ)  # before the delivery benchmark points it at its own
    rows: list[BenchmarkRow] = []
    for benchmark in BENCHMARKS:
        if not selected or any(name in benchmark.__name__ for name in selected):
            rows.extend(benchmark())
    rows = with_mapping_share(rows)
    baseline = ""
    if any(row.benchmark == "end to end" for row in rows):
        baseline, baseline_rows = bench_baseline(environment)
        rows = beside(rows, baseline_rows)
    print(markdown_table(rows, baseline))
    print(f"(also written to {write_json(rows)})")


def with_mapping_share(rows: list[BenchmarkRow]) -> list[BenchmarkRow]:
    """After the mapping task's row, its rate on a backlog as a share of the pure engine's,
    both of this run."""
    engine = _figure(rows, "mapping", "map_batch (parsed)")
    task = _figure(rows, "mapping task", MAPPING_TASK_CASE)
    if not engine or not task:
        return rows
    share = 100 * task / engine
    verdict = "meets" if share >= TARGET_MAPPING_SHARE else "BELOW"
    note = (
        f"{task:,.0f} ÷ {engine:,.0f} events/s; {verdict} target ≥ {TARGET_MAPPING_SHARE} %"
        " (the engine's batches are larger: 20 events, 10 user attributes)"
    )
    after = next(n for n, row in enumerate(rows, 1) if row.case == MAPPING_TASK_CASE)
    share_row = BenchmarkRow("mapping task", "mapping task ÷ map_batch", share, "%", note)
    return [*rows[:after], share_row, *rows[after:]]


def _figure(rows: list[BenchmarkRow], benchmark: str, case: str) -> float:
    found = [
        r.figure for r in rows if (r.benchmark, r.case, r.unit) == (benchmark, case, "events/s")
    ]
    return found[0] if found else 0.0


if __name__ == "__main__":
    main(sys.argv[1:])
