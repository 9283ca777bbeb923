"""User profiles in the mapping service (issue 24 §1): read once per wave, written with at
most one upsert per user, in arrival order, bounded; on PostgreSQL and SQLite alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connections.delivery import mapping_service
from connections.delivery.intake import batch_receive
from connections.models import BrazeOutput, Connection, Delivery, InboundBatch, UserProfile
from mapping.models import MappingIssue
from mapping.output_settings import AnonymousUsers
from tests.conftest import add_output

pytestmark = pytest.mark.django_db
MPID = 4_611_686_018_427_387_904
TABLE = "connections_userprofile"


@pytest.fixture
def server(connection: Connection) -> BrazeOutput:
    add_output(connection, "ios", "ios-key-0001")
    return add_output(connection, "server", "rest-key-0002")


def payload(
    attributes: dict[str, Any] | None = None,
    *,
    customer: str | None = "c-1",
    mpid: Any = MPID,
    **top: Any,
) -> dict[str, Any]:
    event = {
        "event_type": "custom_event",
        "data": {"event_name": "Play", "timestamp_unixtime_ms": 1},
    }
    # A web batch: user attribute values keep their JSON types (docs/mapping.md).
    body: dict[str, Any] = {"events": [event], "device_info": {"platform": "web"}, **top}
    if customer is not None:
        body["user_identities"] = {"customer_id": customer}
    if mpid is not None:
        body["mpid"] = mpid
    if attributes is not None:
        body["user_attributes"] = attributes
    return body


def receive(connection: Connection, body: dict[str, Any]) -> InboundBatch:
    return batch_receive(connection=connection, payload=body)[0]


def attributes_sent(batch: InboundBatch) -> list[dict[str, Any]]:
    rows = Delivery.objects.filter(batch=batch, kind="attributes").order_by("sequence")
    return list(rows.values_list("body", flat=True))


def upserts(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith(f'INSERT INTO "{TABLE}"')]


def test_a_later_batch_carries_what_an_earlier_one_set_and_the_profile_keeps_both(
    connection: Connection, server: BrazeOutput
) -> None:
    first = receive(connection, payload({"plan": "pro", "$City": "Oslo"}))
    second = receive(connection, payload({"seen": "yes"}))

    mapping_service.batch_map(batch_id=first.pk)
    mapping_service.batch_map(batch_id=second.pk)

    assert attributes_sent(second) == [
        {"external_id": "c-1", "plan": "pro", "home_city": "Oslo", "seen": "yes"}
    ]
    profile = UserProfile.objects.get()
    assert (profile.connection_id, profile.mpid, profile.external_id) == (
        connection.pk,
        MPID,
        "c-1",
    )
    assert profile.attributes == {"plan": "pro", "home_city": "Oslo", "seen": "yes"}
    assert profile.stamps == {"plan": first.pk, "home_city": first.pk, "seen": second.pk}
    assert (profile.version, profile.last_batch_id) == (2, second.pk)


def test_with_enrichment_off_the_profile_is_kept_but_a_batch_sends_only_its_own(
    connection: Connection, server: BrazeOutput
) -> None:
    forwarding = server.forwarding.model_copy(update={"include_enriched_user_attributes": False})
    BrazeOutput.objects.filter(pk=server.pk).update(settings=forwarding.model_dump(mode="json"))
    first = receive(connection, payload({"plan": "pro"}))
    second = receive(connection, payload({"seen": "yes"}))

    mapping_service.batches_map(batch_ids=[first.pk, second.pk])

    assert attributes_sent(second) == [{"external_id": "c-1", "seen": "yes"}]
    assert UserProfile.objects.get().attributes == {"plan": "pro", "seen": "yes"}


def test_a_wave_reads_profiles_in_one_query_and_writes_them_in_one_upsert(
    connection: Connection, server: BrazeOutput
) -> None:
    batches = [
        receive(connection, payload({"n": 1}, customer="a", mpid=1)),
        receive(connection, payload({"n": 2}, customer="b", mpid=2)),
        receive(connection, payload({"n": 3}, customer="a", mpid=1)),
    ]

    with CaptureQueriesContext(db) as queries:
        assert mapping_service.batches_map(batch_ids=[b.pk for b in batches]) == 3

    reads = [q["sql"] for q in queries if f'FROM "{TABLE}"' in q["sql"]]
    assert (len(reads), len(upserts(queries))) == (1, 1)
    profiles = {p.mpid: (p.attributes, p.version) for p in UserProfile.objects.all()}
    assert profiles == {1: ({"n": 3}, 1), 2: ({"n": 2}, 1)}
    assert attributes_sent(batches[2]) == [{"external_id": "a", "n": 3}]


def test_an_earlier_batch_mapped_last_never_overwrites_what_a_later_one_set(
    connection: Connection, server: BrazeOutput
) -> None:
    earlier = receive(connection, payload({"plan": "trial", "country_name": "NO"}))
    later = receive(connection, payload({"plan": "pro"}, deleted_user_attributes=["vip"]))
    UserProfile.objects.create(
        connection=connection,
        mpid=MPID,
        attributes={"vip": True},
        stamps={"vip": 1},
        updated_at=timezone.now(),
    )

    mapping_service.batch_map(batch_id=later.pk)
    mapping_service.batch_map(batch_id=earlier.pk)

    profile = UserProfile.objects.get()
    assert profile.attributes == {"plan": "pro", "country_name": "NO"}
    assert profile.last_batch_id == later.pk
    # The earlier batch still sends its own values: Braze receives it before the later one.
    assert attributes_sent(earlier) == [
        {"external_id": "c-1", "plan": "trial", "country_name": "NO"}
    ]


def test_a_profile_another_worker_stored_meanwhile_is_merged_not_overwritten(
    connection: Connection, server: BrazeOutput
) -> None:
    from connections.profiles.wave import ProfileWave
    from mapping.engine import map_batch

    earlier = receive(connection, payload({"plan": "trial", "a": 1}))
    later = receive(connection, payload({"plan": "pro", "b": 2}))
    context = mapping_service.output_mapping_context(server)
    wave = ProfileWave.load([(earlier.pk, connection.pk, earlier.payload, context)])
    result = map_batch(earlier.payload, context, wave.input_for(earlier.pk))
    wave.keep(earlier.pk, result.profile)

    mapping_service.batch_map(batch_id=later.pk)  # another worker, while this one maps
    with CaptureQueriesContext(db) as queries:
        wave.save(now=timezone.now())

    assert len(upserts(queries)) == 2  # the first finds the row changed; the merge goes in
    profile = UserProfile.objects.get()
    assert profile.attributes == {"plan": "pro", "a": 1, "b": 2}
    assert (profile.version, profile.last_batch_id) == (2, later.pk)


def test_a_batch_without_an_mpid_keeps_a_profile_by_its_external_identity(
    connection: Connection, server: BrazeOutput
) -> None:
    first = receive(connection, payload({"plan": "pro"}, mpid=None))
    second = receive(connection, payload({"seen": "yes"}, mpid=None))

    mapping_service.batches_map(batch_ids=[first.pk])
    mapping_service.batches_map(batch_ids=[second.pk])

    profile = UserProfile.objects.get()
    assert (profile.mpid, profile.external_id, profile.version) == (None, "c-1", 2)
    assert attributes_sent(second) == [{"external_id": "c-1", "plan": "pro", "seen": "yes"}]


@pytest.mark.parametrize(
    "mpid", ["18446744073709551615", "-9223372036854775809"], ids=["above", "below"]
)
def test_an_mpid_outside_64_bits_is_no_key_the_external_identity_is(
    connection: Connection, server: BrazeOutput, mpid: str
) -> None:
    batch = receive(connection, payload({"plan": "pro"}, mpid=mpid))

    mapping_service.batch_map(batch_id=batch.pk)

    assert list(UserProfile.objects.values_list("mpid", "external_id")) == [(None, "c-1")]


def test_an_anonymous_user_s_profile_follows_their_mpid_to_their_login(
    connection: Connection, server: BrazeOutput
) -> None:
    forwarding = server.forwarding.model_copy(update={"anonymous_users": AnonymousUsers.USER_ALIAS})
    BrazeOutput.objects.filter(pk=server.pk).update(settings=forwarding.model_dump(mode="json"))
    anonymous = receive(connection, payload({"plan": "trial"}, customer=None))
    known = receive(connection, payload({"seen": "yes"}))

    mapping_service.batch_map(batch_id=anonymous.pk)
    assert UserProfile.objects.get().external_id == ""
    mapping_service.batch_map(batch_id=known.pk)

    profile = UserProfile.objects.get()
    assert (profile.mpid, profile.external_id) == (MPID, "c-1")
    assert attributes_sent(known) == [{"external_id": "c-1", "plan": "trial", "seen": "yes"}]


def test_a_profile_a_batch_leaves_unchanged_is_not_written_again_until_a_day_has_passed(
    connection: Connection, server: BrazeOutput
) -> None:
    mapping_service.batch_map(batch_id=receive(connection, payload({"plan": "pro"})).pk)
    again = receive(connection, payload(None, source_request_id="again"))  # events only

    with CaptureQueriesContext(db) as queries:
        mapping_service.batch_map(batch_id=again.pk)
    assert upserts(queries) == []

    UserProfile.objects.update(updated_at=timezone.now() - timedelta(days=2))
    later = receive(connection, payload(None, source_request_id="later"))
    with CaptureQueriesContext(db) as queries:
        mapping_service.batch_map(batch_id=later.pk)
    assert len(upserts(queries)) == 1
    assert UserProfile.objects.get().updated_at > timezone.now() - timedelta(minutes=1)


def test_attributes_past_the_profile_limit_are_sent_not_kept_and_recorded(
    connection: Connection, server: BrazeOutput, settings: Any
) -> None:
    settings.MPBRAZE_PROFILE_MAX_ATTRIBUTES = 1
    batch = receive(connection, payload({"plan": "pro", "seen": "yes"}))

    mapping_service.batch_map(batch_id=batch.pk)

    assert attributes_sent(batch) == [{"external_id": "c-1", "plan": "pro", "seen": "yes"}]
    assert UserProfile.objects.get().attributes == {"plan": "pro"}
    issue = MappingIssue.objects.get()
    assert (issue.kind, issue.field_path, issue.action, issue.example_value) == (
        "profile_full",
        "profile.seen",
        "not_kept",
        "yes",
    )


def test_a_wave_that_fails_leaves_every_profile_as_it_was(
    connection: Connection, server: BrazeOutput
) -> None:
    batch = receive(connection, payload({"plan": "pro", "address": {"city": "Oslo"}}))

    def database_fails_on_issue_insert(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        if "mapping_mappingissue" in sql and sql.lstrip().upper().startswith("INSERT"):
            raise OperationalError("the database went away")
        return execute(sql, *args)

    with db.execute_wrapper(database_fails_on_issue_insert):
        mapping_service.batch_map(batch_id=batch.pk)

    assert (InboundBatch.objects.get().status, UserProfile.objects.count()) == ("received", 0)
