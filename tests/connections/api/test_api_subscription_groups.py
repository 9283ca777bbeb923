"""The subscription group mapping over the REST API (issue 24 §4): the rules of the output form,
errors that name the field, nothing saved on a refusal."""

from __future__ import annotations

from typing import Any

import pytest

from connections.models import BrazeOutput, Connection
from tests.conftest import add_output
from tests.connections.api_helpers import ApiClient

pytestmark = pytest.mark.django_db

NEWS = "6f1d9e1c-9b0a-4c53-8f3e-2d2b9a1f4e77"
SMS = "0b7c3c52-5d8e-4b8f-9e1a-3c2d1e0f9a88"
FIELD = "settings.subscription_group_mapping"


@pytest.fixture
def server(connection: Connection) -> BrazeOutput:
    add_output(connection, "ios", "ios-app-key-0001")
    return add_output(connection, "server", "rest-api-key-0002")


def patch(api: ApiClient, connection: Connection, mapping: object) -> Any:
    body = {"settings": {"subscription_group_mapping": mapping}}
    return api.patch(f"connections/{connection.pk}/outputs/server", body)


def link(attribute: str, group_id: object) -> dict[str, object]:
    return {"attribute": attribute, "subscription_group_id": group_id}


def test_the_mapping_is_set_read_back_in_lower_case_and_kept_by_other_changes(
    api: ApiClient, connection: Connection, server: BrazeOutput
) -> None:
    response = patch(api, connection, [link("newsletter", NEWS.upper()), link("sms", SMS)])

    assert response.status_code == 200, response.content
    expected = [link("newsletter", NEWS), link("sms", SMS)]
    assert response.json()["settings"]["subscription_group_mapping"] == expected
    other = api.patch(f"connections/{connection.pk}/outputs/server", {"settings": {}})
    assert other.json()["settings"]["subscription_group_mapping"] == expected
    server.refresh_from_db()
    assert server.forwarding.subscription_group_mapping[0].subscription_group_id == NEWS


NOT_A_UUID = (
    "“{value}” is not a subscription group id: Braze shows it as a UUID such as "
    "6f1d9e1c-9b0a-4c53-8f3e-2d2b9a1f4e77 (Audience → Subscriptions)."
)
MALFORMED: list[Any] = [
    pytest.param(
        [link("newsletter", NEWS), link("sms", "sms-group")],
        [
            (
                f"{FIELD}.1.subscription_group_id",
                "invalid",
                f"{FIELD}.1.subscription_group_id: " + NOT_A_UUID.format(value="sms-group"),
            )
        ],
        id="a_group_id_that_is_not_a_uuid",
    ),
    pytest.param(
        [link("newsletter", NEWS), link("newsletter", SMS)],
        [
            (
                FIELD,
                "invalid",
                "“newsletter” is mapped twice (rows 1 and 2): a user attribute drives one "
                "subscription group.",
            )
        ],
        id="an_attribute_mapped_twice",
    ),
    pytest.param(
        [link(" ", NEWS)],
        [(f"{FIELD}.0.attribute", "invalid", f"{FIELD}.0.attribute: Name the user attribute.")],
        id="a_blank_attribute",
    ),
    pytest.param(
        [link("newsletter", 42)],
        [
            (
                f"{FIELD}.0.subscription_group_id",
                "invalid",
                f"{FIELD}.0.subscription_group_id: Input should be a valid string",
            )
        ],
        id="a_numeric_group_id",
    ),
    pytest.param(
        [{"attribute": "newsletter"}],
        [
            (
                f"{FIELD}.0.subscription_group_id",
                "invalid",
                f"{FIELD}.0.subscription_group_id: Field required",
            )
        ],
        id="a_row_without_a_group_id",
    ),
    pytest.param(
        [{**link("newsletter", NEWS), "state": "subscribed"}],
        [
            (
                f"{FIELD}.0.state",
                "unknown_field",
                f"Unknown field “{FIELD}.0.state”; see /api/v1/docs for the fields this "
                "endpoint takes.",
            )
        ],
        id="an_unknown_field_in_a_row",
    ),
    pytest.param(
        {"newsletter": NEWS},
        [(FIELD, "invalid", f"{FIELD}: Input should be a valid tuple")],
        id="an_object_instead_of_a_list",
    ),
    pytest.param(
        ["newsletter"],
        [
            (
                f"{FIELD}.0",
                "invalid",
                f"{FIELD}.0: Input should be a valid dictionary or instance of "
                "SubscriptionGroupLink",
            )
        ],
        id="a_string_row",
    ),
]


@pytest.mark.parametrize(("mapping", "expected"), MALFORMED)
def test_a_bad_mapping_is_refused_naming_the_field_and_nothing_is_saved(
    api: ApiClient, connection: Connection, server: BrazeOutput, mapping: object, expected: Any
) -> None:
    response = patch(api, connection, mapping)

    assert response.status_code == 422, response.content
    found = [(e["field"], e["code"], e["message"]) for e in response.json()["errors"]]
    assert found == expected
    server.refresh_from_db()
    assert server.settings["subscription_group_mapping"] == []


def test_a_body_that_is_not_json_gets_a_400(
    api: ApiClient, connection: Connection, server: BrazeOutput
) -> None:
    url = f"connections/{connection.pk}/outputs/server"
    response = api.patch(url, b'{"settings": {"subscription_group_mapping": [')

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "malformed_json"


def test_the_preview_shows_the_mapping_as_it_would_be_sent(
    api: ApiClient, connection: Connection, server: BrazeOutput
) -> None:
    patch(api, connection, [link("newsletter", NEWS)])
    batch = {
        "user_identities": {"customer_id": "cust-42"},
        "user_attributes": {"newsletter": "false", "sms": True, "beta": "yes"},
    }

    response = api.post(f"connections/{connection.pk}/preview", {"batch": batch})

    assert response.status_code == 200, response.content
    attributes = response.json()["requests"][0]["attributes"]
    assert attributes == [
        {
            "external_id": "cust-42",
            "subscription_groups": [
                {"subscription_group_id": NEWS, "subscription_state": "unsubscribed"}
            ],
            "sms": "true",
            "beta": "yes",
        }
    ]
