"""Who each Braze object is about (docs/mapping.md "Identity")."""

from __future__ import annotations

from typing import Any

import pytest

from mapping.engine import map_batch
from mapping.issues import IssueAction as A
from mapping.issues import IssueKind as K
from mapping.objects import ObjectKind
from mapping.output_settings import EmailIdentityType as Email
from mapping.output_settings import ExternalIdentityType as External
from tests.mapping.helpers import T0_ISO, context, custom, issue

EVENT = custom("E")

IDENTITY_CASES: list[Any] = [
    pytest.param(
        {"user_identities": {"customer_id": "c-1"}},
        {},
        {"external_id": "c-1"},
        id="it_uses_customer_id_as_external_id_by_default",
    ),
    pytest.param(
        {"user_identities": {"customerid": "c-1"}},
        {},
        {"external_id": "c-1"},
        id="it_reads_the_sdk_spelling_customerid",
    ),
    pytest.param(
        {"user_identities": {"other_id_2": "o-2", "customer_id": "c-1"}},
        {"external": External.OTHER_2},
        {"external_id": "o-2"},
        id="it_uses_the_configured_identity_type",
    ),
    pytest.param(
        {"mpid": 7346244611012968789},
        {"external": External.MPID},
        {"external_id": "7346244611012968789"},
        id="it_sends_the_mpid_as_a_string_when_mpid_is_the_identity_type",
    ),
    pytest.param(
        {"mpid": "600868121729048600"},
        {"external": External.MPID},
        {"external_id": "600868121729048600"},
        id="it_accepts_the_mpid_sent_as_a_json_string",
    ),
    pytest.param(
        {"user_identities": {"customer_id": "c-1"}, "mpid": 99},
        {"anonymous_users": "user_alias"},
        {"external_id": "c-1"},
        id="it_prefers_the_external_identity_to_an_alias",
    ),
]


@pytest.mark.parametrize(("top", "options", "identifier"), IDENTITY_CASES)
def test_it_picks_the_external_identity(
    top: dict[str, Any], options: dict[str, Any], identifier: dict[str, Any]
) -> None:
    result = map_batch({"events": [EVENT], **top}, context(**options))

    assert result.bodies(ObjectKind.EVENTS) == [{**identifier, "name": "E", "time": T0_ISO}]
    assert result.issues == ()


DROP_CASES: list[Any] = [
    pytest.param(
        {"user_identities": {"email": "a@b.c"}},
        {},
        issue(K.NO_EXTERNAL_ID, "user_identities.customer_id", "", A.DROPPED_OBJECT, None),
        id="it_drops_an_anonymous_batch_and_records_it_by_default",
    ),
    pytest.param(
        {"user_identities": {"customer_id": "   "}},
        {},
        issue(K.NO_EXTERNAL_ID, "user_identities.customer_id", "", A.DROPPED_OBJECT, None),
        id="it_treats_a_blank_identity_as_missing",
    ),
    pytest.param(
        {"mpid": 0},
        {"external": External.MPID},
        issue(K.NO_EXTERNAL_ID, "mpid", "", A.DROPPED_OBJECT, None),
        id="it_treats_mpid_zero_as_no_user",
    ),
    pytest.param(
        {"user_identities": {}},
        {"anonymous_users": "user_alias"},
        issue(K.NO_EXTERNAL_ID, "mpid", "", A.DROPPED_OBJECT, None),
        id="it_drops_an_anonymous_batch_without_mpid_even_with_aliases_on",
    ),
    pytest.param(
        {"user_identities": {"customer_id": "é" * 494}},
        {},
        issue(
            K.EXTERNAL_ID_TOO_LONG, "user_identities.customer_id", "é" * 100, A.DROPPED_OBJECT, None
        ),
        id="it_sends_nothing_when_the_external_id_is_over_987_bytes",
    ),
]


@pytest.mark.parametrize(("top", "options", "expected_issue"), DROP_CASES)
def test_it_sends_nothing_for_a_user_it_cannot_identify(
    top: dict[str, Any], options: dict[str, Any], expected_issue: Any
) -> None:
    result = map_batch({"events": [EVENT], "user_attributes": {"a": 1}, **top}, context(**options))

    assert result.objects == ()
    assert result.issues == (expected_issue,)


def test_it_accepts_an_external_id_of_exactly_987_bytes() -> None:
    external_id = "é" * 493 + "x"

    result = map_batch(
        {"events": [EVENT], "user_identities": {"customer_id": external_id}}, context()
    )

    assert result.bodies(ObjectKind.EVENTS)[0]["external_id"] == external_id


def test_it_sends_an_anonymous_user_under_an_mparticle_id_alias_when_configured() -> None:
    raw = {"events": [EVENT], "mpid": "123", "user_identities": {"email": "a@b.co"}}

    result = map_batch(raw, context(anonymous_users="user_alias"))

    alias = {"alias_name": "123", "alias_label": "mparticle_id"}
    assert result.bodies(ObjectKind.ATTRIBUTES) == [
        {"user_alias": alias, "_update_existing_only": False, "email": "a@b.co"}
    ]
    assert result.bodies(ObjectKind.EVENTS) == [{"user_alias": alias, "name": "E", "time": T0_ISO}]
    assert {o.user_key for o in result.objects} == {"123"}


EMAIL_CASES: list[Any] = [
    pytest.param(
        {"email": "jane@example.com"}, {}, "jane@example.com", (), id="it_sends_the_email_identity"
    ),
    pytest.param(
        {"email": "jane@example.com", "other": "work@example.com"},
        {"email": Email.OTHER},
        "work@example.com",
        (),
        id="it_sends_the_configured_email_identity_type",
    ),
    pytest.param(
        {"email": "not an email"},
        {},
        None,
        (issue(K.INVALID_VALUE, "user_identities.email", "not an email", A.DROPPED_FIELD, None),),
        id="it_leaves_out_an_email_braze_would_reject",
    ),
]


@pytest.mark.parametrize(("identities", "options", "email", "issues"), EMAIL_CASES)
def test_it_picks_the_email_identity(
    identities: dict[str, Any], options: dict[str, Any], email: str | None, issues: Any
) -> None:
    raw = {"user_identities": {"customer_id": "c-1", **identities}}

    result = map_batch(raw, context(**options))

    expected = [{"external_id": "c-1", "email": email}] if email else []
    assert result.bodies(ObjectKind.ATTRIBUTES) == expected
    assert result.issues == issues


def test_it_writes_a_numeric_identity_as_text_and_records_it() -> None:
    result = map_batch({"events": [EVENT], "user_identities": {"customer_id": 42}}, context())

    assert result.bodies(ObjectKind.EVENTS)[0]["external_id"] == "42"
    assert result.issues == (
        issue(K.INVALID_VALUE, "user_identities.customer_id", "42", A.COERCED, None),
    )
