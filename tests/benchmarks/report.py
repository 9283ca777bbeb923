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
    baseline: float | None = None  # the same figure on the baseline commit, if it ran


def best_seconds(run: Callable[[], object], repeats: int = 5) -> float:
    """Fastest of several runs: the least disturbed by other work on the machine."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


def markdown_table(rows: list[BenchmarkRow], baseline: str = "") -> str:
    """One line a row; with ``baseline`` (the commit's name), two more columns: its figure and
    the ratio current ÷ baseline."""
    header = ["benchmark", "case", "figure", "unit", "note"]
    align = ["---", "---", "---:", "---", "---"]
    if baseline:
        header[3:3], align[3:3] = [baseline, "current ÷ baseline"], ["---:", "---:"]
    lines = [_line(header), _line(align)]
    for row in rows:
        cells = [row.benchmark, row.case, _number(row.figure), row.unit, row.note]
        if baseline:
            ratio = f"{row.figure / row.baseline:.2f}x" if row.baseline else ""
            base = "" if row.baseline is None else _number(row.baseline)
            cells[3:3] = [base, ratio]
        lines.append(_line(cells))
    return "\n".join(lines)


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _number(figure: float) -> str:
    return f"{figure:,.0f}" if figure >= 100 else f"{figure:,.2f}"


def write_json(rows: list[BenchmarkRow]) -> Path:
    path = Path(__file__).resolve().parents[2] / ".local" / "benchmarks.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps([asdict(row) for row in rows], indent=2))
    return path
