"""An id that cannot be a database key (negative, beyond 2^63-1, not a number) answers 404 or a
4xx naming the field, never a 500: in every URL pattern, admin filter, API parameter and body
field that takes one. SQLite's driver raises on integers beyond 64 bits, so these run on the
embedded default as well as on PostgreSQL.

The lists of places are read from the project itself (URL patterns, registered admins, the
OpenAPI document), so a new route or filter is covered the day it is added.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import ForeignKey
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter
from django.utils import timezone

from connections import services
from connections.audit.models import FailureGroup
from connections.models import Connection
from connections.rules.ids import MAX_ID, IdConverter, is_id, parse_id
from tests.conftest import add_output
from tests.connections.api_helpers import ApiClient

pytestmark = pytest.mark.django_db

BEYOND = str(MAX_ID + 1)  # 9223372036854775808
BAD_IDS = [
    "-1",
    "0",
    BEYOND,
    "99999999999999999999",
    "-36893488147419103233",
    "1.5",
    "1e5",
    "0x10",
    "abc",
    "9" * 400,
]


# --- The parser ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1", "42", str(MAX_ID), " 7 ", 7])
def test_it_takes_whole_numbers_that_fit_a_key(value: Any) -> None:
    assert parse_id("connection", value) == int(str(value).strip())


@pytest.mark.parametrize("value", [*BAD_IDS, "", "١٢", "+5", True, -3, MAX_ID + 1])
def test_it_names_the_field_of_a_value_that_cannot_be_a_key(value: Any) -> None:
    assert not is_id(value)
    with pytest.raises(ValueError, match=r"^connection: expected an id \(a whole number from 1"):
        parse_id("connection", value)


# --- Pages -----------------------------------------------------------------------------------


def project_patterns() -> Iterator[tuple[str, Any]]:
    """(route, pattern) of every page pattern outside the admin and the API, prefixes joined."""

    def walk(entries: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
        for entry in entries:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                if not route.startswith(("admin/", "api/")):
                    yield from walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                yield route, entry.pattern

    yield from walk(get_resolver().url_patterns, "")


ID_ROUTES = [route for route, p in project_patterns() if "<id:" in route]


def test_every_id_in_a_page_address_is_bounded_by_the_id_converter() -> None:
    plain_ints = [
        route
        for route, p in project_patterns()
        if any(isinstance(c, IntConverter) for c in getattr(p, "converters", {}).values())
    ]
    assert plain_ints == []
    assert len(ID_ROUTES) >= 13
    assert all(
        isinstance(getattr(p, "converters", {}).get("pk"), IdConverter)
        for route, p in project_patterns()
        if "<id:pk>" in route
    )


@pytest.fixture
def superuser_client(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="x"))
    return client


@pytest.fixture
def busy_connection(connection: Connection) -> Connection:
    """With a second connection and a failure group, so the admin shows (and applies) its
    connection and group filters."""
    services.connection_create(name="Other")
    add_output(connection, "ios", "ios-app-key-0001")
    server = add_output(connection, "server", "rest-key-0002")
    now = timezone.now()
    FailureGroup.objects.create(
        connection=connection,
        output=server,
        key="k",
        kind="rejected",
        title="Bad email",
        first_seen=now,
        last_seen=now,
    )
    return connection


@pytest.mark.parametrize("route", ID_ROUTES)
@pytest.mark.parametrize("bad", [BEYOND, "99999999999999999999", "-1", "abc", "9" * 400])
def test_a_page_address_with_an_id_that_cannot_be_a_key_is_not_found(
    superuser_client: Client, busy_connection: Connection, route: str, bad: str
) -> None:
    path = "/" + route.replace("<id:pk>", bad).replace("<str:platform>", "ios")
    for method in ("get", "post"):
        response = getattr(superuser_client, method)(path)
        assert response.status_code == 404, (method, path, response.status_code)


# --- The audit admin -------------------------------------------------------------------------


def related_filters() -> list[tuple[str, str]]:
    """(changelist URL, query parameter) for every list filter through a related row, in each
    spelling the admin takes (``connection``, ``connection__id__exact``, ``output`` of a
    filter on ``output__platform``)."""
    found = []
    for model, model_admin in admin.site._registry.items():
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for entry in model_admin.list_filter:
            name = entry.split("__")[0] if isinstance(entry, str) else ""
            field = model._meta.get_field(name) if name else None
            if isinstance(field, ForeignKey):
                target = field.target_field.name
                found += [(url, name), (url, f"{name}__{target}__exact")]
    return sorted(set(found))


RELATED_FILTERS = related_filters()


def test_the_admin_has_related_filters_to_check() -> None:
    names = {url.split("/")[-2] for url, _ in RELATED_FILTERS}
    assert {"inboundbatch", "deliveryattempt", "connectivitycheck", "mappingissue"} <= names


@pytest.mark.parametrize(("url", "param"), RELATED_FILTERS)
@pytest.mark.parametrize("bad", [BEYOND, "-36893488147419103233", "abc"])
def test_an_admin_filter_names_a_value_that_cannot_be_a_key_and_leaves_it_out(
    superuser_client: Client, busy_connection: Connection, url: str, param: str, bad: str
) -> None:
    response = superuser_client.get(url, {param: bad}, follow=True)
    assert response.status_code == 200, (url, param, bad)
    shown = [str(m) for m in response.context["messages"]]
    assert f"Filter “{param}”: expected a whole number of at most 64 bits." in shown, shown


@pytest.mark.parametrize("bad", BAD_IDS)
def test_an_admin_object_page_with_a_bad_id_is_not_a_server_error(
    superuser_client: Client, busy_connection: Connection, bad: str
) -> None:
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{bad}/"
        for view in ("change/", "history/", "delete/"):
            response = superuser_client.get(base + view)
            assert response.status_code in (302, 403, 404), (base + view, response.status_code)


FAILED_SENDS = "/admin/connections/failedsend/"


# The list and its CSV select by filters; replay and discard take row ids too.
SCREEN_PARAMS = [
    (view, param)
    for view in ("", "replay/", "discard/", "export.csv")
    for param in ("connection", "group", "ids")
    if param != "ids" or view in ("replay/", "discard/")
]


@pytest.mark.parametrize(("view", "param"), SCREEN_PARAMS)
@pytest.mark.parametrize("bad", [BEYOND, "-36893488147419103233", f"1,{BEYOND}", "1.5"])
def test_failed_send_screens_name_an_id_that_cannot_be_a_key(
    superuser_client: Client, busy_connection: Connection, view: str, param: str, bad: str
) -> None:
    response = superuser_client.get(FAILED_SENDS + view, {param: bad}, follow=True)
    text = response.content.decode()
    if view == "export.csv":  # nothing exported rather than every row
        assert response.status_code == 400
        assert f"Filter “{param}”: expected an id" in text, text
    elif view == "":
        assert response.status_code == 200
        assert f"Filter “{param}”: expected an id" in text, text[-2000:]
    else:  # the dry-run page names the value it cannot use
        assert response.status_code == 400
        assert f"{param}: expected " in text, text[-2000:]


# --- The REST API ----------------------------------------------------------------------------


def api_operations(client: Client) -> Iterator[tuple[str, str, dict[str, Any]]]:
    schema = client.get("/api/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def takes_an_integer(schema: dict[str, Any]) -> bool:
    return "integer" in json.dumps(schema)


def fill(path: str, connection: Connection) -> str:
    return path.replace("{pk}", str(connection.pk)).replace("{platform}", "ios")


def assert_refused(response: Any, field: str) -> None:
    assert response.status_code in (404, 422), (response.status_code, response.content[:300])
    if response.status_code == 422:
        fields = [error["field"] for error in response.json()["errors"]]
        assert any(f and (f == field or f.startswith(f"{field}.")) for f in fields), fields


@pytest.mark.parametrize("bad", [BEYOND, "-36893488147419103233", "abc", "9" * 400])
def test_every_api_id_in_a_path_or_query_is_refused_naming_it(
    api: ApiClient, busy_connection: Connection, bad: str
) -> None:
    checked = 0
    for method, path, operation in api_operations(api.client):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "limit" or not takes_an_integer(parameter["schema"]):
                continue
            name = parameter["name"]
            if parameter["in"] == "path":
                url = fill(path.replace("{" + name + "}", bad), busy_connection)
            else:
                url = f"{fill(path, busy_connection)}?{name}={bad}"
            body: dict[str, Any] | None = {} if method in ("post", "patch") else None
            response = api._call(method, url, body)
            assert_refused(response, name)
            checked += 1
    assert checked >= 20


@pytest.mark.parametrize("name", ["connection", "group"])
@pytest.mark.parametrize("bad", [BEYOND, "-1", "abc"])
def test_failed_send_filters_of_the_api_name_an_id_that_cannot_be_a_key(
    api: ApiClient, busy_connection: Connection, name: str, bad: str
) -> None:
    assert_refused(api.get(f"failed-sends?{name}={bad}"), name)
    for action in ("replays", "discards"):
        body = {"filter": {name: bad}, "confirm": True, "reason": "test"}
        assert_refused(api.post(action, body), name)


@pytest.mark.parametrize("action", ["replays", "discards"])
@pytest.mark.parametrize("bad", [MAX_ID + 1, -36893488147419103233, 0, "abc", 1.5])
def test_replay_and_discard_ids_in_a_body_are_refused_naming_them(
    api: ApiClient, busy_connection: Connection, action: str, bad: Any
) -> None:
    assert_refused(api.post(action, {"ids": [1, bad], "reason": "test"}), "ids")


def test_a_cursor_holding_an_id_beyond_a_key_is_refused(api: ApiClient) -> None:
    import base64

    cursor = base64.urlsafe_b64encode(f"pk:{BEYOND}".encode()).decode().rstrip("=")
    assert_refused(api.get(f"deliveries?cursor={cursor}"), "cursor")
