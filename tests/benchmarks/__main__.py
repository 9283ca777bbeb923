"""`python -m tests.benchmarks [name …]`: run the benchmarks and print one markdown table,
also written as JSON to ``.local/benchmarks.json``.

To add a benchmark, write a function returning ``list[BenchmarkRow]`` and list it in BENCHMARKS.
The delivery benchmark runs the real stack on a database and queue of its own
(``tests/benchmarks/stack.py``); the others are pure.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from tests.benchmarks.delivery_bench import bench_delivery
from tests.benchmarks.mapping_bench import bench_mapping, bench_requests
from tests.benchmarks.report import BenchmarkRow, markdown_table, write_json

BENCHMARKS: list[Callable[[], list[BenchmarkRow]]] = [bench_mapping, bench_requests, bench_delivery]


def main(selected: list[str]) -> None:
    rows: list[BenchmarkRow] = []
    for benchmark in BENCHMARKS:
        if not selected or any(name in benchmark.__name__ for name in selected):
            rows.extend(benchmark())
    print(markdown_table(rows))
    print(f"(also written to {write_json(rows)})")


if __name__ == "__main__":
    main(sys.argv[1:])
