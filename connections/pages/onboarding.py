"""A new connection's first steps, each ticked from what the database holds (one query)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.urls import reverse

from connections.connectivity.models import ConnectivityCheck
from connections.delivery.models import Delivery, InboundBatch
from connections.models import BrazeOutput, Connection, Platform

APP_PLATFORMS = (Platform.IOS, Platform.ANDROID, Platform.WEB)

# Test identity and event of the "Send your first event" snippets.
FIRST_EVENT_USER = "mpbraze-first-event"
FIRST_EVENT_NAME = "mpbraze first event"


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    done: bool
    hint: str  # what to do while it is not done
    url: str = ""  # where it is done
    permission: str = "connections.view_connection"  # what that page asks of the user


@dataclass(frozen=True)
class Onboarding:
    steps: list[Step]
    first_event_user: str = FIRST_EVENT_USER
    first_event_name: str = FIRST_EVENT_NAME

    @property
    def delivered(self) -> bool:
        """The last step: an object reached Braze, so the first-event panel has done its job."""
        return self.steps[-1].done

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def next_step(self) -> Step | None:
        return next((step for step in self.steps if not step.done), None)


@dataclass(frozen=True)
class InboundEndpoint:
    """Where this server takes mParticle batches, as the request reached it."""

    events_url: str  # for curl and the Events API
    sdk_host: str  # the SDKs' base URL: they add /events themselves


def inbound_endpoint(request: HttpRequest) -> InboundEndpoint:
    events_url = request.build_absolute_uri(reverse("inbound_events"))
    return InboundEndpoint(events_url=events_url, sdk_host=events_url.removesuffix("/events"))


def connection_onboarding(connection: Connection) -> Onboarding:
    """App output → Server output → a passed test of it → a batch received → an object sent."""
    mine = OuterRef("pk")
    facts = (
        Connection.objects.filter(pk=connection.pk)
        .annotate(
            app=Exists(BrazeOutput.objects.filter(connection=mine, platform__in=APP_PLATFORMS)),
            server=Exists(BrazeOutput.objects.filter(connection=mine, platform=Platform.SERVER)),
            tested=Exists(
                ConnectivityCheck.objects.filter(
                    connection=mine,
                    output__platform=Platform.SERVER,
                    outcome=ConnectivityCheck.Outcome.PASSED,
                )
            ),
            received=Exists(InboundBatch.objects.filter(connection=mine)),
            delivered=Exists(Delivery.objects.filter(connection=mine, status=Delivery.Status.SENT)),
        )
        .values_list("app", "server", "tested", "received", "delivered")
        .get()
    )
    steps = zip(_STEPS, facts, strict=True)
    return Onboarding(
        steps=[
            Step(key, label, done, hint, *_where(key, connection.pk, has_app=facts[0]))
            for (key, label, hint), done in steps
        ]
    )


def _where(key: str, pk: int, *, has_app: bool) -> tuple[str, str]:
    """The page (or the part of the connection page) where a step is done, and the
    permission that page needs. Before an app output exists, the Server output's card says
    why it cannot be added yet."""
    add_output = reverse("output_create", args=[pk])
    detail = reverse("connection_detail", args=[pk])
    add_server = f"{add_output}?platform=server" if has_app else f"{detail}#output-server"
    return {
        "app": (add_output, "connections.add_brazeoutput"),
        "server": (add_server, "connections.add_brazeoutput"),
        "tested": (reverse("connection_checks", args=[pk]), "connections.view_connection"),
        "received": (f"{detail}#first-event", "connections.view_connection"),
        "delivered": (f"{detail}#glance", "connections.view_connection"),
    }[key]


_STEPS = [
    (
        "app",
        "Add an app output (iOS, Android or Web)",
        "The Braze kit in your app needs it, and the Server output builds on it.",
    ),
    (
        "server",
        "Add the Server output",
        "Its REST API key is what mpbraze sends to Braze with.",
    ),
    (
        "tested",
        "Pass a connectivity test of the Server output",
        "Click “Test connection”: it checks the Braze host and the REST API key.",
    ),
    (
        "received",
        "Receive a first batch",
        "Send an event with one of the snippets below, or point mParticle at this connection.",
    ),
    (
        "delivered",
        "Deliver a first object to Braze",
        "Follows on its own once a batch is received and the Server output works.",
    ),
]
