"""The connection page's mapping issues: the newest first, each in words (problem, field,
output, what was done), and a way to all of them in the audit admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from connections import services
from connections.models import BrazeOutput, Connection
from mapping.issues import Issue, IssueAction, IssueKind
from mapping.services import mapping_issues_record
from tests.conftest import add_output

pytestmark = pytest.mark.django_db
EMAIL = Issue(
    IssueKind.INVALID_VALUE, "user_identities.email", "nope", IssueAction.DROPPED_FIELD, None
)


def record(output: BrazeOutput, issue: Issue, *, times: int, age: timedelta) -> None:
    mapping_issues_record(
        connection_id=output.connection_id,
        output_id=output.pk,
        issues=[issue] * times,
        payload={"events": []},
        objects=[],
        now=timezone.now() - age,
    )


@pytest.fixture
def server(connection: Connection) -> BrazeOutput:
    """Six frequent issues from last week, then one invalid email dropped a minute ago."""
    add_output(connection, "ios", "ios-key-0001")
    output = add_output(connection, "server", "rest-key-0001")
    for n in range(6):
        path = f"events[].data.custom_attributes.tags_{n}"
        old = Issue(IssueKind.ARRAY_IN_EVENT_PROPERTY, path, "[]", IssueAction.DROPPED_FIELD, 0)
        record(output, old, times=40 + n, age=timedelta(days=6, minutes=-n))
    record(output, EMAIL, times=1, age=timedelta(minutes=1))
    return output


def page(user: User, connection: Connection) -> str:
    client = Client()
    client.force_login(user)
    text = client.get(connection.get_absolute_url()).content.decode()
    return text[text.index('id="mapping-issues"') : text.index('id="inbound-batches"')]


def test_the_newest_issue_comes_first_and_says_its_field_and_kind_in_words(
    server: BrazeOutput, marketer: User
) -> None:
    section = page(marketer, server.connection)
    first = section[section.index("<li>") : section.index("</li>")]
    assert (
        "<strong>Invalid value</strong> in field <code>user_identities.email</code> of the"
        " Server output: dropped the field" in first
    )
    assert "1 time, last 1\xa0minute ago" in first
    assert section.index("tags_5") < section.index("tags_2")  # then by last seen
    assert "tags_1" not in section  # five shown: the oldest are in the admin


def test_auditors_get_a_link_to_all_of_the_connections_issues_and_marketers_do_not(
    server: BrazeOutput, auditor: User, marketer: User
) -> None:
    other = services.connection_create(name="Other app")[0]
    add_output(other, "ios", "ios-key-0002")
    record(add_output(other, "server", "rest-key-0002"), EMAIL, times=3, age=timedelta(0))
    section = page(auditor, server.connection)
    link = f"/admin/mapping/mappingissue/?connection__id__exact={server.connection_id}"
    assert f'<a id="all-mapping-issues" href="{link}">' in section
    client = Client()
    client.force_login(auditor)
    listing = client.get(link).content.decode()
    assert "7 mapping issues" in listing
    assert listing.index("user_identities.email") < listing.index("tags_5")  # newest first
    assert "all-mapping-issues" not in page(marketer, server.connection)
