from __future__ import annotations

import importlib
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db.migrations import RunPython
from django.test import override_settings

from connections import services
from connections.models import BrazeOutput, Connection
from connections.roles import AUDITOR, MARKETER, OPS
from connections.rules.validation import OutputDraft
from mapping.output_settings import OutputSettings
from mpbraze.settings import filesystem_broker_options

pytest_plugins = ["tests.mparticle_sdk"]

PASSWORD = "correct horse battery staple"
TEST_QUEUE = f"mpbraze-test-{uuid.uuid4().hex[:8]}"
METRICS_DIRS: list[str] = []  # made by the xdist controller for its workers


ROLE_FUNCTIONS = ("create_roles", "grant_")


def role_migrations() -> list[Any]:
    """The forward functions of every data migration that creates roles or grants them
    permissions (``create_roles``, ``grant_…``), in migration order: the ``*_roles``
    migrations, and the grants a feature's own migration makes (erasures, profiles)."""
    functions = []
    for app in ("connections", "mapping"):
        folder = Path(importlib.import_module(f"{app}.migrations").__path__[0])
        for path in sorted(folder.glob("0*.py")):
            module = importlib.import_module(f"{app}.migrations.{path.stem}")
            operations = module.Migration.operations
            functions += [
                op.code
                for op in operations
                if isinstance(op, RunPython)
                and getattr(op.code, "__name__", "").startswith(ROLE_FUNCTIONS)
            ]
    return functions


def ensure_roles() -> None:
    """Re-run the role data migrations when a transactional test's flush removed the groups."""
    if Group.objects.exists():
        return
    for grant_roles in role_migrations():
        grant_roles(django_apps, None)


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
    return make_user("auditor", AUDITOR)


@pytest.fixture
def ops(db: None) -> User:
    return make_user("ops", OPS)


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


@pytest.fixture(autouse=True, scope="session")
def _private_task_queue(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tasks published by tests go to a queue of this run only, never to a developer's worker.

    Integration tests start their Celery worker on the same queue (``TEST_QUEUE``).
    """
    from mpbraze.celery import app

    app.conf.task_default_queue = TEST_QUEUE
    if app.conf.broker_url.startswith("filesystem"):
        folder = tmp_path_factory.mktemp("broker")
        app.conf.broker_transport_options = filesystem_broker_options(folder)
        settings.BROKER_DIR = folder  # workers started by integration tests share it


@pytest.fixture(autouse=True, scope="session")
def _collected_static_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Pages name their static files through the manifest ``collectstatic`` writes, as in
    production (DEBUG is off in tests): collect once per run, into a folder of this run; the
    live server finds the collected copies too (tests/collected_static.py)."""
    from django.core.management import call_command

    finders = [*settings.STATICFILES_FINDERS, "tests.collected_static.CollectedStaticFinder"]
    with override_settings(STATIC_ROOT=str(tmp_path_factory.mktemp("static"))):
        call_command("collectstatic", "--noinput", verbosity=0)
        with override_settings(STATICFILES_FINDERS=finders):
            yield


def pytest_configure(config: pytest.Config) -> None:
    """The controller (not an xdist worker) names the file fault tests write ledgers to."""
    if not hasattr(config, "workerinput") and "MPBRAZE_LEDGER_FILE" not in os.environ:
        folder = Path(tempfile.mkdtemp(prefix="mpbraze-ledgers-"))
        os.environ["MPBRAZE_LEDGER_FILE"] = str(folder / "ledgers.txt")


@pytest.hookimpl(optionalhook=True)  # an xdist hook: no error when xdist is off
def pytest_xdist_setupnodes(config: pytest.Config, specs: list[Any]) -> None:
    """Each xdist worker counts its metrics in a directory of its own: prometheus-client takes
    it from the environment, which settings read before any conftest runs, so it is given to
    the worker process at its start. Celery workers and gunicorn started by a test inherit it."""
    for spec in specs:
        spec.env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mpbraze-metrics-")
        METRICS_DIRS.append(spec.env["PROMETHEUS_MULTIPROC_DIR"])


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in METRICS_DIRS:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    path = Path(os.environ.get("MPBRAZE_LEDGER_FILE", "/nonexistent"))
    if path.exists():
        terminalreporter.section("fault-injection ledgers")
        for line in sorted(path.read_text().splitlines()):
            terminalreporter.write_line(line)


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    """Names mapped here resolve to the given address (``None``: no such name)."""
    table: dict[str, str | None] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if host not in table:
            return real(host, port, *args, **kwargs)
        address = table[host]
        if address is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Iterator[None]:
    """Each test counts failed sign-ins and inbound credentials afresh: Redis outlives a run,
    and every test's client comes from 127.0.0.1 (mpbraze.throttle keys carry the prefix).
    Not through pytest-django's ``settings`` fixture: table tests name a parameter so."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    caches = {name: {**config, "KEY_PREFIX": prefix} for name, config in settings.CACHES.items()}
    with override_settings(CACHES=caches):
        yield


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """On SQLite the test database is a file of this run (each xdist worker its own), not
    memory: the Celery workers and web servers that integration tests start open it, as
    ``make run``'s web, worker and beat share ``.local/db.sqlite3``."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        folder = tmp_path_factory.mktemp("database")
        database.setdefault("TEST", {})["NAME"] = str(folder / "test.sqlite3")


def purge_queues(*names: str) -> None:
    """Empty these task queues on the broker in force (one not declared yet holds nothing)."""
    from mpbraze.celery import app

    with app.connection_for_write() as connection:
        for name in names:
            channel: Any = connection.channel()
            try:
                channel.queue_purge(name)
            except Exception:  # noqa: S110 - a queue not declared yet holds nothing to purge
                pass
            finally:
                if getattr(channel, "is_open", True):
                    channel.close()
