"""The output form (issue 12, defects 3 and 5, and the enriched-attributes default of 6): a
typed key survives another field's error without entering the page, the Server output waits
for an app output, and each platform's page shows the fields that act for it."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from connections import lifecycle, services
from connections.models import BrazeOutput, Connection
from connections.pages.views import SERVER_NEEDS_APP_OUTPUT
from connections.roles import MARKETER
from mapping.output_settings import AnonymousUsers, OutputSettings
from tests.conftest import add_output, make_user
from tests.connections.pages.test_pages import output_form, signed_in

pytestmark = pytest.mark.django_db

TYPED_KEY = "ios-app-key-7c3d"
SPACED_SDK_HOST = {
    "braze_instance": "custom",
    "custom_rest_endpoint": "rest.iad-03.braze.com",
    "custom_sdk_endpoint": "sdk.api.braze. om",
}
FIXED_SDK_HOST = {**SPACED_SDK_HOST, "custom_sdk_endpoint": "sdk.iad-03.braze.com"}


def create_url(connection: Connection, platform: str = "") -> str:
    url = reverse("output_create", args=[connection.pk])
    return f"{url}?platform={platform}" if platform else url


def kept_token(page: str) -> str:
    found = re.search(r'<input type="hidden" name="kept_api_key" value="([^"]+)">', page)
    assert found is not None, "no kept key in the page"
    return found.group(1)


def wrapper_of(page: str, name: str) -> str:
    """The opening tag of the element that holds the field ``name`` (its platforms, hidden)."""
    found = re.search(
        r'(<div data-platforms="[^"]*"[^>]*>)<div class="field[^"]*" id="field-' + name + '"', page
    )
    assert found is not None, f"{name} not in the page"
    return found.group(1)


def post_with_a_wrong_sdk_host(client: Client, connection: Connection) -> str:
    data = output_form(api_key=TYPED_KEY, **SPACED_SDK_HOST)
    response = client.post(create_url(connection), data)
    assert response.status_code == 200
    return response.content.decode()


# Defect 3: the typed key is kept, never echoed


def test_a_key_typed_before_another_fields_error_is_kept_but_never_shown(
    marketer: User, connection: Connection
) -> None:
    page = post_with_a_wrong_sdk_host(signed_in(marketer), connection)

    assert "contains a space" in page
    assert TYPED_KEY not in page
    assert "Your key was kept (••••7c3d); leave blank to use it or type a new one." in page
    assert TYPED_KEY not in kept_token(page)


def test_the_next_post_with_the_kept_key_saves_the_key_typed_first(
    marketer: User, connection: Connection
) -> None:
    client = signed_in(marketer)
    token = kept_token(post_with_a_wrong_sdk_host(client, connection))

    data = output_form(api_key="", kept_api_key=token, **FIXED_SDK_HOST)
    response = client.post(create_url(connection), data)

    assert response.status_code == 302
    output = BrazeOutput.objects.get()
    assert lifecycle.output_api_key(output=output) == TYPED_KEY
    assert output.custom_sdk_endpoint == "sdk.iad-03.braze.com"


def test_a_newly_typed_key_wins_over_the_kept_one(marketer: User, connection: Connection) -> None:
    client = signed_in(marketer)
    token = kept_token(post_with_a_wrong_sdk_host(client, connection))

    data = output_form(api_key="ios-app-key-9999", kept_api_key=token, **FIXED_SDK_HOST)
    client.post(create_url(connection), data)

    assert lifecycle.output_api_key(output=BrazeOutput.objects.get()) == "ios-app-key-9999"


def test_the_key_is_kept_again_when_the_second_post_fails_too(
    marketer: User, connection: Connection
) -> None:
    client = signed_in(marketer)
    token = kept_token(post_with_a_wrong_sdk_host(client, connection))

    data = output_form(api_key="", kept_api_key=token, **SPACED_SDK_HOST)
    page = client.post(create_url(connection), data).content.decode()

    assert "Your key was kept (••••7c3d)" in page
    assert TYPED_KEY not in page
    client.post(
        create_url(connection), {**data, **FIXED_SDK_HOST, "kept_api_key": kept_token(page)}
    )
    assert lifecycle.output_api_key(output=BrazeOutput.objects.get()) == TYPED_KEY


def test_a_kept_key_expires_after_ten_minutes(
    marketer: User, connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_in(marketer)
    token = kept_token(post_with_a_wrong_sdk_host(client, connection))
    later = time.time() + 601
    monkeypatch.setattr(time, "time", lambda: later)  # the clock Fernet reads

    data = output_form(api_key="", kept_api_key=token, **FIXED_SDK_HOST)
    response = client.post(create_url(connection), data)

    assert response.context["form"].errors["api_key"] == [
        "The key typed before is kept 10 minutes only: type it again."
    ]
    assert not BrazeOutput.objects.exists()


def test_a_kept_key_opens_only_for_who_typed_it_on_that_connection(
    marketer: User, connection: Connection
) -> None:
    token = kept_token(post_with_a_wrong_sdk_host(signed_in(marketer), connection))
    other_connection = services.connection_create(name="Other app")[0]
    colleague = signed_in(make_user("colleague", MARKETER))
    data = output_form(api_key="", kept_api_key=token, **FIXED_SDK_HOST)

    for client, target in [(colleague, connection), (signed_in(marketer), other_connection)]:
        response = client.post(create_url(target), data)
        assert "type it again" in response.context["form"].errors["api_key"][0]
    assert not BrazeOutput.objects.exists()


def test_a_stored_keys_ciphertext_is_not_taken_for_a_kept_key(
    marketer: User, connection: Connection
) -> None:
    stored = add_output(connection, "web", "web-app-key-0001")
    data = output_form(api_key="", kept_api_key=stored.api_key_encrypted)

    response = signed_in(marketer).post(create_url(connection), data)

    assert "type it again" in response.context["form"].errors["api_key"][0]
    assert BrazeOutput.objects.count() == 1


def test_a_key_with_its_own_error_is_not_kept(marketer: User, connection: Connection) -> None:
    data = output_form(api_key="has space", **SPACED_SDK_HOST)
    page = signed_in(marketer).post(create_url(connection), data).content.decode()

    assert 'name="kept_api_key"' not in page
    assert "Your key was kept" not in page


# Defect 5: the Server output waits for an app output


def test_add_server_output_is_disabled_with_its_reason_until_an_app_output_exists(
    marketer: User, connection: Connection
) -> None:
    client = signed_in(marketer)
    page = client.get(connection.get_absolute_url()).content.decode()
    assert '<button type="button" disabled aria-describedby="server-needs-app">' in page
    assert SERVER_NEEDS_APP_OUTPUT in page
    assert f"{create_url(connection, 'server')}" not in page

    add_output(connection, "android", "and-app-key-0001")
    page = client.get(connection.get_absolute_url()).content.decode()
    assert f'href="{create_url(connection, "server")}"' in page
    assert SERVER_NEEDS_APP_OUTPUT not in page


def test_the_server_output_page_refuses_with_the_same_reason_before_an_app_output(
    marketer: User, connection: Connection
) -> None:
    response = signed_in(marketer).get(create_url(connection, "server"), follow=True)

    assert response.redirect_chain == [(connection.get_absolute_url(), 302)]
    assert [str(m) for m in response.context["messages"]] == [SERVER_NEEDS_APP_OUTPUT]


def test_the_server_output_page_opens_once_an_app_output_exists(
    marketer: User, connection: Connection
) -> None:
    add_output(connection, "ios", "ios-app-key-0001")
    response = signed_in(marketer).get(create_url(connection, "server"))
    assert response.status_code == 200


# Defect 5: instance, endpoints, required marks and settings per platform


@pytest.mark.parametrize(
    ("existing", "selected"),
    [({}, "US-03"), ({"braze_instance": "EU-01"}, "EU-01")],
    ids=["default", "the-connections"],
)
def test_a_new_output_preselects_the_connections_braze_instance(
    marketer: User, connection: Connection, existing: dict[str, str], selected: str
) -> None:
    if existing:
        add_output(connection, "ios", "ios-app-key-0001", **existing)
    response = signed_in(marketer).get(create_url(connection, "android"))
    assert response.context["form"]["braze_instance"].value() == selected
    assert f'<option value="{selected}" selected>' in response.content.decode()


def test_a_new_output_of_a_custom_connection_starts_with_its_rest_endpoint(
    marketer: User, connection: Connection
) -> None:
    add_output(
        connection,
        "ios",
        "ios-app-key-0001",
        braze_instance="custom",
        custom_rest_endpoint="rest.iad-03.braze.com",
    )
    form = signed_in(marketer).get(create_url(connection, "web")).context["form"]
    assert (form["braze_instance"].value(), form["custom_rest_endpoint"].value()) == (
        "custom",
        "rest.iad-03.braze.com",
    )


@pytest.mark.parametrize(
    ("platform", "js_hidden", "sdk_hidden"),
    [("ios", True, False), ("android", True, False), ("web", False, False)],
)
def test_the_js_endpoint_field_shows_only_for_web(
    marketer: User, connection: Connection, platform: str, js_hidden: bool, sdk_hidden: bool
) -> None:
    page = signed_in(marketer).get(create_url(connection, platform)).content.decode()
    assert wrapper_of(page, "custom_js_endpoint") == (
        f'<div data-platforms="web"{" hidden" if js_hidden else ""}>'
    )
    assert ("hidden" in wrapper_of(page, "custom_sdk_endpoint")) is sdk_hidden


def test_a_js_endpoint_left_in_the_hidden_field_of_an_ios_output_is_not_saved(
    marketer: User, connection: Connection
) -> None:
    data = output_form(**FIXED_SDK_HOST, custom_js_endpoint="sdk.iad-03.braze.com")
    signed_in(marketer).post(create_url(connection, "ios"), data)
    assert BrazeOutput.objects.get().custom_js_endpoint == ""


def test_required_fields_are_marked(marketer: User, connection: Connection) -> None:
    client = signed_in(marketer)
    page = client.get(create_url(connection, "ios")).content.decode()
    star = '<span class="req" aria-hidden="true">*</span>'
    assert f'for="id_api_key">API key {star}' in page
    assert f'for="id_custom_rest_endpoint">Custom REST endpoint {star}' in page
    assert f'for="id_custom_sdk_endpoint">Custom SDK endpoint {star}' not in page

    add_output(connection, "ios", "ios-app-key-0001")
    page = client.get(reverse("output_edit", args=[connection.pk, "ios"])).content.decode()
    assert f'for="id_api_key">API key {star}' not in page  # blank keeps the stored key


@pytest.mark.parametrize(
    ("platform", "heading", "shown", "hidden"),
    [
        ("ios", "Kit settings", "type_detection", "include_enriched_user_attributes"),
        ("web", "Kit settings", "product_id_source", "type_detection"),
        ("server", "Forwarding (server to server)", "include_enriched_user_attributes", None),
    ],
)
def test_each_platform_shows_the_settings_that_act_for_it_under_its_heading(
    marketer: User,
    connection: Connection,
    platform: str,
    heading: str,
    shown: str,
    hidden: str | None,
) -> None:
    add_output(connection, "android", "and-app-key-0001")
    page = signed_in(marketer).get(create_url(connection, platform)).content.decode()
    assert re.search(r"<span data-platforms=\"[a-z ]+\">" + re.escape(heading), page)
    assert "hidden" not in wrapper_of(page, shown)
    if hidden:
        assert "hidden" in wrapper_of(page, hidden)
    if platform == "server":
        assert "hidden>Kit settings" in page


def test_an_app_outputs_page_leaves_the_server_to_server_settings_as_stored(
    marketer: User, connection: Connection
) -> None:
    output = add_output(connection, "ios", "ios-app-key-0001")
    stored = OutputSettings(anonymous_users=AnonymousUsers.USER_ALIAS)
    BrazeOutput.objects.filter(pk=output.pk).update(settings=stored.model_dump(mode="json"))
    data: dict[str, Any] = output_form(api_key="", forward_screen_views="on")

    signed_in(marketer).post(reverse("output_edit", args=[connection.pk, "ios"]), data)

    output.refresh_from_db()
    assert output.forwarding.forward_screen_views is True  # a kit setting: taken
    assert output.forwarding.anonymous_users == AnonymousUsers.USER_ALIAS  # server's: kept


# Defect 6: enriched user attributes


def test_enriched_user_attributes_start_on_as_in_mparticle_and_the_form_says_why(
    marketer: User, connection: Connection
) -> None:
    add_output(connection, "ios", "ios-app-key-0001")
    response = signed_in(marketer).get(create_url(connection, "server"))
    assert response.context["form"]["include_enriched_user_attributes"].value() is True
    page = response.content.decode()
    assert "On by default, as in mParticle, so forwarding matches it. Braze recommends off" in page
