"""Addresses and values that used to answer 500: a NUL anywhere in a URL, an instance finder
value that is not a URL. Each is refused with 400 or 404 (or a form error), never a 5xx."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from connections.models import Connection
from connections.rules.instances import find_instance
from tests.connections.inbound_helpers import Sender, sdk_batch
from tests.connections.pages.test_pages import output_form

pytestmark = pytest.mark.django_db
NUL_MESSAGE = "The address contains a NUL character (%00), which no page or API accepts."


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/connections/{pk}/outputs/%00/",
        "/connections/{pk}/outputs/%00/delete/",
        "/connections/{pk}/outputs/%00/test/",
        "/connections/{pk}/outputs/ios%00x/",
        "/connections/{pk}/?next=%00",
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_nul_in_a_page_address_answers_400(
    marketer: User, connection: Connection, path: str, method: str
) -> None:
    response = getattr(signed_in(marketer), method)(path.format(pk=connection.pk))

    assert response.status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/admin/connections/failedsend/?status=%00",
        "/admin/connections/failedsend/?q=%00",
        "/admin/connections/delivery/?status__exact=%00",
        "/admin/connections/connection/?enabled__exact=%00",
        "/admin/connections/connection/%00/history/",
        "/admin/connections/connection/%00/change/",
    ],
)
def test_a_nul_in_an_admin_filter_or_object_address_answers_400(path: str) -> None:
    admin = User.objects.create_superuser("root", password="x")

    assert signed_in(admin).get(path).status_code == 400


def test_a_nul_in_a_rest_api_address_answers_the_apis_json_error() -> None:
    response = Client().get("/api/v1/connections?cursor=%00")

    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"code": "invalid", "message": NUL_MESSAGE, "field": None}]
    }


def test_a_nul_in_an_inbound_address_answers_mparticles_json_error(
    connection: Connection,
) -> None:
    response = Sender(Client(), connection).post("/v2/events?x=%00", sdk_batch())

    assert response.status_code == 400
    assert response.json() == {"errors": [{"code": "BAD_REQUEST", "message": NUL_MESSAGE}]}


def test_an_escaped_percent_sign_is_not_a_nul(marketer: User, connection: Connection) -> None:
    response = signed_in(marketer).get(f"/connections/{connection.pk}/outputs/%2500/")

    assert response.status_code == 404


@pytest.mark.parametrize("pasted", ["[", "//[", "http://[::1", "https://[fe80::1%25/x", "]"])
def test_the_instance_finder_finds_nothing_in_a_broken_ipv6_literal(pasted: str) -> None:
    assert find_instance(pasted) is None


@pytest.mark.parametrize("pasted", ["[", "//[", "http://[::1"])
def test_the_output_form_says_nothing_matches_a_broken_address(
    marketer: User, connection: Connection, pasted: str
) -> None:
    response = signed_in(marketer).post(
        f"/connections/{connection.pk}/outputs/new/", output_form(instance_finder=pasted)
    )

    assert response.status_code == 200
    assert response.context["form"].errors["instance_finder"] == [
        "No Braze instance matches that address; choose Custom for other endpoints."
    ]


@pytest.mark.parametrize("model", ["connection", "brazeoutput"])
@pytest.mark.parametrize("object_id", ["%5B", "abc", "1.5", "99999999999999999999999"])
def test_the_history_of_an_object_that_cannot_exist_answers_404(model: str, object_id: str) -> None:
    admin = User.objects.create_superuser("root", password="x")

    response = signed_in(admin).get(f"/admin/connections/{model}/{object_id}/history/")

    assert response.status_code == 404
