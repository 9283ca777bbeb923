"""BrazeTransport against the fake Braze server: every answer maps to the outcome that
docs/architecture.md "Delivery rules" needs.

Answers the fake cannot give (non-JSON, huge, redirects, header variants) come from a tiny
stdlib server or an ``httpx.MockTransport``: Braze is the edge we do not own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest

from connections.braze import BrazeTransport, TrackOutcome, TransportError
from connections.braze.responses import TrackResponse
from devtools.fakebraze import FakeBraze, fingerprint
from mpbraze.http import outbound_client
from tests.connections.fakebraze_helpers import VALID_DATA, attribute, event, many
from tests.stdlib_server import Respond, answer, local_server

KEY = "track-key"


@pytest.fixture(autouse=True)
def local_endpoints(settings: Any) -> None:
    settings.MPBRAZE_ALLOW_LOCAL_ENDPOINTS = True
    settings.MPBRAZE_ALLOWED_ENDPOINT_HOSTS = []


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={KEY: {"users.track"}, "export-only": {"users.export.ids"}}) as fake:
        yield fake


def host_of(url: str) -> str:
    return url.removeprefix("http://")


@pytest.fixture
def transport(braze: FakeBraze) -> Iterator[BrazeTransport]:
    with BrazeTransport(host_of(braze.url), KEY) as sender:
        yield sender


def close_to(moment: datetime | None, expected: datetime, seconds: float = 2) -> bool:
    return moment is not None and abs((moment - expected).total_seconds()) <= seconds


@contextmanager
def stdlib_server(respond: Respond) -> Iterator[str]:
    """The host (``127.0.0.1:port``) of a plain server answering with ``respond``."""
    with local_server(respond) as (port, _seen):
        yield f"127.0.0.1:{port}"


def endless_answer(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(201)
    handler.send_header("Content-Length", str(100 * 1024 * 1024))
    handler.end_headers()
    try:
        while True:
            handler.wfile.write(b"x" * 65536)
    except OSError:  # the client hung up after reading its fill
        handler.close_connection = True


def mocked(status: int, headers: dict[str, str], body: bytes = b"{}") -> TrackResponse:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, content=body)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    return BrazeTransport("rest.iad-01.braze.com", KEY, client=client).track({})


def test_an_accepted_request_is_a_success_with_counts_and_rate_headers(
    braze: FakeBraze, transport: BrazeTransport
) -> None:
    result = transport.track(
        {"attributes": [attribute("u1"), attribute("u2")], "events": [event()]}
    )
    assert (result.outcome, result.status_code, result.error_class) == (
        TrackOutcome.SUCCESS,
        201,
        "",
    )
    assert result.message == "success"
    assert result.processed == {"attributes": 2, "events": 1}
    assert result.rate_remaining == 2999
    assert close_to(result.rate_reset_at, datetime.now(UTC), seconds=4)
    assert result.retry_after_at is None
    assert len(braze.accepted_objects()) == 3


def test_it_sends_the_key_as_a_bearer_header_and_never_shows_it(
    braze: FakeBraze, transport: BrazeTransport, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        transport.track({"attributes": [attribute()]})
    assert braze.requests()[0]["key_fingerprint"] == fingerprint(KEY)
    assert KEY not in repr(transport)
    assert "/users/track -> 201 success" in caplog.text
    assert KEY not in caplog.text


def test_an_answer_echoing_the_key_is_scrubbed() -> None:
    echo = answer(401, json.dumps({"message": f"Invalid API key: {KEY}"}).encode())
    with stdlib_server(echo) as host, BrazeTransport(host, KEY) as sender:
        result = sender.track({})
    assert result.message == "Invalid API key: [redacted]"
    assert KEY not in result.excerpt


@pytest.mark.parametrize("key", ["secret\nkey", "secr\u00e9t-key"])
def test_a_key_that_cannot_go_in_a_header_is_rejected_without_being_quoted(
    braze: FakeBraze, key: str
) -> None:
    with BrazeTransport(host_of(braze.url), key) as sender:
        result = sender.track({"attributes": [attribute()]})
    assert (result.outcome, result.error_class) == (TrackOutcome.REJECTED, "bad_request")
    assert result.message == "the request could not be sent: a header or the URL is invalid"


def test_a_2xx_with_object_errors_is_partial_and_names_each_object(
    transport: BrazeTransport,
) -> None:
    result = transport.track({"attributes": [attribute("u1"), {"first_name": "Ann"}]})
    assert result.outcome is TrackOutcome.PARTIAL
    assert result.processed == {"attributes": 1}
    assert result.errors == [
        {
            "type": "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required",
            "input_array": "attributes",
            "index": 1,
        }
    ]


def test_too_many_objects_in_one_request_asks_for_a_split(transport: BrazeTransport) -> None:
    result = transport.track({"attributes": many(76)})
    assert (result.outcome, result.error_class) == (TrackOutcome.SPLIT, "http_400")
    assert result.message == "Max Input Length Exceeded"
    assert result.errors == []


def test_a_request_with_only_invalid_objects_asks_for_a_split_and_names_them(
    transport: BrazeTransport,
) -> None:
    result = transport.track({"attributes": [attribute(email="not-an-email")]})
    assert (result.outcome, result.status_code) == (TrackOutcome.SPLIT, 400)
    assert result.message == VALID_DATA
    assert [(e["input_array"], e["index"]) for e in result.errors] == [("attributes", 0)]


def test_a_body_over_4_mb_asks_for_a_split(transport: BrazeTransport) -> None:
    big = [attribute(f"u{n}", bio="x" * 60_000) for n in range(70)]
    result = transport.track({"attributes": big})
    assert (result.outcome, result.status_code, result.error_class) == (
        TrackOutcome.SPLIT,
        413,
        "http_413",
    )


def test_a_server_error_is_retried(braze: FakeBraze, transport: BrazeTransport) -> None:
    braze.set_faults(next_statuses=[503])
    result = transport.track({"attributes": [attribute()]})
    assert (result.outcome, result.status_code, result.error_class) == (
        TrackOutcome.RETRY,
        503,
        "http_5xx",
    )
    assert result.message == "Service Unavailable"


def test_an_exhausted_rate_limit_waits_for_the_advertised_time(
    braze: FakeBraze, transport: BrazeTransport
) -> None:
    braze.set_limits(rate_limit="1/60")
    assert transport.track({"attributes": [attribute()]}).outcome is TrackOutcome.SUCCESS
    result = transport.track({"attributes": [attribute()]})
    assert (result.outcome, result.error_class) == (TrackOutcome.RATE_LIMITED, "http_429")
    assert result.rate_remaining == 0
    assert close_to(result.retry_after_at, datetime.now(UTC) + timedelta(seconds=60))
    assert close_to(result.rate_reset_at, datetime.now(UTC) + timedelta(seconds=60))


def test_a_mau_contract_429_carries_only_x_ratelimit_retry_after(
    braze: FakeBraze, transport: BrazeTransport
) -> None:
    braze.set_limits(rate_limit_style="mau")
    braze.set_faults(next_statuses=[429], retry_after_seconds=7)
    result = transport.track({"attributes": [attribute()]})
    assert result.outcome is TrackOutcome.RATE_LIMITED
    assert (result.rate_remaining, result.rate_reset_at) == (None, None)
    assert close_to(result.retry_after_at, datetime.now(UTC) + timedelta(seconds=7))


EPOCH = 2_000_000_000


@pytest.mark.parametrize(
    ("headers", "expected_in_seconds"),
    [
        ({"X-RateLimit-Reset": str(EPOCH)}, "epoch"),
        ({"x-ratelimit-reset": "12"}, 12),  # MAU contracts: seconds remaining
        ({"X-RATELIMIT-RETRY-AFTER": "3", "X-RateLimit-Reset": str(EPOCH)}, 3),
        ({"Retry-After": "5"}, 5),
        ({"Retry-After": "Wed, 18 May 2033 03:33:20 GMT"}, "epoch"),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_a_429_reads_every_retry_header_style(
    headers: dict[str, str], expected_in_seconds: int | str | None
) -> None:
    result = mocked(429, headers, b'{"message": "API rate limit exceeded"}')
    assert result.outcome is TrackOutcome.RATE_LIMITED
    if expected_in_seconds is None:
        assert result.retry_after_at is None
    elif expected_in_seconds == "epoch":
        assert result.retry_after_at == datetime.fromtimestamp(EPOCH, UTC)
    else:
        assert isinstance(expected_in_seconds, int)
        expected = datetime.now(UTC) + timedelta(seconds=expected_in_seconds)
        assert close_to(result.retry_after_at, expected, seconds=1)


def test_a_wrong_key_is_unauthorized(braze: FakeBraze) -> None:
    with BrazeTransport(host_of(braze.url), "wrong") as sender:
        result = sender.track({"attributes": [attribute()]})
    assert (result.outcome, result.status_code, result.message) == (
        TrackOutcome.UNAUTHORIZED,
        401,
        "Invalid API key",
    )


def test_a_key_without_users_track_is_unauthorized(braze: FakeBraze) -> None:
    with BrazeTransport(host_of(braze.url), "export-only") as sender:
        result = sender.track({"attributes": [attribute()]})
    assert (result.outcome, result.error_class, result.message) == (
        TrackOutcome.UNAUTHORIZED,
        "http_403",
        "Access Denied",
    )


@pytest.mark.parametrize("status", [404, 415])
def test_other_client_errors_are_rejected(
    braze: FakeBraze, transport: BrazeTransport, status: int
) -> None:
    braze.set_faults(next_statuses=[status])
    result = transport.track({"attributes": [attribute()]})
    assert (result.outcome, result.error_class) == (TrackOutcome.REJECTED, f"http_{status}")


def test_a_slow_answer_times_out_and_is_retried(braze: FakeBraze) -> None:
    braze.set_faults(latency_ms=2000)
    client = outbound_client(timeout=0.3)
    with client, BrazeTransport(host_of(braze.url), KEY, client=client) as sender:
        result = sender.track({"attributes": [attribute()]})
    assert (result.outcome, result.status_code) == (TrackOutcome.RETRY, None)
    assert (result.error_class, result.message) == ("timeout", "timed out after 0.3 s")
    assert 250 <= result.duration_ms < 1500


def test_a_reset_connection_is_retried(braze: FakeBraze, transport: BrazeTransport) -> None:
    braze.set_faults(next_statuses=["reset"])
    result = transport.track({"attributes": [attribute()]})
    assert (result.outcome, result.error_class, result.message) == (
        TrackOutcome.RETRY,
        "reset",
        "connection reset",
    )
    assert braze.accepted_objects() == []


def test_a_request_processed_without_an_answer_is_retried(
    braze: FakeBraze, transport: BrazeTransport
) -> None:
    # Braze kept the objects but we cannot know: the send ledger exists for this case.
    braze.set_faults(next_statuses=["timeout"])
    result = transport.track({"attributes": [attribute()]})
    assert (result.outcome, result.error_class) == (TrackOutcome.RETRY, "reset")
    assert len(braze.accepted_objects()) == 1


def test_a_2xx_that_is_not_json_still_counts_as_accepted() -> None:
    with stdlib_server(answer(201, b"<html>queued</html>")) as host:
        result = BrazeTransport(host, KEY).track({"attributes": [attribute()]})
    assert (result.outcome, result.status_code) == (TrackOutcome.SUCCESS, 201)
    assert (
        result.note == "Braze accepted the request (HTTP 201) but its answer was not a JSON object."
    )
    assert result.excerpt == "<html>queued</html>"


def test_a_5xx_that_is_not_json_is_retried_with_its_excerpt() -> None:
    with stdlib_server(answer(502, b"<html>Bad Gateway</html>")) as host:
        result = BrazeTransport(host, KEY).track({"attributes": [attribute()]})
    assert (result.outcome, result.error_class) == (TrackOutcome.RETRY, "http_5xx")
    assert (result.message, result.excerpt) == ("HTTP 502 Bad Gateway", "<html>Bad Gateway</html>")


def test_a_huge_answer_is_read_only_up_to_one_megabyte() -> None:
    with stdlib_server(endless_answer) as host:
        result = BrazeTransport(host, KEY).track({"attributes": [attribute()]})
    assert result.outcome is TrackOutcome.SUCCESS
    assert result.note == "the answer is larger than 1 MB; only its first 1 MB was read"
    assert result.excerpt == "x" * 2000


def test_a_redirect_is_rejected_not_followed() -> None:
    redirect = answer(301, b"", Location="https://rest.iad-01.braze.com/users/track")
    with stdlib_server(redirect) as host:
        result = BrazeTransport(host, KEY).track({"attributes": [attribute()]})
    assert (result.outcome, result.status_code, result.error_class) == (
        TrackOutcome.REJECTED,
        301,
        "http_3xx",
    )
    assert result.message == (
        "redirected to https://rest.iad-01.braze.com/users/track; redirects are not followed"
    )


def test_a_loopback_host_is_refused_while_local_endpoints_are_not_allowed(
    braze: FakeBraze, settings: Any
) -> None:
    settings.MPBRAZE_ALLOW_LOCAL_ENDPOINTS = False
    result = BrazeTransport(host_of(braze.url), KEY).track({"attributes": [attribute()]})
    assert (result.outcome, result.error_class) == (TrackOutcome.REJECTED, "refused_address")
    assert result.message == "refused: 127.0.0.1 resolves to a private address (127.0.0.1)"
    assert braze.requests() == []


def test_the_connectivity_check_writes_nothing_and_exposes_the_status(
    braze: FakeBraze, transport: BrazeTransport
) -> None:
    assert (transport.test().status_code, transport.test().message) == (400, VALID_DATA)
    assert BrazeTransport(host_of(braze.url), "wrong").test().status_code == 401
    assert BrazeTransport(host_of(braze.url), "export-only").test().status_code == 403
    assert braze.accepted_objects() == []


def test_a_pre_encoded_body_is_sent_as_is(braze: FakeBraze, transport: BrazeTransport) -> None:
    result = transport.send(b'{"attributes": [{"external_id": "u9"}]}')
    assert result.outcome is TrackOutcome.SUCCESS
    assert braze.accepted_objects()[0]["body"] == {"external_id": "u9"}


def test_raise_for_outcome_says_whether_a_failure_is_permanent(
    braze: FakeBraze, transport: BrazeTransport
) -> None:
    braze.set_faults(next_statuses=[500, 401])
    with pytest.raises(TransportError) as server_error:
        transport.track({}).raise_for_outcome()
    with pytest.raises(TransportError) as bad_key:
        transport.track({}).raise_for_outcome()
    assert (server_error.value.permanent, bad_key.value.permanent) == (False, True)
    transport.track({"attributes": [attribute()]}).raise_for_outcome()
