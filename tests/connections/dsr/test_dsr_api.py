"""The OpenDSR endpoints: tokens with the ``dsr`` scope, bodies (every malformed one a 400
naming the field), idempotent ids, status, cancellation and discovery."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from connections import roles
from connections.dsr.models import DataSubjectCallback, DataSubjectRequest
from connections.identity.models import IdentityRecord
from connections.models import Connection
from tests.connections.api_helpers import ApiClient, with_roles
from tests.connections.dsr.helpers import PATH, REQUEST_ID, erasure

pytestmark = pytest.mark.django_db


@pytest.fixture
def controller(api_as: Callable[..., ApiClient]) -> ApiClient:
    return api_as(with_roles("privacy-bot", roles.OPS), "dsr")


def submit(client: ApiClient, body: Any) -> Any:
    return client.post(PATH, body)


def test_an_erasure_is_accepted_with_openDSRs_receipt(controller: ApiClient) -> None:
    body = erasure(subject_request_id=REQUEST_ID)
    answer = submit(controller, body)
    assert answer.status_code == 201, answer.content
    receipt = answer.json()
    assert receipt["subject_request_id"] == REQUEST_ID
    assert json.loads(base64.b64decode(receipt["encoded_request"])) == body
    assert receipt["expected_completion_time"].endswith("Z")
    assert answer["X-OpenDSR-Processor-Domain"] == "127.0.0.1:8000"
    stored = DataSubjectRequest.objects.get()
    assert (stored.status, stored.identities) == ("pending", [["customer_id", "cust-1"]])


def test_the_same_id_again_answers_the_existing_request(controller: ApiClient) -> None:
    body = erasure(subject_request_id=REQUEST_ID)
    first = submit(controller, body)
    again = submit(controller, {**body})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["received_time"] == first.json()["received_time"]
    assert DataSubjectRequest.objects.count() == 1


def test_the_same_id_with_another_body_is_a_conflict(controller: ApiClient) -> None:
    submit(controller, erasure(subject_request_id=REQUEST_ID))
    other = erasure(subject_request_id=REQUEST_ID, submitted_time="2026-12-02T15:00:00Z")
    answer = submit(controller, other)
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["errors"][0]["field"] == "subject_request_id"
    assert "exists already with another body" in error["message"]


def test_openDSR_identity_arrays_and_mparticles_extension_are_read(controller: ApiClient) -> None:
    body = erasure(
        subject_identities=[
            {
                "identity_type": "email",
                "identity_value": "ana@example.com",
                "identity_format": "raw",
            }
        ],
        extensions={
            "opendsr.mparticle.com": {
                "subject_identities": {
                    "other2": {"value": "o-2", "encoding": "raw"},
                    "mpid": {"value": "-42", "encoding": "raw"},
                },
                "mpids": [77],
            }
        },
    )
    assert submit(controller, body).status_code == 201
    stored = DataSubjectRequest.objects.get()
    assert stored.identities == [
        ["email", "ana@example.com"],
        ["other_id_2", "o-2"],
        ["mpid", "-42"],
        ["mpid", "77"],
    ]
    assert stored.keys["mpids"] == ["-42", "77"]


def test_the_identity_store_adds_the_subjects_mpid_at_once(
    controller: ApiClient, connection: Connection
) -> None:
    IdentityRecord.objects.create(
        connection=connection, identity_type="customerid", value="cust-1", mpid=9001
    )
    submit(controller, erasure())
    assert DataSubjectRequest.objects.get().keys == {
        "mpids": ["9001"],
        "identities": [["customer_id", "cust-1"]],
    }


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"subject_request_id": None}, "subject_request_id", "is required"),
        ({"subject_request_id": "not-a-uuid"}, "subject_request_id", "is not a UUID"),
        ({"subject_request_type": "delete"}, "subject_request_type", "must be one of"),
        ({"subject_request_type": "access"}, "subject_request_type", "erasure only"),
        ({"subject_request_type": "portability"}, "subject_request_type", "not supported"),
        ({"regulation": "hipaa"}, "regulation", "gdpr or ccpa"),
        ({"submitted_time": "yesterday"}, "submitted_time", "RFC 3339"),
        ({"submitted_time": "2026-12-01T15:00:00"}, "submitted_time", "with a zone"),
        ({"subject_identities": None}, "subject_identities", "at least one identity"),
        ({"subject_identities": {}}, "subject_identities", "at least one identity"),
        ({"subject_identities": "ana"}, "subject_identities", "keyed by identity type"),
        (
            {"subject_identities": {"ios_advertising_id": {"value": "x"}}},
            "subject_identities.ios_advertising_id",
            "not supported",
        ),
        (
            {"subject_identities": {"email": {"value": ""}}},
            "subject_identities.email.value",
            "non-empty string",
        ),
        (
            {"subject_identities": {"email": {"value": "a@b.c", "encoding": "sha256"}}},
            "subject_identities.email.encoding",
            "only raw",
        ),
        (
            {"subject_identities": {"mpid": {"value": "12abc"}}},
            "subject_identities.mpid.value",
            "64-bit integer",
        ),
        (
            {"subject_identities": [{"identity_value": "x"}]},
            "subject_identities.0.identity_type",
            "is required",
        ),
        ({"status_callback_urls": "https://x.example"}, "status_callback_urls", "an array"),
        ({"status_callback_urls": [3]}, "status_callback_urls.0", "URL string"),
        (
            {"status_callback_urls": ["ftp://x.example/cb"]},
            "status_callback_urls.0",
            "must start with https://",
        ),
        (
            {"status_callback_urls": ["https://10.0.0.8/cb"]},
            "status_callback_urls.0",
            "private",
        ),
    ],
)
def test_a_malformed_body_gets_a_400_naming_the_field(
    controller: ApiClient, change: dict[str, Any], field: str, words: str
) -> None:
    answer = submit(controller, erasure(**change))
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == 400
    assert error["errors"][0]["field"] == field
    assert words in error["message"]
    assert not DataSubjectRequest.objects.exists()


@pytest.mark.parametrize(("raw", "field"), [(b"{nope", "body"), (b"[1]", "body")])
def test_a_body_that_is_not_a_json_object_gets_a_400(
    controller: ApiClient, raw: bytes, field: str
) -> None:
    answer = submit(controller, raw)
    assert (answer.status_code, answer.json()["error"]["errors"][0]["field"]) == (400, field)


def test_a_body_over_64_kb_gets_a_413(controller: ApiClient) -> None:
    answer = submit(controller, erasure(padding="x" * 70_000))
    assert answer.status_code == 413


def test_plain_http_callbacks_reach_only_a_loopback_receiver_in_debug(
    controller: ApiClient, settings: Any
) -> None:
    assert (
        submit(controller, erasure(status_callback_urls=["http://127.0.0.1:9/cb"])).status_code
        == 201
    )
    settings.MPBRAZE_ALLOW_LOCAL_ENDPOINTS = False
    answer = submit(controller, erasure(status_callback_urls=["http://127.0.0.1:9/cb"]))
    assert answer.status_code == 400


def test_callbacks_are_refused_when_no_secret_can_sign_them(
    controller: ApiClient, settings: Any
) -> None:
    settings.MPBRAZE_DSR_CALLBACK_SECRET = ""
    answer = submit(controller, erasure(status_callback_urls=["https://privacy.example/cb"]))
    assert answer.status_code == 400
    assert "MPBRAZE_DSR_CALLBACK_SECRET is not set" in answer.json()["error"]["message"]
    assert submit(controller, erasure()).status_code == 201


def test_acceptance_owes_the_callbacks_a_pending_status(controller: ApiClient) -> None:
    submit(controller, erasure(status_callback_urls=["https://privacy.example/cb"]))
    callback = DataSubjectCallback.objects.get()
    assert (callback.request_status, callback.state) == ("pending", "pending")
    assert json.loads(callback.body)["status_callback_url"] == "https://privacy.example/cb"


def test_without_a_token_the_answer_is_401(db: None) -> None:
    answer = Client().post(PATH, erasure(), content_type="application/json")
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="mpbraze"'


def test_an_unknown_token_is_401(db: None) -> None:
    answer = ApiClient("mpb_abcdefabcdef_" + "x" * 43).post(PATH, erasure())
    assert answer.status_code == 401


def test_a_token_without_the_dsr_scope_is_403(api_as: Callable[..., ApiClient], ops: User) -> None:
    answer = api_as(ops, "read,write,replay").post(PATH, erasure())
    assert answer.status_code == 403
    assert "do not include “dsr”" in answer.json()["error"]["message"]


def test_a_marketers_dsr_token_is_403_for_want_of_the_role(
    api_as: Callable[..., ApiClient], marketer: User
) -> None:
    answer = api_as(marketer, "dsr").post(PATH, erasure())
    assert answer.status_code == 403
    assert "connections.add_datasubjectrequest" in answer.json()["error"]["message"]


def test_an_auditor_reads_a_request_but_cannot_submit_one(
    api_as: Callable[..., ApiClient], auditor: User, controller: ApiClient
) -> None:
    submit(controller, erasure(subject_request_id=REQUEST_ID))
    reader = api_as(auditor, "dsr")
    assert reader.post(PATH, erasure()).status_code == 403
    status = reader.get(f"{PATH}/{REQUEST_ID}")
    assert status.status_code == 200
    body = status.json()
    assert (body["subject_request_id"], body["request_status"]) == (REQUEST_ID, "pending")
    assert body["api_version"] == "3.0"


def test_an_unknown_or_malformed_id_is_404(controller: ApiClient) -> None:
    assert controller.get(f"{PATH}/{REQUEST_ID}").status_code == 404
    assert controller.get(f"{PATH}/nope").status_code == 404


def test_a_pending_request_can_be_cancelled_once(controller: ApiClient) -> None:
    submit(controller, erasure(subject_request_id=REQUEST_ID))
    assert controller.delete(f"{PATH}/{REQUEST_ID}/").status_code == 202
    assert DataSubjectRequest.objects.get().status == "cancelled"
    again = controller.delete(f"{PATH}/{REQUEST_ID}")
    assert again.status_code == 409
    assert "only a pending request can be cancelled" in again.json()["error"]["message"]


def test_trailing_slashes_and_wrong_methods(controller: ApiClient) -> None:
    assert submit(controller, erasure()).status_code == 201
    assert controller.post(f"{PATH}/", erasure()).status_code == 201
    wrong = controller.get(PATH)
    assert (wrong.status_code, wrong["Allow"]) == (405, "POST")


def test_discovery_lists_erasure_and_the_identities_it_matches(db: None) -> None:
    answer = Client().get("/opendsr/v3/discovery")
    assert answer.status_code == 200
    body = answer.json()
    assert body["supported_subject_request_types"] == ["erasure"]
    types = [item["identity_type"] for item in body["supported_identities"]]
    assert types[:3] == ["controller_customer_id", "email", "mpid"]
    assert {item["identity_format"] for item in body["supported_identities"]} == {"raw"}
    assert body["api_version"] == "3.0"
    assert body["callback_signature"] == "standard-webhooks"
