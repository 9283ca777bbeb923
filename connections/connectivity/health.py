"""The status a connection shows, derived from its data each time it is read (never stored):
Disabled, Paused, Incomplete, Untested, Failing, Retrying, Degraded or Healthy
(docs/pages.md "Connection status").

The pages and the REST API read it from here, so marketers and ops see the same status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from connections.connectivity.health_data import (
    Failed,
    Waiting,
    failed_last_hour,
    latest_server_checks,
    refused_most_of_last_hour,
    waiting_for_retry,
)
from connections.connectivity.models import ConnectivityCheck
from connections.models import APP_PLATFORMS, Connection, Platform
from connections.templatetags.mpbraze_tags import failed_sends_url

STATES = (
    "healthy",
    "degraded",
    "retrying",
    "failing",
    "paused",
    "disabled",
    "incomplete",
    "untested",
)


@dataclass(frozen=True)
class Health:
    kind: str  # one of STATES
    label: str
    detail: str  # what is wrong and what to do, or "" when healthy
    link: str = ""  # where the objects behind the status are listed (the audit admin)
    since: datetime | None = None  # when this state began, when the data tells


@dataclass(frozen=True)
class _Facts:
    check: ConnectivityCheck | None
    waiting: Waiting | None
    failed: Failed | None
    refused_since: datetime | None


def connections_health(connections: Sequence[Connection]) -> dict[int, Health]:
    """Each connection's status, in a handful of queries whatever their number."""
    ids = [c.pk for c in connections]
    checks = latest_server_checks(ids)
    waiting = waiting_for_retry(ids)
    failed = failed_last_hour(ids)
    refused = refused_most_of_last_hour(ids)
    return {
        c.pk: _health(
            c, _Facts(checks.get(c.pk), waiting.get(c.pk), failed.get(c.pk), refused.get(c.pk))
        )
        for c in connections
    }


def _health(connection: Connection, facts: _Facts) -> Health:
    if not connection.enabled:
        return Health("disabled", "Disabled", "Forwarding is turned off for this connection.")
    if connection.paused_reason:
        return _paused(connection)
    missing = _missing_outputs(connection)
    if missing:
        return Health("incomplete", "Incomplete", missing)
    if facts.check is None:
        detail = "Run “Test connection” to check the key and endpoints."
        return Health("untested", "Untested", detail)
    return _delivery_health(connection, facts)


def _delivery_health(connection: Connection, facts: _Facts) -> Health:
    check = facts.check
    assert check is not None
    if check.outcome == ConnectivityCheck.Outcome.FAILED:
        detail = f"Last test failed: {check.summary}"
        return Health("failing", "Failing", detail, since=check.finished_at or check.started_at)
    if facts.refused_since is not None:
        detail = "Braze refused most requests of the last hour."
        return Health("failing", "Failing", detail, since=facts.refused_since)
    if facts.waiting is not None:
        return _retrying(facts.waiting)
    if facts.failed is not None:
        return _degraded(connection, facts.failed)
    return Health("healthy", "Healthy", "", since=check.finished_at or check.started_at)


def _paused(connection: Connection) -> Health:
    at = connection.paused_at
    since = timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S %Z") if at else "earlier"
    detail = f"Since {since}: {connection.paused_reason} Test the connection after fixing it."
    return Health("paused", "Paused", detail, since=at)


def _retrying(waiting: Waiting) -> Health:
    """How many objects wait, the answer that made them wait and when they go again."""
    objects = f"{waiting.objects} object{'s' if waiting.objects != 1 else ''}"
    wait = "waits" if waiting.objects == 1 else "wait"
    detail = f"{objects} {wait} for a retry. {_answer_sentence(waiting)}"
    return Health("retrying", "Retrying", detail, since=waiting.since)


def _answer_sentence(waiting: Waiting) -> str:
    next_at = waiting.next_at
    if next_at <= timezone.now():
        retry = "retrying now."
    else:
        retry = f"next retry at {timezone.localtime(next_at):%H:%M:%S}."
    answer = waiting.last_answer
    if answer is None or answer.finished_at is None:
        return retry[0].upper() + retry[1:]
    at = f"{timezone.localtime(answer.finished_at):%H:%M}"
    if answer.status_code is None:
        why = answer.braze_message or answer.error_class or "no answer"
        return f"Braze did not answer at {at} ({why}); {retry}"
    return f"Braze answered HTTP {answer.status_code} at {at}; {retry}"


def _degraded(connection: Connection, failed: Failed) -> Health:
    """Forwarding works, but objects of the last hour did not reach Braze."""
    parts = []
    if failed.rejected:
        parts.append(f"Braze rejected {failed.rejected} object{_s(failed.rejected)}")
    if failed.dead:
        parts.append(f"{failed.dead} object{_s(failed.dead)} ran out of retries")
    detail = " and ".join(parts) + " in the last hour."
    link = failed_sends_url(connection.pk, since=failed.since)
    return Health("degraded", "Degraded", detail, link=link, since=failed.since)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _missing_outputs(connection: Connection) -> str:
    platforms = {output.platform for output in connection.outputs.all()}
    if not platforms & set(APP_PLATFORMS):
        return "Add an app output (iOS, Android or Web): a connection needs one."
    if Platform.SERVER not in platforms:
        return "Add a Server output: it is what forwards data to Braze."
    return ""
