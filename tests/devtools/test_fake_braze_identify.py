"""The fake Braze's ``/users/identify`` and ``/users/alias/new``, over real HTTP (reference §6)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devtools.fakebraze import FakeBraze, FakeBrazeControl
from tests.connections.fakebraze_helpers import PARSE_ERROR, SHARED_CLIENT, attribute, track

KEY = "user-data-key"
TRACK_ONLY = "track-only-key"
IDENTIFY_ONLY = "identify-only-key"


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    keys = {
        KEY: {"users.track", "users.identify", "users.alias.new"},
        TRACK_ONLY: {"users.track"},
        IDENTIFY_ONLY: {"users.identify"},
    }
    with FakeBraze(keys=keys) as server:
        yield server


def post(url: str, path: str, body: object, key: str | None = KEY, **kw: Any) -> httpx.Response:
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    content = body if isinstance(body, bytes) else httpx.Request("POST", url, json=body).content
    return SHARED_CLIENT.post(f"{url}{path}", content=content, headers=headers, **kw)


def identify(url: str, items: list[Any], key: str | None = KEY, **kw: Any) -> httpx.Response:
    return post(url, "/users/identify", {"aliases_to_identify": items}, key, **kw)


def alias_new(url: str, items: list[Any], key: str | None = KEY) -> httpx.Response:
    return post(url, "/users/alias/new", {"user_aliases": items}, key)


def user_data_limits(url: str, body: object) -> httpx.Response:
    content = body if isinstance(body, bytes) else httpx.Request("POST", url, json=body).content
    return SHARED_CLIENT.post(f"{url}/_fake/user-data-limits", content=content)


def alias(name: str = "7001", external_id: str = "c-1") -> dict[str, Any]:
    return {"external_id": external_id, "user_alias": {"alias_name": name, "alias_label": "mpid"}}


def test_it_identifies_aliases_and_answers_with_the_count_processed(braze: FakeBraze) -> None:
    response = identify(braze.url, [alias("1", "c-1"), alias("2", "c-2")])
    assert (response.status_code, response.json()) == (
        201,
        {"aliases_processed": 2, "message": "success"},
    )
    assert [(o["kind"], o["index"], o["body"]) for o in braze.accepted_objects("identify")] == [
        ("identify", 0, alias("1", "c-1")),
        ("identify", 1, alias("2", "c-2")),
    ]
    [record] = braze.requests()
    assert (record["path"], record["status"], record["counts"]) == (
        "/users/identify",
        201,
        {"aliases_to_identify": 2},
    )


def test_it_records_identifies_in_one_sequence_with_users_track(braze: FakeBraze) -> None:
    track(braze.url, {"attributes": [attribute("alias-first")]}, key=KEY)
    identify(braze.url, [alias()])
    track(braze.url, {"attributes": [attribute("c-1")]}, key=KEY)
    order = [(o["request"], o["kind"]) for o in braze.accepted_objects()]
    assert order == [(1, "attributes"), (2, "identify"), (3, "attributes")]
    with FakeBrazeControl(braze.url) as control:
        assert [o["kind"] for o in control.accepted_objects("identify")] == ["identify"]


@pytest.mark.parametrize(
    ("key", "status", "text"),
    [
        (None, 401, "Missing or malformed Authorization header"),
        ("unknown", 401, "Invalid API key"),
        (TRACK_ONLY, 403, "Access Denied"),
    ],
)
def test_it_needs_a_key_with_users_identify(
    braze: FakeBraze, key: str | None, status: int, text: str
) -> None:
    response = identify(braze.url, [alias()], key=key)
    assert (response.status_code, response.json()) == (status, {"message": text})
    assert braze.accepted_objects() == []


def test_a_key_with_users_identify_alone_cannot_track_or_create_aliases(braze: FakeBraze) -> None:
    assert identify(braze.url, [alias()], key=IDENTIFY_ONLY).status_code == 201
    assert track(braze.url, {"attributes": [attribute()]}, key=IDENTIFY_ONLY).status_code == 403
    assert alias_new(
        braze.url, [{"alias_name": "a", "alias_label": "b"}], IDENTIFY_ONLY
    ).json() == {"message": "Access Denied"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "'aliases_to_identify' must be a non-empty array"),
        ([], "'aliases_to_identify' must be a non-empty array"),
        ({"aliases_to_identify": []}, "'aliases_to_identify' must be a non-empty array"),
        (
            {"aliases_to_identify": {"external_id": "c"}},
            "'aliases_to_identify' must be a non-empty array",
        ),
        ({"aliases_to_identify": [alias()] * 51}, "Max Input Length Exceeded"),
        (
            {"aliases_to_identify": [alias()], "merge_behavior": "sometimes"},
            "'merge_behavior' must be 'none' or 'merge'",
        ),
    ],
)
def test_it_refuses_a_malformed_body_whole_naming_the_problem(
    braze: FakeBraze, body: object, message: str
) -> None:
    response = post(braze.url, "/users/identify", body)
    assert (response.status_code, response.json()) == (400, {"message": message})
    assert braze.accepted_objects() == []


def test_it_takes_50_aliases_and_both_merge_behaviours(braze: FakeBraze) -> None:
    fifty = [alias(str(n), f"c-{n}") for n in range(50)]
    assert identify(braze.url, fifty).json()["aliases_processed"] == 50
    for behaviour in ("none", "merge"):
        body = {"aliases_to_identify": [alias()], "merge_behavior": behaviour}
        assert post(braze.url, "/users/identify", body).status_code == 201


def test_it_answers_a_syntax_error_and_a_wrong_content_type_as_users_track_does(
    braze: FakeBraze,
) -> None:
    broken = post(braze.url, "/users/identify", b'{"aliases_to_identify": [')
    assert (broken.status_code, broken.json()) == (400, PARSE_ERROR)
    plain = post(braze.url, "/users/identify", b"{}", headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415
    assert SHARED_CLIENT.get(f"{braze.url}/users/identify").status_code == 405


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ("c-1", "Each item of 'aliases_to_identify' must be an object"),
        (
            {"user_alias": {"alias_name": "a", "alias_label": "b"}},
            "'external_id' must be a non-empty string",
        ),
        ({**alias(), "external_id": 42}, "'external_id' must be a non-empty string"),
        ({**alias(), "external_id": "x" * 988}, "'external_id' must be fewer than 988 bytes"),
        (
            {"external_id": "c-1"},
            "'user_alias' must be an object with string 'alias_name' and 'alias_label'",
        ),
        (
            {"external_id": "c-1", "user_alias": {"alias_name": "a"}},
            "'user_alias' must be an object with string 'alias_name' and 'alias_label'",
        ),
    ],
)
def test_it_refuses_only_the_bad_alias_and_names_its_index(
    braze: FakeBraze, item: object, error: str
) -> None:
    response = identify(braze.url, [alias("1", "c-1"), item, alias("3", "c-3")])
    assert (response.status_code, response.json()) == (
        201,
        {
            "aliases_processed": 2,
            "message": "success",
            "errors": [{"type": error, "input_array": "aliases_to_identify", "index": 1}],
        },
    )
    assert [o["index"] for o in braze.accepted_objects("identify")] == [0, 2]


def test_it_answers_400_with_every_error_when_no_alias_is_valid(braze: FakeBraze) -> None:
    response = identify(braze.url, [{"external_id": "c-1"}, "x"])
    assert response.status_code == 400
    assert response.json()["message"] == "No valid item was provided in 'aliases_to_identify'."
    assert [error["index"] for error in response.json()["errors"]] == [0, 1]


def test_alias_new_creates_alias_only_users_and_adds_aliases_to_known_ones(
    braze: FakeBraze,
) -> None:
    items = [
        {"alias_name": "7001", "alias_label": "mparticle_id"},
        {"external_id": "c-1", "alias_name": "crm-9", "alias_label": "crm"},
        {"alias_name": "", "alias_label": "crm"},
    ]
    response = alias_new(braze.url, items)
    assert (response.status_code, response.json()) == (
        201,
        {
            "aliases_processed": 2,
            "message": "success",
            "errors": [
                {
                    "type": "'alias_name' and 'alias_label' must be non-empty strings",
                    "input_array": "user_aliases",
                    "index": 2,
                }
            ],
        },
    )
    assert [o["body"] for o in braze.accepted_objects("alias")] == items[:2]
    assert alias_new(braze.url, [items[0]] * 51).json() == {"message": "Max Input Length Exceeded"}
    assert alias_new(braze.url, [items[0]], TRACK_ONLY).status_code == 403


def test_the_user_data_limit_is_apart_from_users_tracks() -> None:
    with FakeBraze(keys={KEY: {"users.track", "users.identify"}}, rate_limit="1/3600") as braze:
        assert user_data_limits(braze.url, {"rate_limit": "2/3600"}).json() == {
            "rate_limit": "2/3600",
            "rate_limit_style": "standard",
        }
        assert track(braze.url, {"attributes": [attribute()]}, key=KEY).status_code == 201
        assert track(braze.url, {"attributes": [attribute()]}, key=KEY).status_code == 429
        first = identify(braze.url, [alias()])
        before = time.time()
        identify(braze.url, [alias()])
        refused = identify(braze.url, [alias()])
    assert first.status_code == 201
    assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]) == (
        "2",
        "1",
    )
    assert (refused.status_code, refused.json()) == (429, {"message": "API rate limit exceeded"})
    assert refused.headers["x-ratelimit-retry-after"] == "1800"
    assert before + 3598 <= int(refused.headers["x-ratelimit-reset"]) <= time.time() + 3601


def test_injected_faults_apply_to_identify_as_to_users_track(braze: FakeBraze) -> None:
    braze.set_faults(next_statuses=[503, 429, 201], retry_after_seconds=7)
    assert identify(braze.url, [alias()]).status_code == 503
    throttled = identify(braze.url, [alias()])
    assert (throttled.status_code, throttled.headers["x-ratelimit-retry-after"]) == (429, "7")
    assert identify(braze.url, [alias()]).status_code == 201
    assert [r["fault"] for r in braze.requests()] == ["next_statuses", "next_statuses", None]
    braze.set_faults(next_statuses=["reset"])
    with pytest.raises(httpx.HTTPError):
        identify(braze.url, [alias()])
    assert len(braze.accepted_objects("identify")) == 1


def test_the_user_data_limit_can_be_read_and_bad_changes_are_refused(braze: FakeBraze) -> None:
    current = SHARED_CLIENT.get(f"{braze.url}/_fake/user-data-limits")
    assert current.json() == {"rate_limit": "20000/60", "rate_limit_style": "standard"}
    refusals = {
        "{}": "'rate_limit' must be a string like '20000/60'",
        '{"rate_limit": "fast"}': "rate limit must look like 3000/3, got 'fast'",
        '{"rate_limit": "1/1", "burst": 3}': "unknown limit fields: burst",
        "[1]": "'rate_limit' must be a string like '20000/60'",
    }
    for body, reason in refusals.items():
        response = user_data_limits(braze.url, body.encode())
        assert (response.status_code, response.json()) == (400, {"message": reason})
