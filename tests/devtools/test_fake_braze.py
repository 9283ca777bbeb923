"""The fake Braze server, exercised over real HTTP (reference §8)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.core.management import CommandError, call_command

from devtools.fakebraze import FakeBraze, FakeBrazeControl, Faults, fingerprint
from tests.connections.fakebraze_helpers import (
    KEY,
    PARSE_ERROR,
    VALID_DATA,
    attribute,
    event,
    many,
    purchase,
    track,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    keys = {KEY: {"users.track"}, "export-only": {"users.export.ids"}}
    with FakeBraze(keys=keys, rate_limit="1000/1") as server:
        yield server


def test_it_accepts_a_valid_batch_and_counts_each_kind(braze: FakeBraze) -> None:
    body = {"attributes": [attribute()], "events": [event()], "purchases": [purchase()]}
    response = track(braze.url, body)
    assert response.status_code == 201
    assert response.json() == {
        "message": "success",
        "attributes_processed": 1,
        "events_processed": 1,
        "purchases_processed": 1,
    }
    accepted = [(row["kind"], row["index"], row["body"]) for row in braze.accepted_objects()]
    assert accepted == [
        ("attributes", 0, attribute()),
        ("events", 0, event()),
        ("purchases", 0, purchase()),
    ]


def test_it_reports_counts_only_for_the_arrays_sent(braze: FakeBraze) -> None:
    response = track(braze.url, {"events": [event(), event("u2")], "partner": "mpbraze"})
    assert (response.status_code, response.json()) == (
        201,
        {"message": "success", "events_processed": 2},
    )


@pytest.mark.parametrize("path", ["/users/track/", "/users/identify/", "/", "/users/trackx"])
def test_it_answers_404_for_any_other_path(braze: FakeBraze, path: str) -> None:
    response = httpx.post(f"{braze.url}{path}", json={"attributes": [attribute()]})
    assert (response.status_code, response.json()) == (404, {"message": "Not Found"})
    assert braze.accepted_objects() == []


def test_it_answers_405_to_a_get_on_users_track(braze: FakeBraze) -> None:
    response = httpx.get(f"{braze.url}/users/track")
    assert (response.status_code, response.json()) == (405, {"message": "Method Not Allowed"})
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing or malformed Authorization header"),
        ({"Authorization": KEY}, "Missing or malformed Authorization header"),
        ({"Authorization": f"Token {KEY}"}, "Missing or malformed Authorization header"),
        ({"Authorization": "Bearer"}, "Missing or malformed Authorization header"),
        ({"Authorization": "Bearer not-a-key"}, "Invalid API key"),
        ({"Authorization": f'Bearer "{KEY}"'}, "Invalid API key"),
    ],
)
def test_it_answers_401_to_a_missing_malformed_or_unknown_key(
    braze: FakeBraze, headers: dict[str, str], message: str
) -> None:
    response = track(braze.url, {"attributes": [attribute()]}, key=None, headers=headers)
    assert (response.status_code, response.json()) == (401, {"message": message})
    assert response.headers["x-ratelimit-remaining"] == "1000"


def test_it_answers_403_to_a_key_without_users_track(braze: FakeBraze) -> None:
    response = track(braze.url, {"attributes": [attribute()]}, key="export-only")
    assert (response.status_code, response.json()) == (403, {"message": "Access Denied"})


def test_it_accepts_a_key_fixed_at_run_time_over_http(braze: FakeBraze) -> None:
    assert track(braze.url, {"attributes": [attribute()]}, key="new-key").status_code == 401
    control = FakeBrazeControl(braze.url)
    control.set_key("new-key", ("users.export.ids",))
    assert track(braze.url, {"attributes": [attribute()]}, key="new-key").status_code == 403
    control.set_key("new-key")
    assert track(braze.url, {"attributes": [attribute()]}, key="new-key").status_code == 201
    control.remove_key("new-key")
    assert track(braze.url, {"attributes": [attribute()]}, key="new-key").status_code == 401


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_it_answers_415_to_a_body_that_is_not_declared_json(
    braze: FakeBraze, content_type: str
) -> None:
    response = track(braze.url, b"{}", headers={"Content-Type": content_type})
    assert (response.status_code, response.json()) == (415, {"message": "Unsupported Media Type"})


def test_it_accepts_json_with_a_charset(braze: FakeBraze) -> None:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    response = track(braze.url, {"attributes": [attribute()]}, headers=headers)
    assert response.status_code == 201


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe\x00", b'{"attributes": [}'])
def test_it_answers_a_syntax_error_with_brazes_parse_message(braze: FakeBraze, raw: bytes) -> None:
    response = track(braze.url, raw)
    assert (response.status_code, response.json()) == (400, PARSE_ERROR)


def test_it_answers_413_to_a_body_over_4_mb_and_keeps_the_connection_usable(
    braze: FakeBraze,
) -> None:
    padding = "x" * (4 * 1024 * 1024)
    with httpx.Client() as client:
        response = track(braze.url, {"attributes": [attribute(note=padding)]}, client=client)
        assert (response.status_code, response.json()) == (
            413,
            {"message": "Request Entity Too Large"},
        )
        assert track(braze.url, {"attributes": [attribute()]}, client=client).status_code == 201
    assert len(braze.accepted_objects()) == 1


@pytest.mark.parametrize("body", [{}, {"attributes": []}, {"attributes": None}, [], "x"])
def test_it_answers_a_request_without_objects_with_a_400_naming_the_arrays(
    braze: FakeBraze, body: object
) -> None:
    response = track(braze.url, body)
    assert (response.status_code, response.json()) == (400, {"message": VALID_DATA})


@pytest.mark.parametrize(
    ("mode", "attributes", "events", "status"),
    [
        ("combined", 75, 0, 201),
        ("combined", 40, 36, 400),
        ("legacy", 75, 75, 201),
        ("legacy", 76, 0, 400),
        ("mau", 25, 25, 201),
        ("mau", 26, 25, 400),
    ],
)
def test_it_caps_objects_per_request_by_batch_mode(
    mode: str, attributes: int, events: int, status: int
) -> None:
    with FakeBraze(keys=[KEY], batch_mode=mode) as braze:
        body = {"attributes": many(attributes), "events": many(events, event)}
        response = track(braze.url, body)
    assert response.status_code == status
    if status == 400:
        assert response.json() == {"message": "Max Input Length Exceeded"}
        assert braze.accepted_objects() == []


REQUIRED = "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required"
SEVERAL = "Only one of 'external_id', 'braze_id' or 'user_alias' may be given"
ALIAS = {"alias_name": "a1", "alias_label": "crm"}

INVALID_OBJECTS = [
    ("attributes", {"first_name": "Ann"}, REQUIRED),
    ("attributes", {"external_id": "u1", "user_alias": ALIAS}, SEVERAL),
    ("attributes", {"external_id": "u1", "braze_id": "b1"}, SEVERAL),
    (
        "attributes",
        {"user_alias": {"alias_name": "a1"}},
        "'user_alias' must be an object with string 'alias_name' and 'alias_label'",
    ),
    (
        "attributes",
        attribute(email="not-an-email"),
        "The value provided for the 'email' field is not a valid email.",
    ),
    (
        "attributes",
        {"email": "ann@@example.com"},
        "The value provided for the 'email' field is not a valid email.",
    ),
    ("attributes", attribute("x" * 988), "'external_id' must be fewer than 988 bytes"),
    ("attributes", attribute("é" * 494), "'external_id' must be fewer than 988 bytes"),
    ("attributes", attribute(42), "'external_id' must be a string"),
    (
        "attributes",
        attribute(email_subscribe="yes"),
        "'email_subscribe' must be one of 'opted_in', 'subscribed' or 'unsubscribed'",
    ),
    (
        "attributes",
        attribute(push_subscribe=None),
        "'push_subscribe' must be one of 'opted_in', 'subscribed' or 'unsubscribed'",
    ),
    ("attributes", "u1", "Each item of 'attributes' must be an object"),
    ("events", {"external_id": "u1", "time": "2024-11-10T18:00:00Z"}, "'name' is required"),
    ("events", {"external_id": "u1", "name": "played"}, "'time' is required"),
    (
        "events",
        event(properties={"time": "now"}),
        "'time' and 'event_name' are reserved and cannot be used as property names",
    ),
    (
        "events",
        event(properties={"event_name": "x"}),
        "'time' and 'event_name' are reserved and cannot be used as property names",
    ),
    ("events", event(properties=["a"]), "'properties' must be an object"),
    ("purchases", {**purchase(), "product_id": None}, "'product_id' is required"),
    (
        "purchases",
        {k: v for k, v in purchase().items() if k != "currency"},
        "'currency' is required",
    ),
    ("purchases", {k: v for k, v in purchase().items() if k != "price"}, "'price' is required"),
    ("purchases", {k: v for k, v in purchase().items() if k != "time"}, "'time' is required"),
    ("purchases", purchase(price="9.99"), "'price' must be a number"),
    ("purchases", purchase(quantity=101), "'quantity' must be an integer between 1 and 100"),
    (
        "purchases",
        purchase(properties={"time": 1}),
        "'time' and 'event_name' are reserved and cannot be used as property names",
    ),
]


@pytest.mark.parametrize(("kind", "item", "error"), INVALID_OBJECTS)
def test_it_rejects_only_the_invalid_object_and_names_its_index(
    braze: FakeBraze, kind: str, item: object, error: str
) -> None:
    valid = {"attributes": attribute, "events": event, "purchases": purchase}[kind]("ok")
    response = track(braze.url, {kind: [valid, item]})
    assert response.status_code == 201
    assert response.json() == {
        "message": "success",
        f"{kind}_processed": 1,
        "errors": [{"type": error, "input_array": kind, "index": 1}],
    }
    assert [row["body"] for row in braze.accepted_objects()] == [valid]


@pytest.mark.parametrize(
    "item",
    [
        {"email": "ann@example.com", "first_name": "Ann"},
        {"phone": "+14155550100"},
        {"braze_id": "b1"},
        {"user_alias": ALIAS, "_update_existing_only": False},
        {"external_id": "u1", "email": "ann@example.com", "email_subscribe": "opted_in"},
        attribute("é" * 493),
    ],
)
def test_it_accepts_each_kind_of_identifier(braze: FakeBraze, item: dict[str, object]) -> None:
    response = track(braze.url, {"attributes": [item]})
    assert (response.status_code, response.json()) == (
        201,
        {"message": "success", "attributes_processed": 1},
    )


def test_it_answers_400_with_every_error_when_no_object_is_valid(braze: FakeBraze) -> None:
    body = {"attributes": [{"first_name": "Ann"}], "events": [event(name=None)]}
    response = track(braze.url, body)
    assert (response.status_code, response.json()) == (
        400,
        {
            "message": VALID_DATA,
            "errors": [
                {"type": REQUIRED, "input_array": "attributes", "index": 0},
                {"type": "'name' is required", "input_array": "events", "index": 0},
            ],
        },
    )
    assert braze.accepted_objects() == []


def test_it_sends_lower_case_rate_limit_headers_with_an_epoch_reset() -> None:
    with FakeBraze(keys=[KEY], rate_limit="5/60") as braze:
        before = time.time()
        response = track(braze.url, {"attributes": [attribute()]})
    assert response.headers["x-ratelimit-limit"] == "5"
    assert response.headers["x-ratelimit-remaining"] == "4"
    assert before + 12 <= int(response.headers["x-ratelimit-reset"]) <= time.time() + 13
    raw_names = [name for name, _ in response.headers.raw]
    assert b"x-ratelimit-limit" in raw_names
    assert "x-ratelimit-retry-after" not in response.headers


def test_it_answers_429_with_retry_after_once_a_keys_bucket_is_empty() -> None:
    with FakeBraze(keys=[KEY, "other"], rate_limit="2/3600") as braze:
        statuses = [track(braze.url, {"attributes": [attribute()]}).status_code for _ in "ab"]
        before = time.time()
        refused = track(braze.url, {"attributes": [attribute()]})
        other = track(braze.url, {"attributes": [attribute()]}, key="other")
    assert statuses == [201, 201]
    assert (refused.status_code, refused.json()) == (429, {"message": "API rate limit exceeded"})
    assert refused.headers["x-ratelimit-limit"] == "2"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-ratelimit-retry-after"] == "1800"
    assert before + 3598 <= int(refused.headers["x-ratelimit-reset"]) <= time.time() + 3601
    assert (other.status_code, other.headers["x-ratelimit-remaining"]) == (201, "1")
    assert len(braze.accepted_objects()) == 3


def test_it_sends_mau_style_headers_when_asked() -> None:
    with FakeBraze(keys=[KEY], rate_limit="2/3600", rate_limit_style="mau") as braze:
        first = track(braze.url, {"attributes": [attribute()]})
        track(braze.url, {"attributes": [attribute()]})
        refused = track(braze.url, {"attributes": [attribute()]})
    assert first.headers["x-ratelimit-remaining"] == "1"
    assert int(first.headers["x-ratelimit-reset"]) in (1800, 1801)
    assert refused.status_code == 429
    assert refused.headers["x-ratelimit-retry-after"] == "1800"
    assert sorted(name for name in refused.headers if name.startswith("x-ratelimit")) == [
        "x-ratelimit-retry-after"
    ]


def test_it_answers_queued_statuses_in_order_whatever_the_request(braze: FakeBraze) -> None:
    braze.set_faults(next_statuses=[503, 429, 500, 201], retry_after_seconds=2)
    body = {"attributes": [attribute()]}
    unavailable = track(braze.url, body, key="nobody")
    throttled, failed, accepted = (track(braze.url, body) for _ in range(3))
    assert (unavailable.status_code, unavailable.json()) == (
        503,
        {"message": "Service Unavailable"},
    )
    assert (throttled.status_code, throttled.headers["x-ratelimit-retry-after"]) == (429, "2")
    assert throttled.headers["x-ratelimit-remaining"] == "0"
    assert (failed.status_code, failed.json()) == (500, {"message": "Internal Server Error"})
    assert accepted.status_code == 201
    assert track(braze.url, body).status_code == 201
    faults = [(row["status"], row["fault"]) for row in braze.requests()]
    assert faults == [
        (503, "next_statuses"),
        (429, "next_statuses"),
        (500, "next_statuses"),
        (201, None),
        (201, None),
    ]


def test_it_resets_the_connection_without_processing(braze: FakeBraze) -> None:
    braze.set_faults(next_statuses=["reset"])
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        track(braze.url, {"events": [event()]})
    assert braze.accepted_objects() == []
    assert braze.requests()[0]["outcome"] == "reset"
    assert braze.requests()[0]["status"] is None


def test_it_processes_then_hangs_up_on_a_queued_timeout(braze: FakeBraze) -> None:
    braze.set_faults(next_statuses=["timeout"])
    with pytest.raises(httpx.RemoteProtocolError):
        track(braze.url, {"events": [event()]})
    assert [row["body"] for row in braze.accepted_objects()] == [event()]
    record = braze.requests()[0]
    assert (record["outcome"], record["status"], record["fault"]) == (
        "timeout",
        None,
        "next_statuses",
    )


def test_it_sleeps_past_the_clients_timeout_after_processing(braze: FakeBraze) -> None:
    braze.set_faults(processed_but_timeout_rate=1.0, hang_seconds=2)
    with pytest.raises(httpx.ReadTimeout):
        track(braze.url, {"events": [event()]}, timeout=0.3)
    assert len(braze.accepted_objects("events")) == 1


def test_it_does_not_time_out_a_request_it_refused(braze: FakeBraze) -> None:
    braze.set_faults(processed_but_timeout_rate=1.0)
    response = track(braze.url, {"events": [event(name=None)]})
    assert response.status_code == 400


def test_it_injects_the_configured_error_status_at_the_error_rate(braze: FakeBraze) -> None:
    braze.set_faults(error_rate=1.0, error_status=502)
    response = track(braze.url, {"events": [event()]})
    assert (response.status_code, response.json()) == (502, {"message": "Bad Gateway"})
    assert response.headers["x-ratelimit-limit"] == "1000"
    assert braze.accepted_objects() == []


def test_it_replays_random_faults_identically_for_a_seed() -> None:
    def statuses() -> list[int]:
        faults = Faults(error_rate=0.5, error_status=503)
        with FakeBraze(keys=[KEY], faults=faults, seed=7) as braze:
            return [track(braze.url, {"events": [event()]}).status_code for _ in range(20)]

    first = statuses()
    assert first == statuses()
    assert {201, 503} == set(first)


def test_it_delays_answers_by_the_injected_latency(braze: FakeBraze) -> None:
    braze.set_faults(latency_ms=300)
    started = time.monotonic()
    assert track(braze.url, {"events": [event()]}).status_code == 201
    assert time.monotonic() - started >= 0.3


def test_it_records_requests_with_a_key_fingerprint_and_object_counts(braze: FakeBraze) -> None:
    track(braze.url, {"attributes": many(2), "events": [event()]})
    track(braze.url, {"attributes": [attribute()]}, key="bad")
    control = FakeBrazeControl(braze.url)
    first, second = control.requests()
    assert (first["status"], first["key_fingerprint"], first["counts"]) == (
        201,
        fingerprint(KEY),
        {"attributes": 2, "events": 1, "purchases": 0},
    )
    assert (second["status"], second["key_fingerprint"]) == (401, fingerprint("bad"))
    assert KEY not in str(control.requests())


def test_it_lists_accepted_objects_by_kind_and_forgets_them_on_reset(braze: FakeBraze) -> None:
    track(braze.url, {"attributes": many(3), "events": many(2, event)})
    control = FakeBrazeControl(braze.url)
    assert len(control.accepted_objects()) == 5
    assert [row["body"]["external_id"] for row in control.accepted_objects("events")] == [
        "u0",
        "u1",
    ]
    control.reset()
    assert (control.accepted_objects(), control.requests()) == ([], [])


def test_it_changes_faults_and_limits_over_http(braze: FakeBraze) -> None:
    control = FakeBrazeControl(braze.url)
    faults = control.set_faults(next_statuses=[503, 503], error_status=504)
    assert (faults["next_statuses"], faults["error_status"], faults["error_rate"]) == (
        [503, 503],
        504,
        0.0,
    )
    assert control.set_limits(batch_mode="mau", rate_limit="10/1") == {
        "rate_limit": "10/1",
        "rate_limit_style": "standard",
        "batch_mode": "mau",
    }
    assert track(braze.url, {"events": [event()]}).status_code == 503
    assert control.faults()["next_statuses"] == [503]


@pytest.mark.parametrize(
    ("path", "payload", "message"),
    [
        ("/_fake/faults", {"error_rate": 2}, "error_rate must be between 0 and 1"),
        ("/_fake/faults", {"flakiness": 1}, "unknown fault fields: flakiness"),
        (
            "/_fake/faults",
            {"next_statuses": [999]},
            "not an HTTP status or one of ('reset', 'timeout'): 999",
        ),
        ("/_fake/keys", {"permissions": []}, "'key' must be a non-empty string"),
        ("/_fake/limits", {"rate_limit": "fast"}, "rate limit must look like 3000/3, got 'fast'"),
    ],
)
def test_it_refuses_bad_control_payloads_with_the_reason(
    braze: FakeBraze, path: str, payload: dict[str, object], message: str
) -> None:
    response = httpx.post(f"{braze.url}{path}", json=payload)
    assert (response.status_code, response.json()) == (400, {"message": message})


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_the_management_command_serves_until_stopped_then_exits_cleanly(
    stop_signal: signal.Signals,
) -> None:
    command = [
        sys.executable,
        "manage.py",
        "fake_braze",
        "--port",
        "0",
        "--key",
        KEY,
        "--key",
        "readonly:users.export.ids",
        "--next-statuses",
        "503",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline().strip() if process.stdout else ""
        assert line.startswith("fake Braze listening on http://127.0.0.1:")
        url = line.removeprefix("fake Braze listening on ")
        body = {"attributes": [attribute()]}
        assert track(url, body).status_code == 503
        assert track(url, body, key="readonly").status_code == 403
        assert track(url, body).status_code == 201
        assert [row["body"] for row in FakeBrazeControl(url).accepted_objects()] == [attribute()]
    finally:
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0


def test_the_management_command_exits_cleanly_when_stopped_right_after_announcing() -> None:
    command = [sys.executable, "manage.py", "fake_braze", "--port", "0"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().startswith("fake Braze listening on http://127.0.0.1:")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--rate-limit", "fast"], "rate limit must look like 3000/3, got 'fast'"),
        (
            ["--next-statuses", "503,later"],
            "next statuses must be HTTP statuses, 'reset' or 'timeout': 'later'",
        ),
        (["--error-rate", "1.5"], "error_rate must be between 0 and 1"),
        (["--key", ":users.track"], "empty API key in ':users.track'"),
    ],
)
def test_the_management_command_refuses_bad_flags_with_the_reason(
    flags: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match="^" + re.escape(message) + "$"):
        call_command("fake_braze", *flags)
