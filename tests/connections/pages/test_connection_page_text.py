"""The connection page's small print: example values as they were sent, times in words."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from connections.models import Connection
from mapping.issues import Issue, IssueAction, IssueKind, example_of
from mapping.services import mapping_issues_record
from tests.conftest import add_output

pytestmark = pytest.mark.django_db
STYLESHEET = Path(__file__).resolve().parents[3] / "mpbraze" / "static" / "mpbraze.css"


def page_with_issue(marketer: User, connection: Connection, value: object, age: timedelta) -> str:
    output = add_output(connection, "ios", "ios-key-0001")
    issue = Issue(
        IssueKind.ARRAY_IN_EVENT_PROPERTY,
        "events[0].data.custom_attributes.cart",
        example_of(value),
        IssueAction.DROPPED_FIELD,
        0,
    )
    mapping_issues_record(
        connection_id=connection.pk,
        output_id=output.pk,
        issues=[issue],
        payload={"events": []},
        objects=[],
        now=timezone.now() - age,
    )
    client = Client()
    client.force_login(marketer)
    return client.get(connection.get_absolute_url()).content.decode()


def test_an_issues_example_is_shown_as_the_json_that_was_sent(
    marketer: User, connection: Connection
) -> None:
    page = page_with_issue(marketer, connection, {"sku": "A-1", "qty": 2}, timedelta(hours=1))
    assert (
        'e.g. <code class="example">{&quot;sku&quot;: &quot;A-1&quot;, &quot;qty&quot;: 2}</code>'
        in page
    )
    assert "&#x27;sku&#x27;" not in page  # not Python's {'sku': 'A-1'}


def test_an_issue_seen_under_a_minute_ago_was_seen_just_now(
    marketer: User, connection: Connection
) -> None:
    page = page_with_issue(marketer, connection, ["a"], timedelta(seconds=20))
    assert "last just now" in page
    assert "0 minutes" not in page


def test_an_issue_seen_minutes_ago_says_how_many(marketer: User, connection: Connection) -> None:
    page = page_with_issue(marketer, connection, ["a"], timedelta(minutes=5, seconds=10))
    assert "last 5\xa0minutes ago" in page


def test_code_breaks_only_where_a_line_would_overflow_not_mid_word_everywhere() -> None:
    rules = STYLESHEET.read_text()
    code_rule = next(line for line in rules.splitlines() if line.startswith("code {"))
    assert "overflow-wrap: anywhere" in code_rule
    assert "break-all" not in rules
