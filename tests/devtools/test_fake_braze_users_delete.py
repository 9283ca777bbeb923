"""The fake Braze's ``POST /users/delete``, over real HTTP (reference §6)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devtools.fakebraze import FakeBraze, FakeBrazeControl

KEY = "delete-key-0001"


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    keys = {KEY: {"users.track", "users.delete"}, "track-only": {"users.track"}}
    with FakeBraze(keys=keys) as server:
        yield server


def delete(braze: FakeBraze, body: Any, key: str = KEY, **headers: str) -> httpx.Response:
    sent = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers}
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    return httpx.post(f"{braze.url}/users/delete", content=content, headers=sent)


def test_it_deletes_external_ids_and_says_how_many_were_queued(braze: FakeBraze) -> None:
    answer = delete(braze, {"external_ids": ["u-1", "u-2"]})
    assert answer.status_code == 202
    assert answer.json() == {"deleted": 2, "message": "success"}
    assert [(d["kind"], d["id"]) for d in braze.deleted_users()] == [
        ("external_ids", "u-1"),
        ("external_ids", "u-2"),
    ]
    assert answer.headers["x-ratelimit-limit"] == "20000"


def test_it_deletes_user_aliases(braze: FakeBraze) -> None:
    alias = {"alias_name": "123", "alias_label": "mparticle_id"}
    assert delete(braze, {"user_aliases": [alias]}).status_code == 202
    assert braze.deleted_users("user_aliases") == [
        {"request": 1, "kind": "user_aliases", "id": alias}
    ]


def test_a_key_without_users_delete_gets_403_and_deletes_nothing(braze: FakeBraze) -> None:
    answer = delete(braze, {"external_ids": ["u-1"]}, key="track-only")
    assert (answer.status_code, answer.json()) == (403, {"message": "Access Denied"})
    assert braze.deleted_users() == []


def test_an_unknown_key_gets_401(braze: FakeBraze) -> None:
    assert delete(braze, {"external_ids": ["u-1"]}, key="nope").status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Provide exactly one of external_ids, user_aliases, braze_ids"),
        ({"external_ids": ["a"], "braze_ids": ["b"]}, "Provide exactly one of"),
        ({"external_ids": []}, "'external_ids' must be a non-empty array."),
        ({"external_ids": [f"u{n}" for n in range(51)]}, "Max Input Length Exceeded"),
        ({"external_ids": ["ok", 7]}, "'external_ids' item 1 is not a valid id."),
        ({"user_aliases": [{"alias_name": "1"}]}, "'user_aliases' item 0 is not a valid id."),
        ({"email_addresses": ["a@b.c"]}, "'prioritization' is required"),
        ([1, 2], "The request body must be a JSON object."),
    ],
)
def test_it_refuses_a_malformed_body_with_a_400_saying_why(
    braze: FakeBraze, body: Any, message: str
) -> None:
    answer = delete(braze, body)
    assert answer.status_code == 400
    assert answer.json()["message"].startswith(message)
    assert braze.deleted_users() == []


def test_bad_json_and_a_wrong_content_type_are_refused(braze: FakeBraze) -> None:
    assert delete(braze, b"{nope").json() == {
        "error": "Error while parsing request body. Please check your syntax."
    }
    assert (
        delete(braze, {"external_ids": ["a"]}, **{"Content-Type": "text/plain"}).status_code == 415
    )


def test_the_user_data_limit_is_a_bucket_of_its_own_and_answers_429(braze: FakeBraze) -> None:
    from devtools.fakebraze.config import RateLimit
    from devtools.fakebraze.ratelimit import RateLimiter

    braze.state.user_data_limiter = RateLimiter(RateLimit.parse("1/60"))
    assert delete(braze, {"external_ids": ["a"]}).status_code == 202
    refused = delete(braze, {"external_ids": ["b"]})
    assert refused.status_code == 429
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert [d["id"] for d in braze.deleted_users()] == ["a"]


def test_injected_statuses_apply_and_the_control_endpoint_lists_deletes(braze: FakeBraze) -> None:
    braze.set_faults(next_statuses=[503])
    assert delete(braze, {"external_ids": ["a"]}).status_code == 503
    assert delete(braze, {"external_ids": ["a"]}).status_code == 202
    with FakeBrazeControl(braze.url) as control:
        assert control.deleted_users() == [{"request": 2, "kind": "external_ids", "id": "a"}]
        control.reset()
        assert control.deleted_users() == []


def test_only_post_is_answered(braze: FakeBraze) -> None:
    answer = httpx.get(f"{braze.url}/users/delete", headers={"Authorization": f"Bearer {KEY}"})
    assert (answer.status_code, answer.headers["allow"]) == (405, "POST")
