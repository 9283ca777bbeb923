"""The OpenDSR endpoints (docs/erasure.md): ``POST /opendsr/v3/requests``,
``GET|DELETE /opendsr/v3/requests/{subject_request_id}`` and ``GET /opendsr/v3/discovery``.

Authenticated as the REST API is (a bearer token, its failures throttled), with the ``dsr``
scope and the role permission of each operation; discovery is public, as OpenDSR expects.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from connections.api.auth_throttle import api_auth_failure
from connections.api.errors import ApiError
from connections.api.tokens import api_token_authenticate
from connections.dsr.answers import DsrHttpError, answer, error_answer, processor_domain
from connections.dsr.callbacks import iso, status_body
from connections.dsr.identities import DISCOVERY_TYPES
from connections.dsr.models import DataSubjectRequest
from connections.dsr.parsing import SUPPORTED_TYPES, DsrInputError, dsr_body_parse
from connections.dsr.selectors import dsr_request_extensions
from connections.dsr.services import DsrConflict, dsr_request_cancel, dsr_request_create

SCOPE = "dsr"
MAX_BODY_BYTES = 64 * 1024
API_VERSION = "3.0"


def _handled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except DsrHttpError as error:
            return error_answer(error)

    return csrf_exempt(wrapped)


def _only(request: HttpRequest, *methods: str) -> None:
    if request.method not in methods:
        allowed = ", ".join(methods)
        raise DsrHttpError(405, f"Use {allowed} here.", headers={"Allow": allowed})


def _user(request: HttpRequest, permission: str) -> User:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise DsrHttpError(401, "An API token is required: Authorization: Bearer mpb_….")
    found = api_token_authenticate(raw)
    if found is None:
        try:
            api_auth_failure(request, raw)
        except ApiError as error:
            raise DsrHttpError(429, str(error), headers=error.headers) from None
        raise DsrHttpError(401, "The API token is unknown, revoked or expired.")
    if SCOPE not in found.scopes:
        scopes = ", ".join(found.scopes)
        raise DsrHttpError(403, f"This token's scopes ({scopes}) do not include “dsr”.")
    if not found.user.has_perm(permission):
        name = found.user.get_username()
        raise DsrHttpError(403, f"The token's user ({name}) lacks the permission {permission}.")
    return found.user


@_handled
def requests_endpoint(request: HttpRequest) -> HttpResponse:
    """Submit a request: 201 when accepted, 200 answering a repeat of an accepted one."""
    _only(request, "POST")
    user = _user(request, "connections.add_datasubjectrequest")
    raw = _body(request)
    try:
        draft, body = dsr_body_parse(raw)
        if draft.subject_request_type not in SUPPORTED_TYPES:
            raise DsrInputError(
                "subject_request_type",
                f"{draft.subject_request_type} requests are not supported by this processor;"
                " it honours erasure only (see /discovery).",
            )
        if draft.callback_urls and not settings.MPBRAZE_DSR_CALLBACK_SECRET:
            raise DsrInputError(
                "status_callback_urls",
                "this installation cannot sign callbacks: MPBRAZE_DSR_CALLBACK_SECRET is not set.",
            )
        created_request, created = dsr_request_create(draft=draft, body=body, user=user)
    except DsrInputError as error:
        raise DsrHttpError(400, f"{error.field}: {error.message}", error.field) from None
    except DsrConflict as error:
        raise DsrHttpError(409, str(error), "subject_request_id") from None
    return answer(_receipt(created_request, raw), 201 if created else 200)


def _body(request: HttpRequest) -> bytes:
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        raise DsrHttpError(413, f"The body is over {MAX_BODY_BYTES // 1024} KB.", "body")
    raw = request.body
    if len(raw) > MAX_BODY_BYTES:
        raise DsrHttpError(413, f"The body is over {MAX_BODY_BYTES // 1024} KB.", "body")
    return raw


def _receipt(request: DataSubjectRequest, raw: bytes) -> dict[str, Any]:
    return {
        "controller_id": str(request.requested_by_id or ""),
        "expected_completion_time": iso(request.expected_completion_time),
        "received_time": iso(request.received_time),
        "encoded_request": base64.b64encode(raw).decode(),
        "subject_request_id": str(request.subject_request_id),
    }


@_handled
def request_endpoint(request: HttpRequest, subject_request_id: str) -> HttpResponse:
    """Read a request's status (GET), or cancel it while it is pending (DELETE)."""
    _only(request, "GET", "DELETE")
    if request.method == "DELETE":
        _user(request, "connections.change_datasubjectrequest")
        return _cancel(_found(subject_request_id))
    _user(request, "connections.view_datasubjectrequest")
    found = _found(subject_request_id)
    return answer(
        {
            **status_body(found),
            "received_time": iso(found.received_time),
            "extensions": dsr_request_extensions(found),
        }
    )


def _found(subject_request_id: str) -> DataSubjectRequest:
    try:
        key = uuid.UUID(subject_request_id)
    except ValueError:
        raise DsrHttpError(404, "No subject request with that id.") from None
    found = DataSubjectRequest.objects.filter(subject_request_id=key).first()
    if found is None:
        raise DsrHttpError(404, "No subject request with that id.")
    return found


def _cancel(found: DataSubjectRequest) -> HttpResponse:
    try:
        cancelled = dsr_request_cancel(request=found)
    except DsrConflict as error:
        raise DsrHttpError(409, str(error), "subject_request_id") from None
    body = {
        "controller_id": str(cancelled.requested_by_id or ""),
        "expected_completion_time": None,
        "received_time": iso(cancelled.finished_at),
        "subject_request_id": str(cancelled.subject_request_id),
        "api_version": cancelled.api_version,
    }
    return answer(body, 202)


@_handled
def discovery_endpoint(request: HttpRequest) -> HttpResponse:
    """What this processor honours (public: it names no one)."""
    _only(request, "GET")
    return answer(
        {
            "api_version": API_VERSION,
            "supported_identities": [
                {"identity_type": name, "identity_format": "raw"} for name in DISCOVERY_TYPES
            ],
            "supported_subject_request_types": list(SUPPORTED_TYPES),
            # Callbacks are signed as Standard Webhooks, not with a certificate (docs/erasure.md).
            "processor_certificate": None,
            "callback_signature": "standard-webhooks",
            "processor_domain": processor_domain(),
        }
    )
