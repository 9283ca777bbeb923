"""`python -m tests.benchmarks [name …]`: run the benchmarks and print one markdown table.

To add a benchmark, write a function returning ``list[BenchmarkRow]`` and list it in BENCHMARKS.
No database is needed by any benchmark listed here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from tests.benchmarks.mapping_bench import bench_mapping, bench_requests
from tests.benchmarks.report import BenchmarkRow, markdown_table

BENCHMARKS: list[Callable[[], list[BenchmarkRow]]] = [bench_mapping, bench_requests]


def main(selected: list[str]) -> None:
    rows: list[BenchmarkRow] = []
    for benchmark in BENCHMARKS:
        if not selected or any(name in benchmark.__name__ for name in selected):
            rows.extend(benchmark())
    print(markdown_table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
