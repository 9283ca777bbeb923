"""The HTTP step of each kind of output, and what its answer means in plain words.

The Server output's answer is classified by ``connections.braze.responses`` (through
``BrazeTransport.test``), the very code that classifies forwarding answers, so a check and
real traffic never disagree about a key.
"""

from __future__ import annotations

import time

import httpx

from connections.braze.transport import BrazeTransport, TrackOutcome, TrackResponse
from connections.connectivity.probe import HttpStep, Step, Target
from mpbraze.http import describe_error, outbound_client


def server_step(api_key: str) -> HttpStep:
    """``POST /users/track`` with no objects: nothing is written at Braze."""

    def step(target: Target) -> Step:
        started = time.monotonic()
        with (
            outbound_client(timeout=target.timeout) as client,
            BrazeTransport(target.host, api_key, client) as transport,
        ):
            response = transport.test()
        passed, message = track_sentence(response, target.name)
        return Step("http", "passed" if passed else "failed", _ms(started), message)

    return step


def track_sentence(response: TrackResponse, host: str) -> tuple[bool, str]:
    """Whether Braze accepted the key, and the sentence that says so.

    The sentences are listed in docs/pages.md "Connectivity checks".
    """
    status = response.status_code
    if status is None:  # no answer: timeout, reset, TLS, DNS, refused address
        return False, f"{response.message} (talking to {host})"
    if status == 400 and response.message:
        # Braze checks the key and the instance before the body: a validation error about the
        # empty body is the proof, and the only answer a request that writes nothing can get.
        return True, (
            "Braze answered the empty test request with a validation error (HTTP 400), which "
            "proves the API key and the instance are right; nothing was written"
        )
    if response.outcome in (TrackOutcome.SUCCESS, TrackOutcome.PARTIAL):
        return True, (
            f"Braze accepted the API key (HTTP {status}); the test request held no objects, "
            "so nothing was written"
        )
    return False, _refusal(status, host, response.message)


def _refusal(status: int, host: str, message: str) -> str:
    if status == 401:
        return "API key rejected by Braze (401): the key is wrong or belongs to another instance"
    if status == 403:
        return "API key refused by Braze (403): the key lacks the users.track permission"
    if status == 404:
        return f"nothing answers /users/track at {host} (404): check the REST endpoint"
    if 300 <= status < 400:
        return f"{host} redirects /users/track ({status}): check the REST endpoint"
    if status == 429:
        return f"Braze is rate limiting this workspace (429) at {host}: try again in a minute"
    if status >= 500:
        return f"Braze at {host} answered {status}: a problem on Braze's side, try again later"
    return f"Braze at {host} answered {status}: {message or 'unexpected answer'}"


def reachability_step(target: Target) -> Step:
    """An SDK or JS endpoint: any HTTP answer means the host is there over HTTPS."""
    started = time.monotonic()
    try:
        with outbound_client(timeout=target.timeout) as client:
            answer = client.get(f"{target.url}/")
    except httpx.HTTPError as exc:
        return Step("http", "failed", _ms(started), f"{describe_error(exc)[1]} ({target.name})")
    return Step("http", "passed", _ms(started), f"{target.name} answered HTTP {answer.status_code}")


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
