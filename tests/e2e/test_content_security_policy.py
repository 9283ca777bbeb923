"""The Content-Security-Policy, in a real browser: no page reports a violation. The pages are
the phone-width test's (every marketer page), the admin's (every list, add, object and history
page), the API docs (Swagger UI renders its operations) and the error pages.

Chromium says so twice when the policy blocks something: a console error ("Refused to load
the stylesheet ... because it violates the following Content Security Policy directive") and a
``securitypolicyviolation`` event, which a script added before every page's own reports to the
console. Either one is a finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse

from connections import services
from tests.e2e.helpers import sign_in
from tests.e2e.test_phone_width import busy_connection, pages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT_VIOLATIONS = """document.addEventListener('securitypolicyviolation', event =>
  console.error('securitypolicyviolation: ' + event.effectiveDirective + ' blocked ' +
                (event.blockedURI || 'inline') + ' in ' + event.sourceFile + ':' +
                event.lineNumber))"""
HISTORY_PAGINATOR = "#change-history + .paginator"
BORDER_ABOVE = "selector => getComputedStyle(document.querySelector(selector)).borderTopStyle"


class Watched:
    """A page whose CSP findings are collected, per address visited."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.found: dict[str, list[str]] = {}
        page.on("console", self._heard)

    def _heard(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or text.startswith("securitypolicyviolation"):
            self.found.setdefault(self.page.url, []).append(text)

    def report(self) -> str:
        return "\n".join(f"{url}: {text}" for url, texts in self.found.items() for text in texts)

    def visit(self, url: str, status: int = 200) -> None:
        response = self.page.goto(url)
        assert response is not None
        assert response.status == status, f"{url} answered {response.status}"


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(REPORT_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield Watched(page)
    context.close()


def test_no_page_of_the_phone_width_test_violates_the_policy(
    watched: Watched, live_server: Any, marketer: User
) -> None:
    busy = busy_connection()
    new = services.connection_create(name="New connection")[0]
    watched.visit(f"{live_server.url}/login/")
    sign_in(watched.page, live_server.url, "marketer")
    for path, action in pages().values():
        watched.visit(f"{live_server.url}{path(busy, new)}")
        if action is not None:
            action(watched.page)
    assert not watched.found, watched.report()


def test_the_api_docs_render_swagger_ui_without_violating_the_policy(
    watched: Watched, live_server: Any, marketer: User
) -> None:
    sign_in(watched.page, live_server.url, "marketer")
    watched.visit(f"{live_server.url}/api/v1/docs")
    watched.page.locator(".opblock").first.wait_for()
    assert watched.page.locator(".opblock").count() > 20  # every operation of the API
    watched.page.locator(".opblock-summary").first.click()  # opens: a form and examples
    watched.page.locator(".opblock-body").first.wait_for()
    assert not watched.found, watched.report()


def admin_pages() -> list[str]:
    """Every registered model's list and (when this user may add) add page, and the object
    and history pages of its first row."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"{name}_changelist"))
        row = model._default_manager.order_by("pk").first()
        if row is not None:
            urls.append(reverse(f"{name}_change", args=[row.pk]))
            urls.append(reverse(f"{name}_history", args=[row.pk]))
    return urls


def test_no_admin_page_violates_the_policy(watched: Watched, live_server: Any) -> None:
    busy_connection()
    User.objects.create_superuser("root", password="root-password-0123")
    page = watched.page
    watched.visit(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "root-password-0123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    histories = 0
    for url in admin_pages():
        watched.visit(f"{live_server.url}{url}")
        if page.locator(HISTORY_PAGINATOR).count():  # the style attribute's rule still applies
            histories += 1
            assert page.evaluate(BORDER_ABOVE, HISTORY_PAGINATOR) == "none", url
    assert histories == 2  # the connection's and the output's configuration history
    for model in admin.site._registry:
        add = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        page.goto(f"{live_server.url}{add}")  # 403 where nobody adds rows by hand
    # The replay dry run, reached as Ops reach it: rows ticked, the action chosen.
    watched.visit(f"{live_server.url}{reverse('admin:connections_failedsend_changelist')}")
    page.locator("#result_list tbody input.action-select").first.check()
    page.select_option("select[name=action]", "replay_selected")
    page.click("button[name=index]")
    page.wait_for_selector("#content h1")
    assert not watched.found, watched.report()


def test_the_error_pages_do_not_violate_the_policy(
    watched: Watched, live_server: Any, outsider: User, settings: Any
) -> None:
    page = watched.page
    watched.visit(f"{live_server.url}/login/?next=%00", status=400)
    watched.visit(f"{live_server.url}/no-such-page/", status=404)
    watched.visit(f"{live_server.url}/login/")
    page.context.clear_cookies()  # the form's CSRF cookie is gone: its page, 403
    page.fill("#id_username", "outsider")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    page.wait_for_selector("#error-page")
    assert "Form expired" in page.title()
    sign_in(page, live_server.url, "outsider")
    watched.visit(f"{live_server.url}/", status=403)
    settings.ROOT_URLCONF = "tests.mpbraze.failing_urls"
    watched.visit(f"{live_server.url}/boom/", status=500)
    background = "getComputedStyle(document.body).backgroundColor"
    assert page.evaluate(background) == "rgb(245, 247, 250)"  # its stylesheet was applied
    assert not watched.found, watched.report()
