"""The Content-Security-Policy header on every response, and templates the policy allows.

Whether the pages satisfy it is seen in a real browser: tests/e2e/test_content_security_policy.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from mpbraze.middleware import ContentSecurityPolicyMiddleware, csp_header_value

pytestmark = pytest.mark.django_db
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
# What the policy refuses in a page: inline script (a <script> without src that is not JSON
# data), <style> elements, style attributes, on* handler attributes, javascript: URLs.
REFUSED_MARKUP = {
    "inline script": re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>"),
    "style element": re.compile(r"<style\b"),
    "style attribute": re.compile(r"\sstyle\s*="),
    "handler attribute": re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_setting_reads_as_the_policy() -> None:
    assert csp_header_value(settings.SECURE_CSP) == POLICY


@pytest.mark.parametrize(
    ("persona", "path"),
    [
        ("marketer", "/"),
        ("marketer", "/connections/new/"),
        ("marketer", "/api/v1/docs"),
        ("marketer", "/api/v1/openapi.json"),
        ("auditor", "/admin/"),
        ("auditor", "/admin/connections/failedsend/"),
        ("auditor", "/admin/connections/connection/"),
    ],
)
def test_every_page_of_a_signed_in_user_carries_the_policy(
    request: pytest.FixtureRequest, persona: str, path: str
) -> None:
    response = signed_in(request.getfixturevalue(persona)).get(path)
    assert response.status_code == 200, path
    assert response["Content-Security-Policy"] == POLICY


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/login/", 200),
        ("/admin/login/", 200),
        ("/", 302),
        ("/no-such-page/", 404),
        ("/login/?next=%00", 400),
        ("/v2/events", 405),
        ("/api/v1/connections", 401),
        ("/healthz", 200),
        ("/static/mpbraze.css", 200),
        ("/static/server_error.css", 200),
    ],
)
def test_every_answer_to_an_anonymous_client_carries_the_policy(path: str, status: int) -> None:
    response = Client().get(path)
    assert response.status_code == status, path
    assert response["Content-Security-Policy"] == POLICY


def test_the_403_page_carries_the_policy(outsider: User) -> None:
    response = signed_in(outsider).get(reverse("dashboard"))
    assert response.status_code == 403
    assert response["Content-Security-Policy"] == POLICY


def test_the_csrf_failure_page_carries_the_policy(marketer: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    response = client.post(reverse("connection_create"), {"name": "Shop"})
    assert response.status_code == 403
    assert "Form expired" in response.content.decode()
    assert response["Content-Security-Policy"] == POLICY


def test_the_500_page_carries_the_policy_and_names_its_stylesheet(
    settings: SettingsWrapper,
) -> None:
    settings.ROOT_URLCONF = "tests.mpbraze.failing_urls"
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert response["Content-Security-Policy"] == POLICY
    assert '<link rel="stylesheet" href="/static/server_error.css">' in response.content.decode()


def test_a_response_with_a_policy_of_its_own_keeps_it() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(headers={"Content-Security-Policy": "sandbox"})

    response = ContentSecurityPolicyMiddleware(view)(RequestFactory().get("/"))
    assert response["Content-Security-Policy"] == "sandbox"


def test_djangos_debug_pages_go_without_the_policy_and_the_products_pages_keep_it(
    settings: SettingsWrapper, marketer: User, outsider: User
) -> None:
    # A developer's machine: the debug 404 page's styles are inline; the product's pages and
    # its 403 page (DEBUG does not change it) are what production serves, under the policy.
    settings.DEBUG = True
    debug_404 = signed_in(marketer).get("/no-such-page/")
    assert debug_404.status_code == 404
    assert "Content-Security-Policy" not in debug_404
    assert signed_in(marketer).get("/")["Content-Security-Policy"] == POLICY
    refused = signed_in(outsider).get("/")
    assert refused.status_code == 403
    assert refused["Content-Security-Policy"] == POLICY


def templates() -> list[Path]:
    return sorted((settings.BASE_DIR / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", templates(), ids=lambda path: path.name)
def test_no_template_holds_markup_the_policy_refuses(template: Path) -> None:
    text = template.read_text()
    found = {name: rule.findall(text) for name, rule in REFUSED_MARKUP.items()}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_the_markup_check_finds_what_the_policy_refuses() -> None:
    refused = [
        "<script>go()</script>",
        "<style>p {}</style>",
        '<p class="x" style="color: red">',
        '<button onclick="go()">',
        '<a href="javascript:go()">',
    ]
    allowed = [
        '<script src="/static/copy.js" defer></script>',
        '<script id="examples" type="application/json">{}</script>',
        '<link rel="stylesheet" href="/static/mpbraze.css">',
    ]
    assert [any(r.search(t) for r in REFUSED_MARKUP.values()) for t in refused] == [True] * 5
    assert [any(r.search(t) for r in REFUSED_MARKUP.values()) for t in allowed] == [False] * 3
