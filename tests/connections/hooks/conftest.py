"""REST hook tests post to receivers on this machine, and each starts from no cached
subscribers (``hook_subscribers_forget``: the cache outlives a test's transaction)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connections.hooks import services


@pytest.fixture(autouse=True)
def _local_receivers(settings: Any) -> Iterator[None]:
    settings.MPBRAZE_ALLOW_LOCAL_ENDPOINTS = True
    settings.MPBRAZE_ALLOWED_ENDPOINT_HOSTS = []
    services.hook_subscribers_forget()
    yield
    services.hook_subscribers_forget()
