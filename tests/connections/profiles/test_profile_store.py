"""The profile store beyond mapping: two workers writing one user at once, erasing one user's
profile, retention, and the audit admin (issue 24 §1)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection as db
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections import services
from connections.delivery.intake import batch_receive
from connections.delivery.mapping_service import output_mapping_context
from connections.delivery.retention import retention_prune
from connections.models import BrazeOutput, Connection, InboundBatch, UserProfile
from connections.profiles.store import profile_erase
from connections.profiles.wave import ProfileWave
from mapping.engine import map_batch
from tests.conftest import add_output

MPID = 77


@pytest.fixture
def server(connection: Connection) -> BrazeOutput:
    add_output(connection, "ios", "ios-key-0001")
    return add_output(connection, "server", "rest-key-0002")


def receive(connection: Connection, attributes: dict[str, Any]) -> InboundBatch:
    body = {
        "mpid": MPID,
        "user_identities": {"customer_id": "c-1"},
        "user_attributes": attributes,
        "events": [],
        "device_info": {"platform": "web"},  # attribute values keep their JSON types
    }
    return batch_receive(connection=connection, payload=body)[0]


def mapped_wave(server: BrazeOutput, batch: InboundBatch) -> ProfileWave:
    """A worker's wave for ``batch``, read and mapped, not yet written."""
    context = output_mapping_context(server)
    wave = ProfileWave.load([(batch.pk, batch.connection_id, batch.payload, context)])
    wave.keep(batch.pk, map_batch(batch.payload, context, wave.input_for(batch.pk)).profile)
    return wave


def in_thread(work: Callable[[], None]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        finally:
            db.close()  # this thread's own connection

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_two_workers_storing_one_new_user_at_once_merge_and_the_later_batch_wins(
    connection: Connection, server: BrazeOutput
) -> None:
    earlier = receive(connection, {"plan": "trial", "a": 1})
    later = receive(connection, {"plan": "pro", "b": 2})
    first, second = mapped_wave(server, later), mapped_wave(server, earlier)  # both read nothing
    written, commit = threading.Event(), threading.Event()
    second_done = threading.Event()

    def first_worker() -> None:
        with transaction.atomic():
            first.save(now=timezone.now())
            written.set()
            commit.wait(timeout=30)

    def second_worker() -> None:
        with transaction.atomic():
            second.save(now=timezone.now())
        second_done.set()

    threads = [in_thread(first_worker)]
    assert written.wait(timeout=30)
    threads.append(in_thread(second_worker))
    # The second waits for the first's transaction (a row lock on PostgreSQL, the write lock
    # on SQLite) rather than overwrite what it cannot see yet.
    assert not second_done.wait(timeout=1)
    commit.set()
    for thread in threads:
        thread.join(timeout=30)

    assert second_done.is_set()
    profile = UserProfile.objects.get()
    assert profile.attributes == {"plan": "pro", "a": 1, "b": 2}
    assert profile.stamps == {"plan": later.pk, "a": earlier.pk, "b": later.pk}
    assert (profile.version, profile.last_batch_id) == (2, later.pk)


def profile(connection: Connection, mpid: int | None, external_id: str) -> UserProfile:
    return UserProfile.objects.create(
        connection=connection,
        mpid=mpid,
        external_id=external_id,
        attributes={"plan": "pro"},
        updated_at=timezone.now(),
    )


@pytest.mark.django_db
def test_erasing_a_user_by_external_identity_finds_both_kinds_of_profile(
    connection: Connection,
) -> None:
    other_connection = services.connection_create(name="Other")[0]
    by_mpid = profile(connection, 5, "jane")
    by_external_id = profile(connection, None, "jane")
    kept = [profile(connection, 6, "john"), profile(other_connection, 5, "jane")]

    assert profile_erase(connection_id=connection.pk, external_id="jane") == 2

    assert set(UserProfile.objects.all()) == set(kept)
    assert not UserProfile.objects.filter(pk__in=[by_mpid.pk, by_external_id.pk]).exists()


@pytest.mark.django_db
def test_erasing_a_user_by_mpid_leaves_other_users_alone(connection: Connection) -> None:
    profile(connection, 5, "")
    kept = profile(connection, 6, "")

    assert profile_erase(connection_id=connection.pk, mpid=5) == 1
    assert profile_erase(connection_id=connection.pk, mpid=5) == 0

    assert list(UserProfile.objects.all()) == [kept]


@pytest.mark.django_db
def test_erasing_without_naming_a_user_is_refused(connection: Connection) -> None:
    profile(connection, 5, "jane")

    with pytest.raises(ValueError, match="Name the user to erase"):
        profile_erase(connection_id=connection.pk)

    assert UserProfile.objects.count() == 1


@pytest.mark.django_db
def test_retention_forgets_the_profiles_of_users_gone_quiet_past_the_window(
    connection: Connection, settings: Any
) -> None:
    settings.MPBRAZE_PROFILE_RETENTION_DAYS = 30
    quiet, active = profile(connection, 1, "quiet"), profile(connection, 2, "active")
    UserProfile.objects.filter(pk=quiet.pk).update(updated_at=timezone.now() - timedelta(days=31))
    UserProfile.objects.filter(pk=active.pk).update(updated_at=timezone.now() - timedelta(days=29))

    report = retention_prune()

    assert report.profiles == 1
    assert list(UserProfile.objects.values_list("external_id", flat=True)) == ["active"]


@pytest.mark.django_db
def test_an_auditor_finds_a_profile_by_mpid_and_reads_it_but_cannot_change_it(
    auditor: User, connection: Connection
) -> None:
    stored = profile(connection, 9_007_199_254_740_993, "customer-9")
    client = Client()
    client.force_login(auditor)

    listing = client.get(
        reverse("admin:connections_userprofile_changelist") + "?q=9007199254740993"
    )
    detail = client.get(reverse("admin:connections_userprofile_change", args=[stored.pk]))
    edit = client.post(
        reverse("admin:connections_userprofile_change", args=[stored.pk]), {"external_id": "x"}
    )

    assert listing.status_code == 200
    assert "customer-9" in listing.content.decode()
    assert detail.status_code == 200
    assert "&quot;plan&quot;: &quot;pro&quot;" in detail.content.decode()
    assert edit.status_code == 403
    assert UserProfile.objects.get().external_id == "customer-9"


@pytest.mark.django_db
def test_an_admin_search_for_a_number_past_64_bits_finds_nothing_and_does_not_fail(
    auditor: User, connection: Connection
) -> None:
    profile(connection, 5, "jane")
    client = Client()
    client.force_login(auditor)

    url = reverse("admin:connections_userprofile_changelist") + "?q=99999999999999999999999"
    listing = client.get(url)

    assert listing.status_code == 200
    assert "jane" not in listing.content.decode()
