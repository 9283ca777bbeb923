"""Fixtures of the forwarder tests: a fake Braze and a Server output that points at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User

from connections import roles
from connections.api.tokens import api_token_create
from connections.models import BrazeOutput, Connection
from devtools.fakebraze import FakeBraze
from tests.connections.api_helpers import ApiClient, with_roles
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


@pytest.fixture
def api_as(db: None) -> Callable[..., ApiClient]:
    """``api_as(user, "read,write")``: a client holding a new token of ``user``."""

    def make(user: User, scopes: str = "read,write,replay") -> ApiClient:
        _, plain = api_token_create(user=user, scopes=scopes.split(","))
        return ApiClient(plain)

    return make


@pytest.fixture
def operator(db: None) -> User:
    """A person with every role: configures (Marketer), audits (Auditor), replays (Ops)."""
    return with_roles("operator", roles.MARKETER, roles.AUDITOR, roles.OPS)


@pytest.fixture
def api(api_as: Callable[..., ApiClient], operator: User) -> ApiClient:
    return api_as(operator)
