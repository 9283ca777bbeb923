"""Marketer pages: sign-in, permissions, forms with inline errors, nothing half-saved."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections.models import BrazeOutput, Connection, Delivery
from tests.conftest import add_output

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def output_form(**overrides: Any) -> dict[str, Any]:
    form = {
        "platform": "ios",
        "api_key": "ios-app-key-0001",
        "braze_instance": "US-03",
        "external_identity_type": "customer_id",
        "email_identity_type": "email",
        "type_detection": "none",
        "commerce_mode": "purchase_per_product",
        "product_id_source": "sku",
        "include_enriched_user_attributes": "on",
        "user_tags_value": "true",
        "anonymous_users": "drop",
        "batch_size_mode": "combined_75",
        "max_attribute_array_length": "500",
    }
    return {**form, **overrides}


def test_it_sends_anonymous_visitors_to_sign_in() -> None:
    response = Client().get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_marketer_signs_in_with_a_password(marketer: User) -> None:
    client = Client()
    response = client.post(
        reverse("login"), {"username": "marketer", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_wrong_password_is_refused_on_the_page(marketer: User) -> None:
    response = Client().post(reverse("login"), {"username": "marketer", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_the_dashboard_lists_connections_with_their_status(
    marketer: User, connection: Connection
) -> None:
    Connection.objects.filter(pk=connection.pk).update(paused_reason="Braze answered 401")
    page = signed_in(marketer).get(reverse("dashboard")).content.decode()
    assert "Shop app" in page
    assert "Paused" in page
    assert "Braze answered 401" in page


def test_creating_a_connection_shows_the_inbound_secret_once(marketer: User) -> None:
    client = signed_in(marketer)
    response = client.post(reverse("connection_create"), {"name": "Shop app"}, follow=True)
    connection = Connection.objects.get()
    page = response.content.decode()
    assert connection.inbound_key in page
    assert "it is shown only once" in page
    again = client.get(connection.get_absolute_url()).content.decode()
    assert "it is shown only once" not in again
    assert "hidden (stored hashed)" in again


def test_a_connection_needs_a_name(marketer: User) -> None:
    response = signed_in(marketer).post(reverse("connection_create"), {"name": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Connection.objects.exists()


def test_the_connection_page_shows_the_four_platforms(
    marketer: User, connection: Connection
) -> None:
    add_output(connection, "ios", "ios-app-key-0001")
    page = signed_in(marketer).get(connection.get_absolute_url()).content.decode()
    for platform in ("iOS", "Android", "Web", "Server"):
        assert f"<h3>{platform}</h3>" in page
    assert "rest.iad-03.braze.com" in page
    assert "••••0001" in page
    assert "ios-app-key-0001" not in page
    assert "Customer ID" in page


def test_adding_an_output_saves_it_with_a_masked_key(
    marketer: User, connection: Connection
) -> None:
    url = reverse("output_create", args=[connection.pk])
    response = signed_in(marketer).post(url, output_form(), follow=True)
    output = BrazeOutput.objects.get()
    assert (output.platform, output.braze_instance, output.api_key_masked) == (
        "ios",
        "US-03",
        "••••0001",
    )
    assert "Output saved." in response.content.decode()


def test_a_pasted_endpoint_is_normalised_with_a_visible_notice(
    marketer: User, connection: Connection
) -> None:
    form = output_form(
        braze_instance="custom", custom_rest_endpoint="https://rest.iad-01.braze.com/"
    )
    url = reverse("output_create", args=[connection.pk])
    page = signed_in(marketer).post(url, form, follow=True).content.decode()
    assert BrazeOutput.objects.get().custom_rest_endpoint == "rest.iad-01.braze.com"
    assert "removed “https://” and the trailing “/”" in page


def test_an_invalid_output_shows_the_error_on_the_field_and_keeps_the_other_values(
    marketer: User, connection: Connection
) -> None:
    form = output_form(
        braze_instance="custom",
        custom_rest_endpoint="rest.iad-01.braze.com",
        custom_sdk_endpoint="sdk.api.braze. om",
        external_identity_type="other_id_3",
    )
    response = signed_in(marketer).post(reverse("output_create", args=[connection.pk]), form)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors == {
        "custom_sdk_endpoint": [
            "Custom SDK endpoint contains a space; enter a hostname such as sdk.iad-03.braze.com."
        ]
    }
    page = response.content.decode()
    assert 'value="rest.iad-01.braze.com"' in page
    assert '<option value="other_id_3" selected>' in page
    assert "ios-app-key-0001" not in page  # the key is never echoed back
    assert not BrazeOutput.objects.exists()


def test_the_instance_finder_says_when_nothing_matches(
    marketer: User, connection: Connection
) -> None:
    form = output_form(instance_finder="https://example.com")
    response = signed_in(marketer).post(reverse("output_create", args=[connection.pk]), form)
    assert response.context["form"].errors["instance_finder"] == [
        "No Braze instance matches that address; choose Custom for other endpoints."
    ]


def test_editing_an_output_keeps_the_key_when_left_blank(
    marketer: User, connection: Connection
) -> None:
    add_output(connection, "ios", "ios-app-key-0001")
    url = reverse("output_edit", args=[connection.pk, "ios"])
    signed_in(marketer).post(url, output_form(api_key="", external_identity_type="mpid"))
    output = BrazeOutput.objects.get()
    assert (output.external_identity_type, output.api_key_masked) == ("mpid", "••••0001")


def test_a_server_output_without_an_app_output_is_refused_on_the_platform_field(
    marketer: User, connection: Connection
) -> None:
    form = output_form(platform="server", api_key="rest-key-9999")
    response = signed_in(marketer).post(reverse("output_create", args=[connection.pk]), form)
    assert "add-on to the embedded kit" in response.context["form"].errors["platform"][0]


def test_the_last_app_output_cannot_be_deleted_while_a_server_output_needs_it(
    marketer: User, connection: Connection
) -> None:
    add_output(connection, "ios", "ios-app-key-0001")
    add_output(connection, "server", "rest-key-9999")
    url = reverse("output_delete", args=[connection.pk, "ios"])
    page = signed_in(marketer).post(url, follow=True).content.decode()
    assert "Remove the Server output first" in page
    assert BrazeOutput.objects.count() == 2


def test_deleting_asks_for_confirmation_first(marketer: User, connection: Connection) -> None:
    client = signed_in(marketer)
    url = reverse("connection_delete", args=[connection.pk])
    assert "This cannot be undone." in client.get(url).content.decode()
    assert Connection.objects.exists()
    client.post(url)
    assert not Connection.objects.exists()


def test_rotating_the_inbound_secret_shows_the_new_one_once(
    marketer: User, connection: Connection
) -> None:
    before = connection.inbound_secret_hash
    url = reverse("connection_rotate_secret", args=[connection.pk])
    page = signed_in(marketer).post(url, {"overlap_hours": "24"}).content.decode()
    connection.refresh_from_db()
    assert connection.inbound_secret_hash != before
    assert 'id="new-secret"' in page


@pytest.mark.parametrize(
    "name", ["connection_detail", "connection_edit", "connection_delete", "output_create"]
)
def test_unknown_connection_ids_are_404(marketer: User, name: str) -> None:
    assert signed_in(marketer).get(reverse(name, args=[999999])).status_code == 404


def test_an_unknown_platform_is_404(marketer: User, connection: Connection) -> None:
    url = reverse("output_edit", args=[connection.pk, "tvos"])
    assert signed_in(marketer).get(url).status_code == 404


@pytest.mark.parametrize(
    ("persona", "name", "status"),
    [
        ("outsider", "dashboard", 403),
        ("outsider", "connection_detail", 403),
        ("auditor", "connection_detail", 200),
        ("auditor", "connection_edit", 403),
        ("auditor", "output_create", 403),
        ("ops", "connection_detail", 200),
        ("ops", "connection_delete", 403),
        ("marketer", "connection_edit", 200),
        ("marketer", "output_create", 200),
    ],
)
def test_each_persona_reaches_only_what_its_role_allows(
    request: pytest.FixtureRequest, connection: Connection, persona: str, name: str, status: int
) -> None:
    user = request.getfixturevalue(persona)
    args = [] if name == "dashboard" else [connection.pk]
    assert signed_in(user).get(reverse(name, args=args)).status_code == status


def test_an_auditor_cannot_post_changes(auditor: User, connection: Connection) -> None:
    url = reverse("connection_rotate_secret", args=[connection.pk])
    before = connection.inbound_secret_hash
    assert signed_in(auditor).post(url).status_code == 403
    connection.refresh_from_db()
    assert connection.inbound_secret_hash == before


def test_the_dashboard_counts_sent_and_failed_objects_of_the_last_24_hours(
    marketer: User, connection: Connection
) -> None:
    from tests.connections.delivery_helpers import event, queue_rows

    add_output(connection, "ios", "ios-app-key-0001")
    server = add_output(connection, "server", "rest-key-9999")
    rows = queue_rows(server, [event("u1"), event("u2"), event("u3"), event("u4")])
    Delivery.objects.filter(pk__in=[rows[0].pk, rows[1].pk]).update(status="sent")
    Delivery.objects.filter(pk=rows[2].pk).update(status="dead", failed_at=timezone.now())
    page = signed_in(marketer).get(reverse("dashboard")).content.decode()
    assert "2 sent</span> · " in page
    assert '<span class="count-failed bad">1 failed</span>' in page  # no admin link for them
    assert "1 waiting" in page


def test_an_auditor_follows_the_failed_count_to_exactly_those_rows_in_the_admin(
    auditor: User, connection: Connection
) -> None:
    import html
    import re

    from tests.connections.delivery_helpers import event, queue_rows

    add_output(connection, "ios", "ios-app-key-0001")
    server = add_output(connection, "server", "rest-key-9999")
    rows = queue_rows(server, [event("fresh-fail"), event("old-fail"), event("waiting")])
    now = timezone.now()
    Delivery.objects.filter(pk=rows[0].pk).update(status="dead", failed_at=now)
    Delivery.objects.filter(pk=rows[1].pk).update(status="dead", failed_at=now - timedelta(days=2))
    client = signed_in(auditor)
    page = client.get(reverse("dashboard")).content.decode()
    link = re.search(r'<a class="count-failed bad" href="([^"]+)"[^>]*>1 failed</a>', page)
    assert link is not None
    listing = client.get(html.unescape(link.group(1))).content.decode()
    assert "fresh-fail" in listing
    assert "old-fail" not in listing
    assert "waiting" not in listing


@pytest.mark.parametrize(
    "overrides",
    [
        {"platform": "tvos"},
        {"braze_instance": "US-99"},
        {"max_attribute_array_length": "many"},
        {"max_attribute_array_length": "100000"},
        {"commerce_mode": "everything"},
        {"api_key": "key\x00with-null"},
        {"custom_rest_endpoint": "x" * 5000, "braze_instance": "custom"},
        {"external_identity_type": ""},
    ],
    ids=["platform", "instance", "not-a-number", "too-large", "choice", "nul", "huge", "blank"],
)
def test_malformed_output_posts_get_field_errors_never_a_500(
    marketer: User, connection: Connection, overrides: dict[str, str]
) -> None:
    response = signed_in(marketer).post(
        reverse("output_create", args=[connection.pk]), output_form(**overrides)
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) & set(overrides), errors
    assert not BrazeOutput.objects.exists()
