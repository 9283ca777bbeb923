from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, User

from connections import services
from connections.models import BrazeOutput, Connection
from connections.roles import AUDITOR, MARKETER, OPS
from connections.validation import OutputDraft
from mapping.settings import OutputSettings

PASSWORD = "correct horse battery staple"


ROLE_MIGRATIONS = ["connections.migrations.0002_roles"]


def ensure_roles() -> None:
    """Re-run the role data migrations when a transactional test's flush removed the groups."""
    if Group.objects.exists():
        return
    for name in ROLE_MIGRATIONS:
        importlib.import_module(name).create_roles(django_apps, None)


def make_user(username: str, role: str | None, *, staff: bool = False) -> User:
    ensure_roles()
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=staff)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def marketer(db: None) -> User:
    return make_user("marketer", MARKETER)


@pytest.fixture
def auditor(db: None) -> User:
    return make_user("auditor", AUDITOR, staff=True)


@pytest.fixture
def ops(db: None) -> User:
    return make_user("ops", OPS, staff=True)


@pytest.fixture
def outsider(db: None) -> User:
    return make_user("outsider", None)


@pytest.fixture
def connection(db: None) -> Connection:
    return services.connection_create(name="Shop app")[0]


def add_output(connection: Connection, platform: str, api_key: str, **fields: Any) -> BrazeOutput:
    """Save an output straight through the service (fixtures; rules are tested elsewhere)."""
    draft = OutputDraft(platform=platform, api_key=api_key, **fields)
    return services.output_save(connection=connection, draft=draft, settings=OutputSettings())
