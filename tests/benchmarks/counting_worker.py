"""``python -m tests.benchmarks.counting_worker <celery worker arguments>``: the product's Celery
worker, unchanged, that also counts the SQL statements each task name runs, for the benchmark's
"queries per batch" and "queries per Braze request" figures.

Only a Django execute wrapper is added in each process; totals are written after every task to
``$MPBRAZE_BENCH_COUNTS_DIR/<pid>.json``, and ``ready-<pid>`` once the worker consumes.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_counts: Counter[str] = Counter()
_current = ["(outside tasks)"]


def _count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    _counts[_current[0]] += len(params) if many and isinstance(params, list) else 1
    return execute(sql, params, many, context)


def _install() -> None:
    from celery.signals import task_postrun, task_prerun, worker_ready
    from django.db.backends.signals import connection_created

    folder = Path(os.environ["MPBRAZE_BENCH_COUNTS_DIR"])

    def on_connection(sender: Any, connection: Any, **_: Any) -> None:
        _counts[f"connections opened by {_current[0]}"] += 1
        if _count not in connection.execute_wrappers:
            connection.execute_wrappers.append(_count)

    def on_start(task: Any = None, **_: Any) -> None:
        _current[0] = task.name if task is not None else "(unknown)"

    def on_end(**_: Any) -> None:
        _current[0] = "(outside tasks)"
        path = folder / f"{os.getpid()}.json"
        path.with_suffix(".tmp").write_text(json.dumps(_counts))
        path.with_suffix(".tmp").replace(path)  # a reader never sees half a file

    def on_ready(**_: Any) -> None:
        (folder / f"ready-{os.getpid()}").touch()

    connection_created.connect(on_connection, weak=False)
    task_prerun.connect(on_start, weak=False)
    task_postrun.connect(on_end, weak=False)
    worker_ready.connect(on_ready, weak=False)


def read_counts(folder: Path) -> Counter[str]:
    """Statements per task name, summed over every process that wrote a file."""
    total: Counter[str] = Counter()
    for path in folder.glob("*.json"):
        total.update(json.loads(path.read_text()))
    return total


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mpbraze.settings")
    import django

    django.setup()
    _install()
    from celery.__main__ import main

    sys.argv = ["celery", *sys.argv[1:]]
    main()
