"""Mapping issues and the dry-run preview over the API (the preview page's ``preview_batch``:
nothing is stored or sent)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from connections.api.auth import token
from connections.api.common import ERRORS, connection_get, output_get
from connections.api.errors import ApiError
from connections.api.pagination import MAX_LIMIT, page
from connections.api.schemas import Page, Strict
from connections.audit.display import masked
from connections.delivery.mapping_service import output_mapping_context
from connections.models import Platform
from connections.rules.ids import DatabaseId
from mapping.forms import MAX_PREVIEW_BYTES
from mapping.issues import IssueKind
from mapping.models import MappingIssue
from mapping.preview import preview_batch

router = Router(tags=["mapping"])
VIEW = token("read", "mapping.view_mappingissue")
PREVIEW = token("read", "connections.preview_mapping")


class MappingIssueOut(Schema):
    id: int
    connection_id: int
    platform: str
    kind: str
    field_path: str
    action: str
    example_value: str
    count: int
    first_seen: datetime
    last_seen: datetime


class MappingIssuePage(Page):
    items: list[MappingIssueOut]


class PreviewIn(Strict):
    platform: str = Field(Platform.SERVER.value, description="The output to map for.")
    batch: dict[str, Any] = Field(description="An mParticle batch, as the Events API takes it.")


class IssueOut(Schema):
    kind: str
    field_path: str
    example: str
    action: str
    event_index: int | None


class PreviewOut(Schema):
    problems: list[str] = Field(description="Why the inbound API would refuse the batch.")
    requests: list[dict[str, Any]] = Field(description="/users/track bodies, chunked as sent.")
    issues: list[IssueOut]
    refused_objects: int = Field(description="Objects over Braze's size limit: never sent.")
    filtered_events: int


def issue_out(issue: MappingIssue) -> dict[str, Any]:
    names = [name for name in MappingIssueOut.model_fields if name != "platform"]
    return {**{n: getattr(issue, n) for n in names}, "platform": issue.output.platform}


@router.get("/mapping-issues", response={200: MappingIssuePage, **ERRORS}, auth=VIEW)
def mapping_issues_list(
    request: HttpRequest,
    connection: DatabaseId | None = None,
    kind: IssueKind | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    rows = MappingIssue.objects.select_related("output")
    if connection is not None:
        rows = rows.filter(connection_id=connection)
    if kind is not None:
        rows = rows.filter(kind=kind.value)
    return page(rows, cursor=cursor, limit=limit, render=issue_out)


@router.post("/connections/{pk}/preview", response={200: PreviewOut, **ERRORS}, auth=PREVIEW)
def mapping_preview(request: HttpRequest, pk: DatabaseId, payload: PreviewIn) -> dict[str, Any]:
    """What would be sent to Braze for ``batch`` with this output's settings."""
    connection_get(pk)
    if len(request.body) > MAX_PREVIEW_BYTES:
        raise ApiError(413, "too_large", "The batch is over 256 KB, the inbound API's limit.")
    output = output_get(pk, payload.platform)
    preview = preview_batch(payload.batch, output_mapping_context(output))
    return {
        "problems": [
            f"{where}: {problem}" if where else problem for where, problem in preview.problems
        ],
        "requests": [
            {name: [masked(o) for o in objects] for name, objects in body.items()}
            for body in preview.requests
        ],
        "issues": [
            {
                "kind": i.kind.value,
                "field_path": i.field_path,
                "example": i.example,
                "action": i.action.value,
                "event_index": i.event_index,
            }
            for i in preview.issues
        ],
        "refused_objects": len(preview.refused),
        "filtered_events": preview.filtered_count,
    }
