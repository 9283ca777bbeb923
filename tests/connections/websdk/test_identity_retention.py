"""Retention forgets anonymous devices of the identity store with the batches' retention,
and keeps every known identity (an identity maps to one MPID for ever)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from connections.delivery.retention import retention_prune
from connections.identity.models import DEVICE_STAMP, IdentityRecord
from connections.models import Connection
from tests.connections.websdk.test_identity_api import IDENTIFY, LOGIN, mpid_of
from tests.connections.websdk.websdk_helpers import post_identity

pytestmark = pytest.mark.django_db


def age(days: float) -> None:
    IdentityRecord.objects.update(created_at=timezone.now() - timedelta(days=days))


def test_an_old_anonymous_device_is_forgotten_and_gets_a_new_mpid(
    client: Client, connection: Connection, settings: Any
) -> None:
    settings.MPBRAZE_BATCH_RETENTION_DAYS = 7
    old = mpid_of(client, connection, IDENTIFY, stamp="old-laptop")
    age(8)
    recent = mpid_of(client, connection, IDENTIFY, stamp="new-laptop")

    report = retention_prune()

    assert report.anonymous_identities == 1
    stamps = IdentityRecord.objects.filter(identity_type=DEVICE_STAMP)
    assert list(stamps.values_list("value", flat=True)) == ["new-laptop"]
    assert mpid_of(client, connection, IDENTIFY, stamp="new-laptop") == recent
    assert mpid_of(client, connection, IDENTIFY, stamp="old-laptop") != old


def test_known_identities_and_a_device_that_became_a_known_user_are_kept(
    client: Client, connection: Connection, settings: Any
) -> None:
    settings.MPBRAZE_BATCH_RETENTION_DAYS = 7
    customer = mpid_of(client, connection, LOGIN, stamp="phone", customerid="cust-1")
    device = mpid_of(client, connection, IDENTIFY, stamp="tablet")
    body = {"identity_changes": [{"identity_type": "email", "new_value": "a@example.com"}]}
    answer = post_identity(client, f"/identity/v1/{device}/modify", body, key=connection.web_key)
    assert answer.status_code == 200
    age(30)

    assert retention_prune().anonymous_identities == 0

    assert mpid_of(client, connection, IDENTIFY, customerid="cust-1") == customer
    assert mpid_of(client, connection, IDENTIFY, stamp="tablet") == device
