"""Property tests: any JSON batch gives Braze-valid objects or recorded issues, never an error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapping.engine import map_batch, validate_batch_shape
from mapping.issues import EXAMPLE_LENGTH, FIELD_PATH_LENGTH, IssueAction, IssueKind
from mapping.objects import MappingContext, Profile, ProfileInput, ProfileLimits
from mapping.output_settings import (
    BatchSizeMode,
    CommerceMode,
    EmailIdentityType,
    ExternalIdentityType,
    OutputSettings,
    TypeDetection,
)
from mapping.requests import build_track_requests
from tests.mapping.braze_rules import check_braze_object

ODD_KEYS = ["", "$", " ", "k" * 300, "time", "event_name", "external_id", "$b", "image_url"]
RESERVED_KEYS = ["$FirstName", "$age", "$Gender", "dob", "$Zip", "email_subscribe"]
KEYS = st.sampled_from(["a", "b", "color", *ODD_KEYS, *RESERVED_KEYS]) | st.text(max_size=8)
ODD_STRINGS = ["true", "42", "4.5", "2024-01-01", "1e999", "NaN", "x" * 300, "007", "F", "opted_in"]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(ODD_STRINGS)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Nine draws in ten from ``good``: malformed input, but not so much that nothing maps."""
    return st.integers(0, 9).flatmap(lambda n: bad if n == 7 else good)


ATTRIBUTE_MAPS = mostly(st.dictionaries(KEYS, mostly(SCALARS, JSON), max_size=6), JSON)
TIMESTAMPS = mostly(
    st.integers(min_value=1_600_000_000_000, max_value=1_800_000_000_000),
    st.integers(min_value=-10, max_value=2**60) | st.sampled_from(["1700000000000", "soon"]) | JSON,
)
PRODUCT = st.fixed_dictionaries(
    {"id": mostly(st.sampled_from(["sku-1", "$sku"]), JSON)},
    optional={
        "name": mostly(st.sampled_from(["Widget", "Gadget"]), JSON),
        "price": mostly(st.floats(0, 1e6) | st.sampled_from(["19.99", "0.00"]), st.floats() | JSON),
        "quantity": mostly(st.integers(1, 5), st.integers(-5, 500) | st.floats() | JSON),
        "brand": mostly(st.just("Acme"), JSON),
        "variant": JSON,
        "position": JSON,
        "custom_attributes": ATTRIBUTE_MAPS,
    },
)
PRODUCTS = mostly(st.lists(mostly(PRODUCT, JSON), max_size=4), JSON)
PRODUCT_ACTIONS = ["purchase", "add_to_cart", "remove_from_cart", "checkout", "view_detail"]
PRODUCT_ACTIONS += ["refund", "click", "checkout_option", "add_to_wishlist", "buy"]
PRODUCT_ACTION = st.fixed_dictionaries(
    {"action": mostly(st.sampled_from(PRODUCT_ACTIONS), JSON)},
    optional={
        "products": PRODUCTS,
        "transaction_id": JSON,
        "total_amount": mostly(st.floats(0, 1e6), JSON),
        "checkout_step": JSON,
    },
)
PROMOTION_ACTION = st.fixed_dictionaries(
    {"action": mostly(st.sampled_from(["view", "click"]), JSON)},
    optional={"promotions": st.lists(JSON, max_size=3)},
)
IMPRESSIONS = st.lists(
    st.fixed_dictionaries({"product_impression_list": JSON, "products": PRODUCTS}), max_size=2
)
DATA = st.fixed_dictionaries(
    {"timestamp_unixtime_ms": TIMESTAMPS},
    optional={
        "event_name": mostly(
            st.sampled_from(["Clicked", "$Opened", "Signed Up"]), st.text() | JSON
        ),
        "screen_name": mostly(st.sampled_from(["Home", "Cart"]), st.text() | JSON),
        "custom_attributes": ATTRIBUTE_MAPS,
        "source_message_id": JSON,
        "session_id": JSON,
        "session_uuid": JSON,
        "currency_code": st.sampled_from(["USD", "eur", "euro"]) | JSON,
        "product_action": mostly(PRODUCT_ACTION, JSON),
        "promotion_action": mostly(PROMOTION_ACTION, JSON),
        "product_impressions": mostly(IMPRESSIONS, JSON),
        "user_attribute_name": KEYS | JSON,
        "new": JSON,
        "deleted": JSON,
        "register": JSON,
        "registration_token": st.text(max_size=10) | JSON,
        "is_opted_out": JSON,
        "class_name": JSON,
    },
)
EVENT_TYPES = ["custom_event", "commerce_event", "screen_view", "session_start", "session_end"]
EVENT_TYPES += ["user_attribute_change", "push_registration", "opt_out", "crash_report", "teleport"]
EVENT = st.fixed_dictionaries({"event_type": st.sampled_from(EVENT_TYPES), "data": DATA})
BAD_EVENT = st.fixed_dictionaries({"event_type": JSON, "data": JSON}) | JSON
COMMERCE_DATA = st.fixed_dictionaries(
    {"timestamp_unixtime_ms": TIMESTAMPS, "product_action": PRODUCT_ACTION},
    optional={"custom_attributes": ATTRIBUTE_MAPS, "currency_code": st.sampled_from(["EUR", "x"])},
)
COMMERCE_EVENT = st.fixed_dictionaries(
    {"event_type": st.just("commerce_event"), "data": COMMERCE_DATA}
)
EVENTS = st.lists(mostly(EVENT | COMMERCE_EVENT, BAD_EVENT), max_size=8)
EVERY_IDENTITY = {kind.value: f"id-{kind.value}" for kind in ExternalIdentityType}
IDENTITIES = mostly(
    st.just({**EVERY_IDENTITY, "email": "jane@example.com"}),
    st.dictionaries(
        st.sampled_from(["customer_id", "customerid", "email", "other", "other_id_2"]),
        st.sampled_from(["c-1", "jane@example.com", "", "é" * 600]) | JSON,
    )
    | JSON,
)
BATCHES = st.fixed_dictionaries(
    {
        "events": mostly(EVENTS, JSON),
        "user_identities": IDENTITIES,
        "mpid": mostly(st.just("600868121729048600"), st.integers() | JSON),
    },
    optional={
        "user_attributes": ATTRIBUTE_MAPS,
        "deleted_user_attributes": st.lists(KEYS | JSON, max_size=3) | JSON,
        "device_info": st.fixed_dictionaries(
            {"platform": st.sampled_from(["iOS", "Android", "web", "roku"]) | JSON}
        ),
        "timestamp_unixtime_ms": TIMESTAMPS,
    },
)
OUTPUT_SETTINGS = st.builds(
    OutputSettings,
    forward_screen_views=st.booleans(),
    forward_session_events=st.booleans(),
    type_detection=st.sampled_from(TypeDetection),
    commerce_mode=st.sampled_from(CommerceMode),
    send_user_attribute_lists_as_arrays=st.booleans(),
    include_enriched_user_attributes=st.booleans(),
    anonymous_users=st.sampled_from(["drop", "user_alias"]),
    user_tags_value=st.sampled_from(["true", "null"]),
    max_attribute_array_length=st.integers(1, 500),
    event_denylist=st.sampled_from([(), ("Clicked",)]),
    attribute_allowlist=st.sampled_from([(), ("a", "$FirstName")]),
)
CONTEXTS = st.builds(
    MappingContext,
    settings=OUTPUT_SETTINGS,
    now=st.just(datetime(2025, 6, 1, tzinfo=UTC)),
    external_identity_type=st.sampled_from(ExternalIdentityType),
    email_identity_type=st.sampled_from(EmailIdentityType),
    app_ids=st.just({"ios": "ios-app", "web": "web-app"}),
)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(batch=BATCHES | JSON, context=CONTEXTS)
def test_it_turns_any_json_batch_into_valid_braze_objects_or_recorded_issues(
    batch: Any, context: MappingContext
) -> None:
    result = map_batch(batch, context)

    for item in result.objects:
        check_braze_object(item)
    for issue in result.issues:
        assert isinstance(issue.kind, IssueKind)
        assert isinstance(issue.action, IssueAction)
        assert len(issue.example) <= EXAMPLE_LENGTH
        assert len(issue.field_path) <= FIELD_PATH_LENGTH
    assert result.filtered_count >= 0


# What a profile can hold: values as sent to Braze, so within its type rules (an integer is a
# signed 64-bit one).
STORED_PROFILES = st.dictionaries(
    st.sampled_from(["a", "plan", "first_name", "Zip"]),
    st.text(max_size=5) | st.integers(-(2**63), 2**63 - 1) | st.booleans(),
    max_size=4,
).map(lambda attributes: Profile(attributes, dict.fromkeys(attributes, 5)))


@PROPERTY_SETTINGS
@given(
    batch=BATCHES | JSON,
    context=CONTEXTS,
    stored=STORED_PROFILES,
    order=st.integers(1, 9),
    most=st.integers(1, 4),
)
def test_any_batch_leaves_a_bounded_profile_with_every_attribute_stamped(
    batch: Any, context: MappingContext, stored: Profile, order: int, most: int
) -> None:
    result = map_batch(batch, context, ProfileInput(stored, order, ProfileLimits(most, 10_000)))

    for item in result.objects:
        check_braze_object(item)
    if result.profile is not None:
        attributes, stamps = result.profile.attributes, result.profile.stamps
        assert None not in attributes.values()
        assert set(attributes) <= set(stamps)
        assert len(attributes) <= max(most, len(stored.attributes))
        assert len(stamps) - len(attributes) <= most
        assert all(stamps[name] in (order, 5) for name in stamps)


@PROPERTY_SETTINGS
@given(events=st.lists(COMMERCE_EVENT, min_size=1, max_size=4), context=CONTEXTS)
def test_it_turns_any_commerce_event_into_valid_purchases_and_events(
    events: list[Any], context: MappingContext
) -> None:
    batch = {"events": events, "user_identities": EVERY_IDENTITY, "mpid": "1"}

    result = map_batch(batch, context)

    for item in result.objects:
        check_braze_object(item)


@PROPERTY_SETTINGS
@given(batch=BATCHES, context=CONTEXTS, mode=st.sampled_from(BatchSizeMode))
def test_it_packs_every_mapped_object_into_exactly_one_request(
    batch: Any, context: MappingContext, mode: BatchSizeMode
) -> None:
    objects = map_batch(batch, context).objects

    plan = build_track_requests(objects, mode)

    sent = [item for request in plan.requests for item in request.index_map.values()]
    assert sorted(map(id, sent + list(plan.refused))) == sorted(map(id, objects))
    assert all(len(request.index_map) <= 225 for request in plan.requests)


@PROPERTY_SETTINGS
@given(batch=BATCHES | JSON)
def test_it_checks_the_shape_of_any_json_without_raising(batch: Any) -> None:
    problems = validate_batch_shape(batch)

    assert all(path.startswith("$") and message for path, message in problems)
