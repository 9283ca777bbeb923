"""REST hook subscriptions over the API: subscribe, secret shown once, list, change,
unsubscribe, read deliveries; bad input named by field; another person's hooks invisible
(issue 11, point 3)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from connections import roles
from connections.hooks.models import HookSubscription
from connections.hooks.services import hook_event_emit
from tests.connections.api_helpers import ApiClient, with_roles

pytestmark = pytest.mark.django_db

HOOK = {"target_url": "http://127.0.0.1:9/hooks", "events": ["connection.paused"]}


def fields(response: Any) -> list[str | None]:
    return [e["field"] for e in response.json()["errors"]]


def test_subscribing_answers_the_secret_once_and_lists_without_it(api: ApiClient) -> None:
    created = api.post("hooks", HOOK)

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["connection.paused"]
    listed = api.get("hooks")
    assert [h["id"] for h in listed.json()["items"]] == [body["id"]]
    assert body["secret"].encode() not in listed.content
    assert body["secret"].encode() not in api.get(f"hooks/{body['id']}").content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**HOOK, "target_url": "ftp://example.com/x"}, "target_url"),
        ({**HOOK, "target_url": "https://10.0.0.5/x"}, "target_url"),
        ({**HOOK, "target_url": "https://user:pw@example.com/x"}, "target_url"),
        ({**HOOK, "events": ["connection.exploded"]}, "events"),
        ({**HOOK, "events": []}, "events"),
        ({**HOOK, "secret": "mine"}, "secret"),
        ({"events": ["connection.paused"]}, "target_url"),
    ],
)
def test_a_bad_subscription_is_refused_naming_the_field(
    api: ApiClient, body: dict[str, Any], field: str
) -> None:
    response = api.post("hooks", body)

    assert response.status_code == 422
    assert fields(response) == [field]
    assert not HookSubscription.objects.exists()


def test_another_persons_hooks_are_invisible(api: ApiClient, api_as: Any) -> None:
    mine = api.post("hooks", HOOK).json()
    other = with_roles("other-ops", roles.OPS)
    theirs = api_as(other)

    assert theirs.get("hooks").json()["items"] == []
    assert theirs.get(f"hooks/{mine['id']}").status_code == 404
    assert theirs.delete(f"hooks/{mine['id']}").status_code == 404
    assert HookSubscription.objects.count() == 1


def test_a_hook_is_changed_disabled_reenabled_and_deleted(api: ApiClient) -> None:
    hook = api.post("hooks", HOOK).json()
    url = f"hooks/{hook['id']}"

    changed = api.patch(url, {"events": ["connection.resumed", "connection.paused"]})
    paused = api.patch(url, {"active": False})
    again = api.patch(url, {"active": True})

    assert changed.json()["events"] == ["connection.paused", "connection.resumed"]
    assert (paused.json()["active"], paused.json()["disabled_reason"]) == (
        False,
        "Paused over the API.",
    )
    assert (again.json()["active"], again.json()["disabled_reason"]) == (True, "")
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_a_hooks_deliveries_are_read_with_their_payload(api: ApiClient) -> None:
    hook = api.post("hooks", HOOK).json()
    hook_event_emit(event="connection.paused", data={"connection": {"id": 1, "name": "Shop"}})

    (delivery,) = api.get(f"hooks/{hook['id']}/deliveries").json()["items"]

    assert delivery["event_type"] == "connection.paused"
    assert delivery["event_id"].startswith("msg_")
    assert delivery["payload"]["data"]["connection"]["name"] == "Shop"
    assert delivery["status"] == "pending"


def test_a_marketer_cannot_subscribe(api_as: Any, marketer: User) -> None:
    response = api_as(marketer).post("hooks", HOOK)

    assert response.status_code == 403
    assert "add_hooksubscription" in response.json()["errors"][0]["message"]
