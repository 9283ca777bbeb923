"""Fixtures of the forwarder tests: a fake Braze and a Server output that points at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connections.fakebraze import FakeBraze
from connections.models import BrazeOutput, Connection
from tests.connections.delivery_helpers import REST_KEY, braze_connection


@pytest.fixture
def no_linger(settings: Any) -> None:
    """Tests that forward once and look: no partly filled request is held back."""
    settings.MPBRAZE_FORWARD_LINGER_SECONDS = 0


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as fake:
        yield fake


@pytest.fixture
def output(connection: Connection, braze: FakeBraze) -> BrazeOutput:
    return braze_connection(connection, braze.url)
