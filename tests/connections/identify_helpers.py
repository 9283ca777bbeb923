"""Shared by the anonymous → known tests: an output that sends anonymous users as a user alias,
batches before and after a login, and what the fake Braze received, in order."""

from __future__ import annotations

from typing import Any

from connections.models import BrazeOutput
from devtools.fakebraze import FakeBraze
from mapping.output_settings import AnonymousUsers, OutputSettings

IDENTIFY_PERMISSIONS = frozenset({"users.track", "users.identify"})
MPID = 7_001_002_003


def send_anonymous_users_as_alias(output: BrazeOutput) -> BrazeOutput:
    settings = OutputSettings.model_validate(output.settings).model_copy(
        update={"anonymous_users": AnonymousUsers.USER_ALIAS}
    )
    BrazeOutput.objects.filter(pk=output.pk).update(settings=settings.model_dump(mode="json"))
    output.refresh_from_db()
    return output


def custom_events(*names: str) -> list[dict[str, Any]]:
    return [
        {
            "event_type": "custom_event",
            "data": {"event_name": name, "custom_event_type": "other", "timestamp_unixtime_ms": n},
        }
        for n, name in enumerate(names, 1)
    ]


def anonymous_batch(*names: str, mpid: int = MPID) -> dict[str, Any]:
    """A batch of a user who has not logged in: an MPID, no customer id."""
    return {"mpid": mpid, "environment": "production", "events": custom_events(*names)}


def known_batch(customer_id: str, *names: str, mpid: int = MPID) -> dict[str, Any]:
    """The same MPID after the login: now with the customer id."""
    return {
        "mpid": mpid,
        "environment": "production",
        "user_identities": {"customerid": customer_id},
        "events": custom_events(*names),
    }


def alias_of(mpid: int = MPID) -> dict[str, str]:
    return {"alias_name": str(mpid), "alias_label": "mparticle_id"}


def received(braze: FakeBraze) -> list[tuple[str, str]]:
    """What Braze accepted, in the order of its requests: ``(kind, who and what)``, e.g.
    ``("events", "alias 7001002003: Browse")``, ``("identify", "c-1 ← 7001002003")``."""
    rows = sorted(braze.accepted_objects(), key=lambda item: (item["request"], item["index"]))
    return [(item["kind"], _describe(item["kind"], item["body"])) for item in rows]


def _describe(kind: str, body: dict[str, Any]) -> str:
    if kind == "identify":
        return f"{body['external_id']} ← {body['user_alias']['alias_name']}"
    who = body.get("external_id") or f"alias {body.get('user_alias', {}).get('alias_name')}"
    return f"{who}: {body['name']}" if "name" in body else str(who)


def identify_requests(braze: FakeBraze) -> list[dict[str, Any]]:
    return [r for r in braze.requests() if r["path"] == "/users/identify"]
