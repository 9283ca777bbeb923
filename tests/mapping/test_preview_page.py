"""The dry-run preview page: exact request bodies and issues; nothing stored or sent."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from connections import services
from connections.models import Connection, Delivery, InboundBatch
from connections.rules.validation import OutputDraft
from mapping.examples import EXAMPLES, example_text
from mapping.models import MappingIssue
from mapping.output_settings import OutputSettings
from tests.conftest import add_output
from tests.responses import TestResponse

pytestmark = pytest.mark.django_db


def preview(user: User, connection: Connection, **form: str) -> TestResponse:
    client = Client()
    client.force_login(user)
    return client.post(reverse("mapping_preview", args=[connection.pk]), form)


def test_a_marketer_sees_the_braze_request_for_a_pasted_batch(
    marketer: User, connection: Connection
) -> None:
    output = add_output(connection, "ios", "ios-key-0001")
    batch = {
        "user_identities": {"customer_id": "c-1"},
        "events": [
            {
                "event_type": "custom_event",
                "data": {
                    "event_name": "Play",
                    "timestamp_unixtime_ms": 1764300000000,
                    "custom_attributes": {"song": "So What", "tags": ["jazz"]},
                },
            }
        ],
    }
    response = preview(marketer, connection, output=str(output.pk), batch=json.dumps(batch))
    assert response.status_code == 200
    result = response.context["preview"]
    assert result.requests == [
        {
            "events": [
                {
                    "external_id": "c-1",
                    "name": "Play",
                    "time": "2025-11-28T03:20:00.000Z",
                    "properties": {"song": "So What"},
                }
            ]
        }
    ]
    assert [(i.kind.value, i.field_path) for i in result.issues] == [
        ("array_in_event_property", "events[*].data.custom_attributes.tags")
    ]
    assert "Array in an event property" in response.content.decode()
    assert not InboundBatch.objects.exists()
    assert not Delivery.objects.exists()
    assert not MappingIssue.objects.exists()


def test_a_bundled_example_previews_without_pasting(marketer: User, connection: Connection) -> None:
    output = add_output(connection, "android", "and-key-0001")
    response = preview(marketer, connection, output=str(output.pk), example="purchase")
    assert response.context["preview"].requests
    assert "purchases" in response.context["preview"].requests[0]
    assert "&quot;purchases&quot;" in response.content.decode()


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ("", "Paste an mParticle batch or pick a bundled example."),
        ("{not json", "Not valid JSON: Expecting property name enclosed in double quotes"),
        ('{"x": NaN}', "Not valid JSON: NaN is not valid JSON."),
    ],
    ids=["empty", "broken-json", "nan"],
)
def test_bad_input_is_explained_on_the_batch_field(
    marketer: User, connection: Connection, batch: str, message: str
) -> None:
    output = add_output(connection, "ios", "ios-key-0001")
    response = preview(marketer, connection, output=str(output.pk), batch=batch)
    assert response.status_code == 200
    assert response.context["form"].errors["batch"][0].startswith(message)


def test_a_batch_the_api_would_refuse_shows_the_path(
    marketer: User, connection: Connection
) -> None:
    output = add_output(connection, "ios", "ios-key-0001")
    batch = json.dumps({"events": [{"data": {}}]})
    response = preview(marketer, connection, output=str(output.pk), batch=batch)
    assert response.context["preview"].problems == [
        ("$.events[0].event_type", "event_type is required")
    ]


def test_an_auditor_cannot_preview(auditor: User, connection: Connection) -> None:
    assert preview(auditor, connection).status_code == 403


def test_a_chosen_example_is_put_in_the_box_to_be_edited(
    marketer: User, connection: Connection
) -> None:
    output = add_output(connection, "android", "and-key-0001")
    response = preview(marketer, connection, output=str(output.pk), example="purchase")
    form = response.context["form"]
    page = response.content.decode()

    assert form["batch"].value().strip() == example_text("purchase").strip()
    assert "&quot;currency_code&quot;: &quot;EUR&quot;" in page.split('id="id_batch"')[1]
    assert form["example"].value() in (None, "")  # the next preview maps what the box shows
    assert form["output"].value() == output.pk


def test_the_box_wins_over_a_chosen_example_once_it_was_edited(
    marketer: User, connection: Connection
) -> None:
    output = add_output(connection, "android", "and-key-0001")
    edited = example_text("purchase").replace('"EUR"', '"CHF"')
    response = preview(
        marketer, connection, output=str(output.pk), example="purchase", batch=edited
    )
    body = json.dumps(response.context["preview"].requests)
    assert '"currency": "CHF"' in body
    assert '"EUR"' not in body


def test_the_page_carries_each_examples_json_for_the_choice_to_fill_the_box(
    marketer: User, connection: Connection
) -> None:
    client = Client()
    client.force_login(marketer)
    page = client.get(reverse("mapping_preview", args=[connection.pk])).content.decode()
    carried = page.split('<script id="preview-examples" type="application/json">')[1]
    examples = json.loads(carried.split("</script>")[0])
    assert examples == {name: example_text(name) for name in EXAMPLES}


def test_the_preview_names_each_item_it_did_not_forward_and_why(
    marketer: User, connection: Connection
) -> None:
    ios = add_output(connection, "ios", "ios-key-0001")
    settings = OutputSettings(event_denylist=("Refund",), attribute_denylist=("ssn",))
    services.output_save(
        connection=connection,
        draft=OutputDraft(platform="ios", api_key="ios-key-0001"),
        settings=settings,
        output=ios,
    )
    at = {"timestamp_unixtime_ms": 1764300000000}
    batch = {
        "user_identities": {"customer_id": "c-1"},
        "user_attributes": {"ssn": "000", "plan": "gold"},
        "events": [
            {"event_type": "custom_event", "data": {"event_name": "Play", **at}},
            {"event_type": "screen_view", "data": {"screen_name": "Home", **at}},
            {"event_type": "custom_event", "data": {"event_name": "Refund", **at}},
            {"event_type": "session_start", "data": at},
            {"event_type": "breadcrumb", "data": at},
        ],
    }
    response = preview(marketer, connection, output=str(ios.pk), batch=json.dumps(batch))
    text = response.content.decode()
    listed = text[text.index('id="preview-skipped"') : text.index("</ul>", text.index("skipped"))]
    assert "5 items not forwarded" in text
    assert [
        html.unescape(re.sub(r"<[^>]+>", "", li)).strip() for li in listed.split("<li>")[1:]
    ] == [
        "attribute “ssn”: in the attribute denylist",
        "events[1] screen view “Home”: this output's settings do not forward screen views",
        "events[2] event “Refund”: in the event denylist",
        "events[3] Session Start: this output's settings do not forward session events",
        "events[4] breadcrumb event: Braze has no use for this event type",
    ]
