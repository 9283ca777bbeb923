"""Shared shape of benchmark results: each benchmark returns rows, __main__ prints one table."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class BenchmarkRow:
    benchmark: str
    case: str
    figure: float
    unit: str
    note: str = ""


def best_seconds(run: Callable[[], object], repeats: int = 5) -> float:
    """Fastest of several runs: the least disturbed by other work on the machine."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


def markdown_table(rows: list[BenchmarkRow]) -> str:
    lines = ["| benchmark | case | figure | unit | note |", "|---|---|---:|---|---|"]
    for row in rows:
        figure = f"{row.figure:,.0f}" if row.figure >= 100 else f"{row.figure:,.2f}"
        lines.append(f"| {row.benchmark} | {row.case} | {figure} | {row.unit} | {row.note} |")
    return "\n".join(lines)


def write_json(rows: list[BenchmarkRow]) -> Path:
    path = Path(__file__).resolve().parents[2] / ".local" / "benchmarks.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps([asdict(row) for row in rows], indent=2))
    return path
