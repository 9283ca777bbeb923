"""Garbage collection in the long-running processes: Celery workers and the web's workers.

Once a process has imported what it runs, about 120,000 objects (Django, Celery, the app) live
as long as it does, yet every full collection walks them all again, and mapping a backlog
allocates enough containers (decoded payloads, Braze objects) for a full collection every
second or two: profiled, collection took 11 % of the mapping task. Frozen, they are left out of
every collection (``gc.freeze``), and the youngest generation is collected after 10,000
allocations instead of 700. Nothing that becomes garbage later escapes collection.
``MPBRAZE_GC_FREEZE=0`` keeps Python's defaults (docs/configuration.md).
"""

from __future__ import annotations

import gc

from django.conf import settings

YOUNGEST_THRESHOLD = 10_000


def heap_settle() -> None:
    """Freeze what the process holds now, and collect the youngest generation less often.

    Called after the imports and, in a forked child, without collecting first: a collection
    would write to every inherited object and copy the pages it shares with its parent."""
    if not settings.MPBRAZE_GC_FREEZE:
        return
    gc.freeze()
    _youngest, *older = gc.get_threshold()
    gc.set_threshold(YOUNGEST_THRESHOLD, *older)
