"""What a batch says of its MPID for the anonymous → known merge, and the identify bodies: each
row a case a user could file as a bug."""

from __future__ import annotations

from typing import Any

import pytest

from mapping.engine import map_batch
from mapping.identify import Sighting, alias_to_identify, batch_sighting, identify_bodies
from mapping.output_settings import ExternalIdentityType
from tests.mapping.helpers import context

ALIAS = context(anonymous_users="user_alias")


@pytest.mark.parametrize(
    ("batch", "sighting"),
    [
        ({"mpid": 7001}, Sighting("7001", None)),
        ({"mpid": "7001"}, Sighting("7001", None)),
        ({"mpid": -42, "user_identities": {}}, Sighting("-42", None)),
        ({"mpid": 7001, "user_identities": {"customer_id": "c-1"}}, Sighting("7001", "c-1")),
        ({"mpid": 7001, "user_identities": {"customerid": "c-1"}}, Sighting("7001", "c-1")),
        ({"mpid": 7001, "user_identities": {"customerid": "  "}}, Sighting("7001", None)),
        ({"mpid": 7001, "user_identities": {"customerid": 42}}, Sighting("7001", "42")),
        ({"mpid": 7001, "user_identities": {"customerid": "x" * 988}}, None),
        ({"mpid": 0}, None),
        ({"mpid": "seven"}, None),
        ({"mpid": None, "user_identities": {"customerid": "c-1"}}, None),
        ({"user_identities": {"customerid": "c-1"}}, None),
        ([{"mpid": 7001}], None),
        ("not a batch", None),
    ],
)
def test_a_batch_tells_its_mpid_and_whether_it_is_known(
    batch: Any, sighting: Sighting | None
) -> None:
    assert batch_sighting(batch, ALIAS) == sighting


def test_an_output_that_drops_anonymous_users_has_nothing_to_merge() -> None:
    assert batch_sighting({"mpid": 7001}, context()) is None


def test_an_output_whose_external_id_is_the_mpid_has_nothing_to_merge() -> None:
    by_mpid = context(ExternalIdentityType.MPID, anonymous_users="user_alias")
    assert batch_sighting({"mpid": 7001}, by_mpid) is None


def test_the_alias_to_identify_is_the_one_the_anonymous_objects_were_sent_under() -> None:
    result = map_batch({"mpid": 7001}, ALIAS)
    sent_under = result.objects[0].body["user_alias"]
    assert alias_to_identify(external_id="c-1", mpid="7001") == {
        "external_id": "c-1",
        "user_alias": sent_under,
    }
    assert sent_under == {"alias_name": "7001", "alias_label": "mparticle_id"}


def test_identify_bodies_hold_at_most_50_aliases_in_order() -> None:
    items = [alias_to_identify(external_id=f"c-{n}", mpid=str(n)) for n in range(101)]
    bodies = identify_bodies(items)
    assert [len(body["aliases_to_identify"]) for body in bodies] == [50, 50, 1]
    assert [i for body in bodies for i in body["aliases_to_identify"]] == items
    assert identify_bodies([]) == []
