"""The REST API's connections and outputs: the forms' rules, write-only keys, nothing
partly written, and JSON errors that name the field (issue 11, point 1)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from connections import selectors
from connections.models import BrazeOutput, Connection
from connections.pages.forms import OUTPUT_CONFIG_FIELDS, BrazeOutputForm
from connections.rules.validation import OutputDraft
from connections.services import inbound_secret_matches
from tests.conftest import add_output
from tests.connections.api_helpers import ApiClient

pytestmark = pytest.mark.django_db

IOS = {"platform": "ios", "api_key": "ios-app-key-0001"}
SERVER = {"platform": "server", "api_key": "rest-api-key-0002"}


def errors(response: Any) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in response.json()["errors"]]


def test_a_connection_is_created_with_its_outputs_and_its_secret_shown_once(
    api: ApiClient,
) -> None:
    response = api.post("connections", {"name": "Shop app", "outputs": [SERVER, IOS]})

    assert response.status_code == 201, response.content
    body = response.json()
    connection = Connection.objects.get(pk=body["id"])
    assert inbound_secret_matches(connection, body["inbound_secret"])
    assert [o["platform"] for o in body["outputs"]] == ["ios", "server"]
    assert body["outputs"][1]["api_key_masked"] == "••••0002"
    assert b"rest-api-key-0002" not in response.content
    read = api.get(f"connections/{connection.pk}")
    assert "inbound_secret" not in read.json()
    assert b"rest-api-key" not in read.content


def test_an_invalid_output_writes_nothing_and_names_the_field(api: ApiClient) -> None:
    bad = {**IOS, "braze_instance": "custom", "custom_rest_endpoint": "rest.braze.com/api"}
    response = api.post("connections", {"name": "Shop", "outputs": [SERVER, bad]})

    assert response.status_code == 422
    assert errors(response) == [("outputs.1.custom_rest_endpoint", "invalid")]
    assert "remove the path" in response.json()["errors"][0]["message"]
    assert not Connection.objects.exists()
    assert not BrazeOutput.objects.exists()


def test_a_server_output_alone_is_refused_as_on_the_page(api: ApiClient) -> None:
    response = api.post("connections", {"name": "Shop", "outputs": [SERVER]})

    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "outputs.0.platform"
    assert "needs an iOS, Android or Web output" in error["message"]
    assert not Connection.objects.exists()


OUTPUT_CASES = [
    pytest.param({"platform": "server", "api_key": "k-1"}, [], id="server-without-app"),
    pytest.param({"platform": "ios", "api_key": "has space"}, [], id="spaced-key"),
    pytest.param(
        {"platform": "ios", "api_key": "k-2", "braze_instance": "custom"}, [], id="custom-no-rest"
    ),
    pytest.param(
        {
            "platform": "android",
            "api_key": "k-3",
            "braze_instance": "custom",
            "custom_rest_endpoint": "10.0.0.8",
        },
        [],
        id="private-address",
    ),
    pytest.param({"platform": "android", "api_key": "ios-app-key-0001"}, ["ios"], id="key-reused"),
    pytest.param(
        {"platform": "server", "api_key": "k-4", "braze_instance": "EU-01"},
        ["ios"],
        id="other-workspace",
    ),
    pytest.param(
        {"platform": "ios", "api_key": "k-5", "custom_sdk_endpoint": "sdk.iad-01.braze.com"},
        [],
        id="endpoint-with-named-instance",
    ),
]


@pytest.mark.parametrize(("values", "existing"), OUTPUT_CASES)
def test_the_api_and_the_form_refuse_an_output_with_the_same_messages(
    api: ApiClient, connection: Connection, values: dict[str, Any], existing: list[str]
) -> None:
    for platform in existing:
        add_output(connection, platform, "ios-app-key-0001")
    defaults = OutputDraft(platform=values["platform"])
    data = {
        **BrazeOutputForm.initial_for(None, values["platform"]),
        **{name: getattr(defaults, name) for name in OUTPUT_CONFIG_FIELDS},
        **values,
    }
    form = BrazeOutputForm(data, siblings=selectors.output_siblings(connection))
    assert not form.is_valid()
    on_page = sorted((f, m) for f, ms in form.errors.items() for m in ms)

    response = api.post(f"connections/{connection.pk}/outputs", values)

    assert response.status_code == 422
    by_api = sorted((e["field"] or "__all__", e["message"]) for e in response.json()["errors"])
    assert by_api == on_page
    assert connection.outputs.count() == len(existing)


def test_outputs_are_read_changed_and_deleted(api: ApiClient, connection: Connection) -> None:
    url = f"connections/{connection.pk}/outputs"
    assert api.post(url, IOS).status_code == 201
    assert api.post(url, SERVER).status_code == 201

    changed = api.patch(
        f"{url}/server",
        {"api_key": "rest-api-key-9999", "settings": {"forward_screen_views": True}},
    )

    assert changed.status_code == 200, changed.content
    assert changed.json()["api_key_masked"] == "••••9999"
    assert changed.json()["settings"]["forward_screen_views"] is True
    assert changed.json()["settings"]["batch_size_mode"] == "combined_75"  # untouched
    kept = api.patch(f"{url}/server", {"settings": {"event_denylist": ["Debug"]}})
    assert kept.json()["settings"]["forward_screen_views"] is True
    assert kept.json()["api_key_masked"] == "••••9999"  # no key given: the stored one stays
    assert [o["platform"] for o in api.get(url).json()] == ["ios", "server"]
    refused = api.delete(f"{url}/ios")
    assert refused.status_code == 409
    assert "Remove the Server output first" in refused.json()["errors"][0]["message"]
    assert api.delete(f"{url}/server").status_code == 204
    assert api.get(f"{url}/server").status_code == 404


def test_a_bad_setting_is_named_by_its_path(api: ApiClient, connection: Connection) -> None:
    url = f"connections/{connection.pk}/outputs"
    unknown = api.post(url, {**IOS, "settings": {"forward_everything": True}})
    out_of_range = api.post(url, {**IOS, "settings": {"max_attribute_array_length": 0}})

    assert errors(unknown) == [("settings.forward_everything", "unknown_field")]
    assert errors(out_of_range) == [("settings.max_attribute_array_length", "invalid")]
    assert not connection.outputs.exists()


def test_a_connection_is_renamed_and_disabled_with_the_forms_rules(
    api: ApiClient, connection: Connection
) -> None:
    renamed = api.patch(f"connections/{connection.pk}", {"name": "Renamed", "enabled": False})
    empty = api.patch(f"connections/{connection.pk}", {"name": "  "})

    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["status"]) == ("Renamed", "disabled")
    assert errors(empty) == [("name", "invalid")]
    connection.refresh_from_db()
    assert connection.name == "Renamed"


def test_rotating_the_secret_shows_the_new_one_once_and_retires_the_old(
    api: ApiClient,
) -> None:
    created = api.post("connections", {"name": "Shop"}).json()

    rotated = api.post(f"connections/{created['id']}/rotate-secret")

    assert rotated.status_code == 200
    connection = Connection.objects.get(pk=created["id"])
    assert inbound_secret_matches(connection, rotated.json()["inbound_secret"])
    assert not inbound_secret_matches(connection, created["inbound_secret"])


def test_lists_are_paged_by_cursor_and_bounded(api: ApiClient) -> None:
    for n in range(5):
        api.post("connections", {"name": f"Connection {n}"})
    seen, cursor, pages = [], None, 0
    while True:
        query = "connections?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(query).json()
        seen += [c["name"] for c in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == sorted(f"Connection {n}" for n in range(5))
    assert pages == 3
    assert errors(api.get("connections?limit=500")) == [("limit", "invalid")]
    assert errors(api.get("connections?cursor=nonsense")) == [("cursor", "invalid")]


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        pytest.param('{"name": "Shop",', 400, [(None, "malformed_json")], id="malformed-json"),
        pytest.param("[1, 2]", 422, None, id="not-an-object"),
        pytest.param({"name": 5}, 422, [("name", "invalid")], id="wrong-type"),
        pytest.param({"name": "Shop", "colour": "red"}, 422, [("colour", "unknown_field")]),
        pytest.param(
            {"name": "Shop", "outputs": [{"platform": "ios", "api_key": 7}]},
            422,
            [("outputs.0.api_key", "invalid")],
            id="nested-wrong-type",
        ),
        pytest.param({"name": "Sh\x00op"}, 422, [("name", "invalid")], id="nul-character"),
        pytest.param('{"name": NaN}', 400, [(None, "malformed_json")], id="nan"),
    ],
)
def test_malformed_bodies_get_a_4xx_naming_the_field_and_write_nothing(
    api: ApiClient, body: Any, status: int, expected: list[tuple[str | None, str]] | None
) -> None:
    response = api.post("connections", body)

    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    if expected is not None:
        assert errors(response) == expected
    assert not Connection.objects.exists()


def test_an_oversized_body_gets_413(api: ApiClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = api.post("connections", {"name": "x" * 20_000})

    assert response.status_code == 413
    assert errors(response) == [(None, "too_large")]


def test_nul_in_a_query_or_path_is_refused_not_a_server_error(
    api: ApiClient, connection: Connection
) -> None:
    refused = api.get("failed-sends?q=%00")  # refused before the API, by the middleware
    assert refused.status_code == 400
    assert errors(refused) == [(None, "invalid")]
    assert api.get(f"connections/{connection.pk}/outputs/%00").status_code == 400
    assert api.get("connections/999999").status_code == 404


def test_another_roles_token_cannot_write(
    api_as: Any, auditor: User, connection: Connection
) -> None:
    response = api_as(auditor, "read,write").post(f"connections/{connection.pk}/outputs", IOS)

    assert response.status_code == 403
    assert "connections.add_brazeoutput" in response.json()["errors"][0]["message"]
    assert not connection.outputs.exists()
