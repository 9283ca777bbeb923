"""The baseline beside the current checkout: this folder's harness, unchanged, run on the product
code of commit BASELINE (extracted with ``git archive``) in a database of its own, right after
the current run. Measuring both commits with one harness keeps the figures comparable: only the
product differs. Its figures print beside the current ones, with the ratio current ÷ baseline.

``MPBRAZE_BENCH_BASELINE`` names another commit, or none when empty. A baseline that cannot run
(no git history, an unknown commit, a failing run) prints one row saying why.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from tests.benchmarks.report import BenchmarkRow
from tests.benchmarks.stack import BENCH_DATABASE, ROOT

BASELINE = os.environ.get("MPBRAZE_BENCH_BASELINE", "bec1d1b")  # main before issue 26
PHASES = "e2e,at_once"
# Rows whose baseline note is worth printing too: the per-table breakdown of row versions.
NOTED = {"SQL row versions"}
HARNESS = Path(__file__).resolve().parent


def bench_baseline(environment: Mapping[str, str]) -> tuple[str, list[BenchmarkRow]]:
    """The baseline's name and end-to-end rows, run with ``environment`` (this process's
    before the benchmarks changed it); no rows when no baseline is asked for, one saying why
    when it could not run."""
    if not BASELINE:
        return "", []
    try:
        commit = _git("rev-parse", "--verify", "--short", f"{BASELINE}^{{commit}}").decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return "", [_skipped(f"{BASELINE} is not in this checkout's git history")]
    with tempfile.TemporaryDirectory(prefix="mpbraze-baseline-") as folder:
        tree = Path(folder)
        _extract(commit, tree)
        log = tree / "baseline-bench.log"
        with log.open("w") as output:
            command = [sys.executable, "-m", "tests.benchmarks", "delivery"]
            env = _child_environment(environment)
            run = subprocess.run(command, cwd=tree, env=env, stdout=output, stderr=output)
        if run.returncode:
            print(log.read_text()[-3000:], file=sys.stderr)
            return "", [_skipped(f"its run exited {run.returncode} (log tail above the table)")]
        rows = json.loads((tree / ".local" / "benchmarks.json").read_text())
    baseline = [BenchmarkRow(**row) for row in rows if row["benchmark"] != "machine"]
    return f"baseline {commit}", baseline


def beside(current: list[BenchmarkRow], baseline: list[BenchmarkRow]) -> list[BenchmarkRow]:
    """The current rows with the baseline's figure of the same case and unit (and, for the
    row versions, its note); baseline rows without a current one at the end, marked so."""
    by_key = {(row.benchmark, row.case, row.unit): row for row in baseline}
    merged: list[BenchmarkRow] = []
    for row in current:
        base = by_key.pop((row.benchmark, row.case, row.unit), None)
        if base is None:
            merged.append(row)
            continue
        note = f"{row.note} · baseline: {base.note}" if row.benchmark in NOTED else row.note
        merged.append(replace(row, baseline=base.figure, note=note))
    unmatched = [replace(row, case=f"{row.case} (baseline only)") for row in by_key.values()]
    return merged + unmatched


def _git(*arguments: str) -> bytes:
    command = ["git", *arguments]
    return subprocess.run(command, cwd=ROOT, capture_output=True, check=True).stdout


def _extract(commit: str, tree: Path) -> None:
    """The commit's files, with this checkout's harness in place of the commit's own."""
    with tarfile.open(fileobj=io.BytesIO(_git("archive", commit))) as archive:
        archive.extractall(tree, filter="data")
    harness = tree / "tests" / "benchmarks"
    shutil.rmtree(harness, ignore_errors=True)
    shutil.copytree(HARNESS, harness, ignore=shutil.ignore_patterns("__pycache__"))


def _child_environment(environment: Mapping[str, str]) -> dict[str, str]:
    env = {name: value for name, value in environment.items() if name != "PYTHONPATH"}
    env.update(
        MPBRAZE_BENCH_BASELINE="",  # the baseline's run runs no baseline of its own
        MPBRAZE_BENCH_PHASES=PHASES,
        MPBRAZE_BENCH_DATABASE=f"{BENCH_DATABASE}_baseline",
    )
    return env


def _skipped(reason: str) -> BenchmarkRow:
    return BenchmarkRow("baseline", f"{BASELINE} skipped", 0, "", reason)
