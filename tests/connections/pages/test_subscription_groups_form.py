"""The Server output's subscription group mapping on the output page (issue 24 §4): rows of
``attribute = group id``, validated by the rules the REST API applies, stored typed, shown in
the output's history."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from connections.models import BrazeOutput, Connection
from tests.conftest import add_output
from tests.connections.pages.test_output_form import wrapper_of
from tests.connections.pages.test_pages import output_form, signed_in

pytestmark = pytest.mark.django_db

NEWS = "6f1d9e1c-9b0a-4c53-8f3e-2d2b9a1f4e77"
SMS = "0b7c3c52-5d8e-4b8f-9e1a-3c2d1e0f9a88"
FIELD = "subscription_group_mapping"


@pytest.fixture
def server(connection: Connection) -> BrazeOutput:
    add_output(connection, "ios", "ios-app-key-0001")
    return add_output(connection, "server", "rest-api-key-0002")


def post_mapping(user: User, connection: Connection, text: str) -> Any:
    data = output_form(platform="server", api_key="", **{FIELD: text})
    return signed_in(user).post(reverse("output_edit", args=[connection.pk, "server"]), data)


def field_errors(response: Any) -> list[str]:
    assert response.status_code == 200, "the form was saved"
    return [str(message) for message in response.context["form"].errors[FIELD]]


def test_the_mapping_is_saved_typed_with_group_ids_in_lower_case(
    marketer: User, connection: Connection, server: BrazeOutput
) -> None:
    text = f"newsletter = {NEWS.upper()}\n\n  sms offers=  {SMS}  \n"

    response = post_mapping(marketer, connection, text)

    assert response.status_code == 302
    server.refresh_from_db()
    assert server.settings[FIELD] == [
        {"attribute": "newsletter", "subscription_group_id": NEWS},
        {"attribute": "sms offers", "subscription_group_id": SMS},
    ]
    page = signed_in(marketer).get(reverse("output_edit", args=[connection.pk, "server"]))
    assert page.context["form"][FIELD].value() == f"newsletter = {NEWS}\nsms offers = {SMS}"


MALFORMED: list[Any] = [
    pytest.param(
        "newsletter",
        [
            "Row 1: write the user attribute, then =, then the subscription group id "
            "(newsletter = 6f1d9e1c-9b0a-4c53-8f3e-2d2b9a1f4e77)."
        ],
        id="a_row_without_an_equals_sign",
    ),
    pytest.param(
        f"newsletter = {NEWS}\nsms = 12345",
        [
            "Row 2: “12345” is not a subscription group id: Braze shows it as a UUID such as "
            "6f1d9e1c-9b0a-4c53-8f3e-2d2b9a1f4e77 (Audience → Subscriptions)."
        ],
        id="a_group_id_that_is_not_a_uuid",
    ),
    pytest.param(
        f" = {NEWS}",
        ["Row 1: Name the user attribute."],
        id="a_row_without_an_attribute",
    ),
    pytest.param(
        f"newsletter = {NEWS}\nnewsletter = {SMS}",
        [
            "“newsletter” is mapped twice (rows 1 and 2): a user attribute drives one "
            "subscription group."
        ],
        id="an_attribute_mapped_twice",
    ),
]


@pytest.mark.parametrize(("text", "messages"), MALFORMED)
def test_a_bad_mapping_is_refused_beside_its_field_and_nothing_is_saved(
    marketer: User, connection: Connection, server: BrazeOutput, text: str, messages: list[str]
) -> None:
    response = post_mapping(marketer, connection, text)

    assert field_errors(response) == messages
    server.refresh_from_db()
    assert server.settings[FIELD] == []


def test_the_field_shows_on_the_server_output_only(
    marketer: User, connection: Connection, server: BrazeOutput
) -> None:
    client = signed_in(marketer)
    server_page = client.get(reverse("output_edit", args=[connection.pk, "server"]))
    ios_page = client.get(reverse("output_edit", args=[connection.pk, "ios"]))

    assert "hidden" not in wrapper_of(server_page.content.decode(), FIELD)
    assert "hidden" in wrapper_of(ios_page.content.decode(), FIELD)
    assert "True subscribes, false unsubscribes" in server_page.content.decode()


def test_the_mapping_shows_in_the_outputs_history(
    marketer: User, auditor: User, connection: Connection, server: BrazeOutput
) -> None:
    post_mapping(marketer, connection, f"newsletter = {NEWS}")

    stored = [h.settings[FIELD] for h in server.history.order_by("history_id")]
    assert stored == [[], [{"attribute": "newsletter", "subscription_group_id": NEWS}]]
    url = reverse("admin:connections_brazeoutput_history", args=[server.pk])
    page = signed_in(auditor).get(url).content.decode()
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())  # as read
    link = f'{{"attribute": "newsletter", "subscription_group_id": "{NEWS}"}}'
    assert (
        f"Settings: subscription_group_mapping: [] → subscription_group_mapping: [{link}]" in words
    )
