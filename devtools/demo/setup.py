"""``make demo``: a connection pointing at a local fake Braze, fed by the real mParticle SDK."""

from __future__ import annotations

import time
from typing import Any

import mparticle

from connections import lifecycle, services
from connections.models import BrazeOutput, Connection
from connections.rules import instances
from connections.rules.validation import OutputDraft
from mapping.output_settings import OutputSettings

DEMO_NAME = "Demo (local fake Braze)"
DEMO_REST_KEY = "demo-rest-api-key-0001"
DEMO_APP_KEYS = {"ios": "demo-ios-app-key-0002", "web": "demo-web-app-key-0003"}


def demo_connection(*, braze_host: str) -> tuple[Connection, str]:
    """Create (or reset) the demo connection; returns it with a fresh inbound secret."""
    connection = Connection.objects.filter(name=DEMO_NAME).first()
    if connection is None:
        connection, secret = services.connection_create(name=DEMO_NAME)
    else:
        secret = services.connection_rotate_inbound_secret(connection=connection)
    endpoints = {"braze_instance": instances.CUSTOM, "custom_rest_endpoint": braze_host}
    for platform, key in [*DEMO_APP_KEYS.items(), ("server", DEMO_REST_KEY)]:
        output = BrazeOutput.objects.filter(connection=connection, platform=platform).first()
        draft = OutputDraft(platform=platform, api_key=key, **endpoints)
        services.output_save(
            connection=connection, draft=draft, settings=OutputSettings(), output=output
        )
    if connection.paused_reason:
        lifecycle.connection_resume(connection=connection)
    return connection, secret


def sdk_batches(users: int = 20, events_per_user: int = 10) -> list[Any]:
    """Batches built with the SDK's own models: custom events, a screen view, attributes."""
    batches = []
    for user in range(users):
        batch = mparticle.Batch(environment="development")
        batch.user_identities = mparticle.UserIdentities(
            customerid=f"demo-user-{user}", email=f"demo{user}@example.com"
        )
        batch.user_attributes = {"$FirstName": f"Demo {user}", "plan": "trial", "score": user}
        now_ms = int(time.time() * 1000)
        events: list[Any] = [mparticle.SessionStartEvent()]
        for n in range(events_per_user):
            event = mparticle.AppEvent(f"Viewed Item {n}", "navigation")
            event.timestamp_unixtime_ms = now_ms - (events_per_user - n) * 1000
            event.custom_attributes = {"item": f"sku-{n}", "price": 9.5 + n, "in_stock": True}
            events.append(event)
        events.append(mparticle.ScreenViewEvent(screen_name="Home"))
        batch.events = events
        batches.append(batch)
    return batches


def send_with_sdk(*, base_url: str, key: str, secret: str) -> int:
    """Post the demo batches through the real SDK, five to a bulk request; returns the count."""
    config = mparticle.Configuration()
    config.host = f"{base_url}/v2"
    config.api_key, config.api_secret = key, secret
    api = mparticle.EventsApi(config)
    batches = sdk_batches()
    for first in range(0, len(batches), 5):
        api.bulk_upload_events(batches[first : first + 5])
    return len(batches)
