"""Who sends to Braze: in kit mode the SDK's uploads are stored and not forwarded again; in
server-side mode they take the normal path. Events API batches are forwarded either way."""

from __future__ import annotations

import pytest
from django.test import Client

from connections.models import Connection, DeliveryMode, InboundBatch
from connections.rules.validation import OutputDraft, SiblingOutput, validate_output
from mpbraze.addresses import EndpointPolicy
from tests.conftest import add_output
from tests.connections.api_helpers import ApiClient
from tests.connections.inbound_helpers import Sender
from tests.connections.websdk.websdk_helpers import SITE, post_upload, sdk_upload

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_app_output_delivers_by_kit_unless_told(connection: Connection) -> None:
    assert add_output(connection, "web", "web-app-key").delivery_mode == DeliveryMode.KIT


def test_in_kit_mode_an_upload_is_stored_for_audit_and_not_mapped(
    client: Client, connection: Connection
) -> None:
    add_output(connection, "web", "web-app-key", allowed_origins=SITE)
    assert post_upload(client, connection.web_key, sdk_upload(), Origin=SITE).status_code == 202
    batch = InboundBatch.objects.get(connection=connection)
    assert batch.status == InboundBatch.Status.KIT
    assert batch.get_status_display() == "Sent by the SDK's Braze kit (stored, not forwarded)"


def test_in_server_side_mode_an_upload_waits_to_be_mapped(
    client: Client, connection: Connection
) -> None:
    add_output(
        connection,
        "web",
        "web-app-key",
        allowed_origins=SITE,
        delivery_mode=DeliveryMode.SERVER_SIDE,
    )
    assert post_upload(client, connection.web_key, sdk_upload(), Origin=SITE).status_code == 202
    batch = InboundBatch.objects.get(connection=connection)
    assert batch.status in (InboundBatch.Status.RECEIVED, InboundBatch.Status.WAITING)


def test_the_events_api_forwards_web_batches_in_kit_mode_too(
    client: Client, connection: Connection
) -> None:
    add_output(connection, "web", "web-app-key")
    assert Sender(client, connection).post("/v2/events", sdk_upload()).status_code == 202
    batch = InboundBatch.objects.get(connection=connection)
    assert batch.status != InboundBatch.Status.KIT


def test_the_api_reads_and_changes_the_delivery_mode(
    api: ApiClient, connection: Connection
) -> None:
    url = f"connections/{connection.pk}/outputs"
    created = api.post(url, {"platform": "web", "api_key": "web-app-key-1"})
    assert created.json()["delivery_mode"] == "kit"
    changed = api.patch(f"{url}/web", {"delivery_mode": "server_side"})
    assert changed.json()["delivery_mode"] == "server_side"
    output = connection.outputs.get(platform="web")
    assert [h.delivery_mode for h in output.history.order_by("history_id")] == [
        "kit",
        "server_side",
    ]


@pytest.mark.parametrize(
    ("platform", "mode", "message"),
    [
        ("web", "sometimes", "Choose kit or server-side delivery."),
        ("server", "server_side", "The delivery mode applies to iOS, Android and Web outputs."),
    ],
)
def test_a_wrong_delivery_mode_is_named(platform: str, mode: str, message: str) -> None:
    draft = OutputDraft(platform=platform, api_key="k", delivery_mode=mode)
    result = validate_output(
        draft,
        [SiblingOutput("ios", "x", "")],
        EndpointPolicy(allow_local=False),
        key_required=True,
    )
    assert result.errors.get("delivery_mode") == [message]
