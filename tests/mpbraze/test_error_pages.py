"""400, 403, 404 and 500 answer with mpbraze's own pages when DEBUG is off, not Django's."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views import defaults
from pytest_django.fixtures import DjangoAssertNumQueries
from pytest_django.fixtures import Settings as SettingsWrapper

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _production(settings: SettingsWrapper) -> None:
    settings.DEBUG = False


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_unknown_address_answers_the_products_404_page(marketer: User) -> None:
    response = signed_in(marketer).get("/no-such-page/")
    page = response.content.decode()

    assert response.status_code == 404
    assert "<title>Page not found · mpbraze</title>" in page
    assert "<code>/no-such-page/</code>" in page
    assert f'href="{reverse("dashboard")}"' in page
    assert "Sign out marketer" in page  # the product's header, as on every page


def test_a_missing_connection_answers_the_products_404_page(marketer: User) -> None:
    response = signed_in(marketer).get(reverse("connection_detail", args=[999999]))
    assert response.status_code == 404
    assert "Page not found · mpbraze" in response.content.decode()


def test_a_page_outside_the_users_role_answers_the_products_403_page(outsider: User) -> None:
    response = signed_in(outsider).get(reverse("dashboard"))
    page = response.content.decode()

    assert response.status_code == 403
    assert "<title>Not allowed · mpbraze</title>" in page
    assert "Your account (outsider) does not have the role this page needs." in page


def test_a_bad_request_answers_the_products_400_page() -> None:
    response = Client().get("/login/", HTTP_HOST="not a host")
    assert response.status_code == 400
    assert "<title>Bad request · mpbraze</title>" in response.content.decode()


def test_the_500_page_is_the_products_and_needs_no_database_or_request_context(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    with django_assert_num_queries(0):
        response = defaults.server_error(RequestFactory().get("/"))
    page = response.content.decode()

    assert response.status_code == 500
    assert "<title>Server error · mpbraze</title>" in page
    assert "Something went wrong" in page
    assert "{%" not in page
    assert "{{" not in page


def test_an_unhandled_error_answers_the_products_500_page(settings: SettingsWrapper) -> None:
    settings.ROOT_URLCONF = "tests.mpbraze.failing_urls"
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_a_form_refused_by_the_csrf_check_answers_the_products_page(marketer: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    response = client.post(reverse("connection_create"), {"name": "Shop"})
    page = response.content.decode()

    assert response.status_code == 403
    assert "<title>Form expired · mpbraze</title>" in page
    assert "Go back, reload the page and send the form again." in page
    assert "DEBUG=True" not in page
    assert "Sign out marketer" in page  # the product's header, as on every page
