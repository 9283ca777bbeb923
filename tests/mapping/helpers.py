"""Builders for mapping tests: small batches, one context per case, exact expectations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mapping.engine import map_batch
from mapping.issues import Issue, IssueAction, IssueKind
from mapping.objects import MappingContext, MappingResult, ObjectKind
from mapping.output_settings import EmailIdentityType, ExternalIdentityType, OutputSettings

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
T0 = 1_700_000_000_000
T0_ISO = "2023-11-14T22:13:20.000Z"
USER = {"external_id": "cust-42"}
IOS_APP = "ios-app-key"


def context(
    external: ExternalIdentityType = ExternalIdentityType.CUSTOMER_ID,
    email: EmailIdentityType = EmailIdentityType.EMAIL,
    app_ids: dict[str, str] | None = None,
    **settings: Any,
) -> MappingContext:
    return MappingContext(
        settings=OutputSettings(**settings),
        now=NOW,
        external_identity_type=external,
        email_identity_type=email,
        app_ids={"ios": IOS_APP} if app_ids is None else app_ids,
    )


def batch(*events: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"user_identities": {"customer_id": "cust-42"}, "events": list(events), **top}


def event(event_type: str, **data: Any) -> dict[str, Any]:
    return {"event_type": event_type, "data": {"timestamp_unixtime_ms": T0, **data}}


def custom(name: str = "Clicked", attributes: Any = None, **data: Any) -> dict[str, Any]:
    extra = {} if attributes is None else {"custom_attributes": attributes}
    return event("custom_event", event_name=name, custom_event_type="other", **extra, **data)


def map_events(
    *events: dict[str, Any], top: dict[str, Any] | None = None, **settings: Any
) -> MappingResult:
    return map_batch(batch(*events, **(top or {})), context(**settings))


def bodies(result: MappingResult, kind: ObjectKind) -> list[dict[str, Any]]:
    return result.bodies(kind)


def issue(
    kind: IssueKind, path: str, example: str, action: IssueAction, index: int | None = 0
) -> Issue:
    return Issue(kind, path, example, action, index)


def event_body(name: str, properties: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {**USER, "name": name, "time": T0_ISO, **extra}
    if properties is not None:
        body["properties"] = properties
    return body
