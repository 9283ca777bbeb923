"""Marketer pages and the audit admin under generated input: no 5xx, whatever is posted.

Every form field (read from the page's form class, so new fields are fuzzed too) and every path
parameter gets text with control characters and NULs, huge strings, odd unicode, broken URLs and
very long numbers, over a valid form so validation gets past the first field. Each example
works on a throwaway connection of its own, so pages that delete or rotate can be fuzzed too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connections import services
from connections.models import Connection
from connections.pages import forms as connection_forms
from connections.pages.instance_form import InstanceChangeForm
from mapping.forms import PreviewForm
from tests.conftest import add_output
from tests.connections.pages.test_pages import output_form

pytestmark = pytest.mark.django_db
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ODD = st.sampled_from(
    [
        "",
        "[",
        "//[",
        "http://[::1",
        "https://[fe80::1%25/x",
        "%00",
        "\x00",
        "ios\x00",
        "9" * 400,
        "-1",
        "1e309",
        "NaN",
        "0x1F",
        "'; DROP TABLE connections_connection; --",
        "<script>alert(1)</script>",
        "\u202e\u200b\ufeff",
        "😀" * 60,
        "a" * 100_000,
        "custom",
        "server",
        "web",
        '{"events": [{"event_type": "custom_event", "data": {}}]}',
        "[]",
        "null",
    ]
)
# No lone surrogates: a browser cannot send them (they have no UTF-8 encoding).
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
CONTROL = st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp"]), max_size=20)
NUMBERS = st.integers().map(str) | st.integers(min_value=10**18, max_value=10**60).map(str)
VALUES = st.one_of(ODD, TEXT, CONTROL, NUMBERS)
PKS = st.one_of(st.just("{pk}"), st.integers(min_value=0, max_value=10**40).map(str))
SEGMENTS = st.one_of(st.just("ios"), ODD, CONTROL, TEXT).map(lambda value: quote(value, safe=""))


@dataclass(frozen=True)
class Page:
    path: str  # {pk} and {platform} are filled per example
    fields: tuple[str, ...]
    valid: dict[str, str]

    def __str__(self) -> str:
        return self.path


def fields_of(form: type[forms.Form | forms.ModelForm[Any]]) -> tuple[str, ...]:
    return tuple(form.base_fields)


OUTPUT_FIELDS = fields_of(connection_forms.BrazeOutputForm)
NO_FORM = ("confirm", "next", "platform", "overlap_hours")
LIVE_FILTERS = ("user", "event_name", "fate", "platform", "window", "cursor")
PAGES = [
    Page("/", ("q",), {}),
    Page("/connections/new/", fields_of(connection_forms.ConnectionCreateForm), {"name": "Shop"}),
    Page("/connections/{pk}/", NO_FORM, {}),
    Page(
        "/connections/{pk}/edit/",
        fields_of(connection_forms.ConnectionEditForm),
        {"name": "Shop", "enabled": "on"},
    ),
    Page("/connections/{pk}/delete/", NO_FORM, {}),
    Page(
        "/connections/{pk}/rotate-secret/",
        fields_of(connection_forms.SecretRotationForm),
        {"overlap_hours": "24"},
    ),
    Page("/connections/{pk}/resume/", NO_FORM, {}),
    Page(
        "/connections/{pk}/change-instance/",
        (*fields_of(InstanceChangeForm), "confirm"),
        {"braze_instance": "EU-01", "confirm": "yes"},
    ),
    Page("/connections/{pk}/test/", NO_FORM, {}),
    Page("/connections/{pk}/checks/", NO_FORM, {}),
    Page("/connections/{pk}/checks.json", NO_FORM, {}),
    Page("/connections/{pk}/events/", LIVE_FILTERS, {}),
    Page("/connections/{pk}/events.json", (*LIVE_FILTERS, "after", "refresh"), {}),
    Page("/connections/{pk}/outputs/new/", OUTPUT_FIELDS, output_form(platform="web")),
    Page("/connections/{pk}/outputs/{platform}/", OUTPUT_FIELDS, output_form()),
    Page("/connections/{pk}/outputs/{platform}/delete/", NO_FORM, {}),
    Page("/connections/{pk}/outputs/{platform}/test/", NO_FORM, {}),
    Page("/connections/{pk}/preview/", fields_of(PreviewForm), {"example": "", "batch": "{}"}),
]


def throwaway_connection() -> Connection:
    """A paused connection with an app and a Server output, for one example to change."""
    connection = services.connection_create(name="Throwaway")[0]
    add_output(connection, "ios", "ios-app-key-0001")
    add_output(connection, "server", "rest-key-0002")
    Connection.objects.filter(pk=connection.pk).update(paused_reason="Braze answered 401")
    return connection


@pytest.fixture
def marketer_client(marketer: User) -> Client:
    client = Client()
    client.force_login(marketer)
    return client


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_a_marketer_page_never_answers_5xx_to_generated_input(
    marketer_client: Client, page: Page
) -> None:
    # The values that once answered 500 are always tried, then generated ones.
    @example("get", "{pk}", "%00", {}, {"q": "\x00"})
    @example("post", "{pk}", "ios%00", dict.fromkeys(page.fields, "\x00"), {})
    @example("post", "{pk}", "ios", dict.fromkeys(page.fields, "http://[::1"), {})
    @FUZZ
    @given(
        method=st.sampled_from(["get", "post"]),
        pk=PKS,
        platform=SEGMENTS,
        overrides=st.dictionaries(st.sampled_from(page.fields), VALUES, max_size=4),
        query=st.dictionaries(
            st.sampled_from(["platform", "next", "q", *page.fields]), VALUES, max_size=3
        ),
    )
    def fuzz(
        method: str, pk: str, platform: str, overrides: dict[str, str], query: dict[str, str]
    ) -> None:
        connection = throwaway_connection()
        path = page.path.format(pk=pk.format(pk=connection.pk), platform=platform)
        data = {**page.valid, **overrides}
        if method == "get":
            response = marketer_client.get(path, query)
        else:
            response = marketer_client.post(f"{path}?{_encode(query)}", data)

        assert response.status_code < 500, (method, path, query, data)

    fuzz()


def _encode(query: dict[str, str]) -> str:
    return "&".join(f"{quote(name)}={quote(value, safe='')}" for name, value in query.items())


def admin_changelists() -> list[tuple[str, tuple[str, ...]]]:
    """Every audit screen with the query parameters its filters, search and sorting read."""
    screens = []
    for model, model_admin in admin.site._registry.items():
        names = ["q", "o", "p", "all", "e", "_facets"]
        for entry in model_admin.list_filter:
            if isinstance(entry, str):
                names += [entry, f"{entry}__exact", f"{entry}__id__exact", f"{entry}__isnull"]
            elif isinstance(entry, tuple) and isinstance(entry[0], str):
                names += [entry[0], f"{entry[0]}__exact"]
            else:
                names.append(getattr(entry, "parameter_name", "") or "x")
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        screens.append((url, tuple(names)))
    return screens


@pytest.fixture
def superuser_client(db: None) -> Client:
    throwaway_connection()
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="x"))
    return client


@pytest.mark.parametrize(("url", "params"), admin_changelists(), ids=lambda v: str(v)[:60])
def test_an_audit_screen_never_answers_5xx_to_generated_filters(
    superuser_client: Client, url: str, params: tuple[str, ...]
) -> None:
    @example(dict.fromkeys(params, "\x00"), "1", "")
    @example({}, "%00", "history/")
    @example({}, "%5B", "history/")
    @FUZZ
    @given(
        query=st.dictionaries(st.sampled_from(params), VALUES, max_size=3),
        object_id=st.one_of(st.just("1"), VALUES).map(lambda value: quote(value, safe="")),
        view=st.sampled_from(["", "history/", "change/", "delete/"]),
    )
    def fuzz(query: dict[str, str], object_id: str, view: str) -> None:
        path = f"{url}{object_id}/{view}" if view else url
        response = superuser_client.get(path, query)

        assert response.status_code < 500, (path, query)

    fuzz()
