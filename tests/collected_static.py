"""The live server serves what WhiteNoise serves in production: the collected, hashed files.

Django's live server answers /static/ itself, through the staticfiles finders, which know only
the sources (``mpbraze.css``); pages in tests name the hashed copies (``mpbraze.<hash>.css``)
that ``collectstatic`` wrote to STATIC_ROOT. This finder, appended after the usual ones for the
test run (tests/conftest.py), finds those.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.utils._os import safe_join


class CollectedStaticFinder(BaseFinder):
    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:  # str or list[str]
        candidate = Path(safe_join(settings.STATIC_ROOT, path))
        found = [str(candidate)] if candidate.is_file() else []
        return found if find_all else (found[0] if found else [])

    def list(self, ignore_patterns: Any) -> list[Any]:
        return []  # collectstatic never collects from its own target
