"""Identifies at once, against a live server on PostgreSQL: the unique constraint, not a lock
in Python, decides which MPID an identity gets."""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from connections.identity.models import IdentityRecord
from connections.models import Connection
from tests.connections.websdk.websdk_helpers import identity_body
from tests.services import require_postgresql

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 16


@pytest.fixture
def identify(live_server: Any, connection: Connection, settings: Any) -> Any:
    require_postgresql()
    settings.MPBRAZE_IDENTITY_REQUESTS_PER_MINUTE = 0  # one address sends them all

    def send(body: dict[str, Any]) -> str:
        request = urllib.request.Request(
            live_server.url + "/identity/v1/identify",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "x-mp-key": connection.web_key},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
            return str(json.load(response)["mpid"])

    return send


def test_a_thousand_new_identities_at_once_get_a_thousand_mpids(
    identify: Any, connection: Connection
) -> None:
    bodies = [identity_body(stamp=f"device-{n}", customerid=f"cust-{n}") for n in range(1000)]
    with ThreadPoolExecutor(THREADS) as pool:
        mpids = list(pool.map(identify, bodies))
    assert len(set(mpids)) == 1000
    customers = IdentityRecord.objects.filter(connection=connection, identity_type="customerid")
    assert customers.count() == 1000
    assert customers.values("mpid").distinct().count() == 1000


def test_one_new_customer_identified_at_once_from_many_devices_gets_one_mpid(
    identify: Any, connection: Connection
) -> None:
    bodies = [identity_body(stamp=f"device-{n}", customerid="cust-new") for n in range(200)]
    with ThreadPoolExecutor(THREADS) as pool:
        mpids = set(pool.map(identify, bodies))
    stored = IdentityRecord.objects.get(connection=connection, identity_type="customerid")
    assert mpids == {str(stored.mpid)}
