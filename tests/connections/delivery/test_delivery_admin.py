"""Failed sends in the admin: auditors read rows, attempts and batches; nobody edits."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections.models import Connection, Delivery, DeliveryAttempt
from tests.conftest import add_output
from tests.connections.delivery_helpers import event, queue_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_row(connection: Connection) -> Delivery:
    add_output(connection, "ios", "ios-key-0001")
    server = add_output(connection, "server", "rest-key-0002")
    row = queue_rows(server, [event("customer-77", name="Checkout")])[0]
    attempt = DeliveryAttempt.objects.create(
        connection=connection,
        output=server,
        started_at=timezone.now(),
        object_count=1,
        outcome="rejected",
        status_code=400,
        braze_message="Invalid email",
    )
    attempt.deliveries.add(row)
    Delivery.objects.filter(pk=row.pk).update(
        status="rejected", last_status_code=400, error_class="http_400", last_error="Invalid email"
    )
    return row


def test_an_auditor_finds_a_failed_send_and_its_attempts(
    auditor: User, failed_row: Delivery
) -> None:
    client = Client()
    client.force_login(auditor)
    listing = client.get(reverse("admin:connections_delivery_changelist") + "?q=customer-77")
    assert listing.status_code == 200
    assert "Checkout" in listing.content.decode()
    detail = client.get(reverse("admin:connections_delivery_change", args=[failed_row.pk]))
    assert detail.status_code == 200
    assert "Invalid email" in detail.content.decode()
    for name in ("deliveryattempt", "inboundbatch"):
        assert client.get(reverse(f"admin:connections_{name}_changelist")).status_code == 200
    assert (
        client.post(reverse("admin:connections_delivery_delete", args=[failed_row.pk])).status_code
        == 403
    )


def test_an_outsider_cannot_read_failed_sends(outsider: User, failed_row: Delivery) -> None:
    outsider.is_staff = True
    outsider.save()
    client = Client()
    client.force_login(outsider)
    assert client.get(reverse("admin:connections_delivery_changelist")).status_code == 403
