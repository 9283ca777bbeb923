"""Schemathesis against /api/v1/openapi.json, with a valid token on seeded data: no request
it generates may get a 5xx, and every answer must match the schema (issue 11, point 6)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from connections.api.tokens import api_token_create
from connections.models import BrazeOutput, Connection
from connections.probes.readiness import heartbeat_record
from tests.connections.delivery_helpers import event, queue_rows

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def keep_connection(db: None) -> Iterator[None]:
    # The WSGI handler closes the database connection after each request, as in production;
    # the test's transaction must survive it (Django's own test client does the same).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def seeded(
    keep_connection: None, operator: User, connection: Connection, output: BrazeOutput
) -> str:
    queue_rows(output, [event("u1"), event("u2")])
    heartbeat_record(worker="celery@test")  # a worker is up: /health answers 200
    _, plain = api_token_create(user=operator, scopes=["read", "write", "replay"])
    return plain


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_answers_every_generated_request_without_a_server_error(
    case: Any, seeded: str
) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {seeded}"}, checks=CHECKS)


def test_no_two_schemas_of_the_api_share_a_name() -> None:
    """The OpenAPI document keys its components by class name: two ``CheckOut`` classes (a
    connectivity check and a readiness check) once made POST /tests promise the wrong shape."""
    from ninja import Schema

    from mpbraze.api import api

    def ours(base: type[Any]) -> Iterator[type[Any]]:
        for child in base.__subclasses__():
            if child.__module__.startswith(("connections.", "mapping.", "mpbraze.")):
                yield child
            yield from ours(child)

    api.get_openapi_schema()  # every router imported
    names = [schema.__name__ for schema in set(ours(Schema))]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
