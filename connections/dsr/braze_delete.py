"""``POST /users/delete`` to a Server output's workspace: the subject's external ids, then their
user aliases (one kind per request, at most 50 ids each, as Braze and the peers batch them),
each request after a token of the workspace's user-data bucket of the shared rate limiter
(Braze's 20,000 a minute for its user-data endpoints, apart from ``/users/track``'s).

Answers are classified as ``/users/track``'s are (``connections.braze.responses``): 2xx is
done, and so is a 404 (nothing to delete: Braze has no such user); 429 pauses the bucket and
asks to come back then; 5xx, timeouts and connection failures ask to come back later; 401,
403 and other refusals end the erasure as failed, with Braze's words.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from connections.braze.responses import TrackOutcome, TrackResponse, from_answer, from_error
from connections.delivery import ratelimit
from connections.delivery.sender import workspace_of
from connections.models import BrazeOutput
from mpbraze.http import base_url, outbound_client

DELETE_PATH = "/users/delete"
MAX_IDS = 50
MAX_ANSWER_BYTES = 64 * 1024
TOKEN_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class DeleteResult:
    """Where the deletes of one output stand: done, to try again at ``retry_at``, or failed."""

    done: bool = False
    deleted: int = 0
    requests: int = 0
    retry_at: datetime | None = None  # None with not done and no failure: retry after a backoff
    failure: str = ""


def users_delete_requests(
    external_ids: list[str], aliases: list[dict[str, str]]
) -> Iterator[dict[str, Any]]:
    """The request bodies: ``external_ids`` chunks, then ``user_aliases`` chunks."""
    for start in range(0, len(external_ids), MAX_IDS):
        yield {"external_ids": external_ids[start : start + MAX_IDS]}
    for start in range(0, len(aliases), MAX_IDS):
        yield {"user_aliases": aliases[start : start + MAX_IDS]}


USER_DATA = ratelimit.Bucket.USER_DATA


def braze_users_delete(
    *, output: BrazeOutput, api_key: str, external_ids: list[str], aliases: list[dict[str, str]]
) -> DeleteResult:
    """Ask Braze to delete these users; stops at the first answer that is not done."""
    deleted = sent = 0
    workspace = workspace_of(output)
    with outbound_client() as client:
        for body in users_delete_requests(external_ids, aliases):
            if ratelimit.acquire(workspace, timeout=TOKEN_WAIT_SECONDS, bucket=USER_DATA) is None:
                return DeleteResult(deleted=deleted, requests=sent)
            answer = _post(client, output.rest_host, api_key, body)
            sent += 1
            if answer.status_code == 404 or answer.accepted:
                deleted += _deleted(answer)
                continue
            return _not_done(answer, workspace, deleted, sent)
    return DeleteResult(done=True, deleted=deleted, requests=sent)


def _post(client: httpx.Client, host: str, api_key: str, body: dict[str, Any]) -> TrackResponse:
    headers = {"Authorization": f"Bearer {api_key}", "Accept-Encoding": "identity"}
    started = time.monotonic()
    try:
        with client.stream(
            "POST", f"{base_url(host)}{DELETE_PATH}", json=body, headers=headers
        ) as response:
            raw = b"".join(_capped(response))
    except (httpx.HTTPError, UnicodeEncodeError) as exc:
        failed = from_error(exc, duration_ms=_ms(started))
        return failed
    text = raw.decode("utf-8", errors="replace").replace(api_key, "[redacted]")
    return from_answer(response.status_code, response.headers, text, duration_ms=_ms(started))


def _capped(response: httpx.Response) -> Iterator[bytes]:
    size = 0
    for chunk in response.iter_bytes():
        yield chunk[: MAX_ANSWER_BYTES - size]
        size += len(chunk)
        if size >= MAX_ANSWER_BYTES:
            return


def _deleted(answer: TrackResponse) -> int:
    try:
        count = json.loads(answer.excerpt).get("deleted", 0)
    except (ValueError, AttributeError):
        return 0
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


def _not_done(answer: TrackResponse, workspace: str, deleted: int, sent: int) -> DeleteResult:
    if answer.outcome is TrackOutcome.RATE_LIMITED:
        if answer.retry_after_at is not None:
            ratelimit.block_until(workspace, answer.retry_after_at, bucket=USER_DATA)
        return DeleteResult(deleted=deleted, requests=sent, retry_at=answer.retry_after_at)
    if answer.outcome is TrackOutcome.RETRY:
        return DeleteResult(deleted=deleted, requests=sent)
    return DeleteResult(deleted=deleted, requests=sent, failure=_refusal(answer))


def _refusal(answer: TrackResponse) -> str:
    said = f" ({answer.message[:300]})" if answer.message else ""
    if answer.outcome is TrackOutcome.UNAUTHORIZED:
        return (
            f"Braze answered {answer.status_code}{said} to /users/delete: the Server output's"
            " REST API key must be valid and have the users.delete permission."
        )
    status = answer.status_code or answer.error_class
    return f"Braze refused /users/delete with {status}{said}."


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
