"""Commerce events in the three commerce modes (docs/mapping.md "Events"; reference kit §4.3)."""

from __future__ import annotations

from typing import Any

import pytest

from mapping.issues import IssueAction as A
from mapping.issues import IssueKind as K
from mapping.objects import ObjectKind
from tests.mapping.helpers import T0_ISO, USER, event, event_body, issue, map_events

WIDGET = {
    "id": "sku-1",
    "name": "Widget",
    "price": 19.99,
    "quantity": 2,
    "brand": "Acme",
    "custom_attributes": {"color": "red"},
}
GADGET = {"id": "sku-2", "name": "Gadget", "price": "5.00", "quantity": 1}  # Decimal-as-string
ORDER = {
    "action": "purchase",
    "transaction_id": "T-1",
    "total_amount": 44.98,
    "tax_amount": 1.5,
    "shipping_amount": "0.00",
    "products": [WIDGET, GADGET],
}
TRANSACTION = {
    "Transaction Id": "T-1",
    "Total Amount": 44.98,
    "Tax Amount": 1.5,
    "Shipping Amount": 0.0,
}
PRODUCTS = "events[*].data.product_action.products"


def commerce(action: dict[str, Any], **data: Any) -> dict[str, Any]:
    return event(
        "commerce_event", product_action=action, custom_attributes={"channel": "app"}, **data
    )


def purchase(
    product_id: str, price: float, quantity: int, properties: dict[str, Any]
) -> dict[str, Any]:
    return {
        **USER,
        "product_id": product_id,
        "currency": "USD",
        "price": price,
        "quantity": quantity,
        "time": T0_ISO,
        "properties": properties,
    }


PURCHASE_CASES: list[Any] = [
    pytest.param(
        {},
        [
            purchase(
                "sku-1",
                19.99,
                2,
                {
                    "channel": "app",
                    **TRANSACTION,
                    "Name": "Widget",
                    "Brand": "Acme",
                    "color": "red",
                },
            ),
            purchase("sku-2", 5.0, 1, {"channel": "app", **TRANSACTION, "Name": "Gadget"}),
        ],
        id="it_sends_one_purchase_per_product_keyed_by_sku_with_usd_by_default",
    ),
    pytest.param(
        {"product_id_source": "name"},
        [
            purchase(
                "Widget",
                19.99,
                2,
                {"channel": "app", **TRANSACTION, "Id": "sku-1", "Brand": "Acme", "color": "red"},
            ),
            purchase("Gadget", 5.0, 1, {"channel": "app", **TRANSACTION, "Id": "sku-2"}),
        ],
        id="it_keys_purchases_by_product_name_when_configured",
    ),
    pytest.param(
        {"commerce_mode": "bundled"},
        [
            {
                **purchase("eCommerce - purchase", 44.98, 1, {}),
                "properties": {
                    "channel": "app",
                    **TRANSACTION,
                    "products": [
                        {
                            "Id": "sku-1",
                            "Name": "Widget",
                            "Price": 19.99,
                            "Quantity": 2,
                            "Brand": "Acme",
                            "color": "red",
                        },
                        {"Id": "sku-2", "Name": "Gadget", "Price": 5.0, "Quantity": 1},
                    ],
                },
            }
        ],
        id="it_bundles_the_order_into_one_purchase_priced_at_its_revenue",
    ),
]


@pytest.mark.parametrize(("settings", "expected"), PURCHASE_CASES)
def test_it_sends_purchases(settings: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    result = map_events(commerce(ORDER), **settings)

    assert result.bodies(ObjectKind.PURCHASES) == expected
    assert result.bodies(ObjectKind.EVENTS) == []
    assert result.issues == ()


def test_it_sends_a_recommended_order_placed_event() -> None:
    result = map_events(commerce(ORDER), commerce_mode="recommended_events")

    widget = {
        "product_id": "sku-1",
        "product_name": "Widget",
        "variant_id": "sku-1",
        "quantity": 2,
        "price": 19.99,
        "metadata": {"brand": "Acme", "sku": "sku-1", "color": "red"},
    }
    gadget = {
        "product_id": "sku-2",
        "product_name": "Gadget",
        "variant_id": "sku-2",
        "quantity": 1,
        "price": 5.0,
        "metadata": {"sku": "sku-2"},
    }
    properties = {
        "order_id": "T-1",
        "total_value": 44.98,
        "currency": "USD",
        "products": [widget, gadget],
        "source": "server",
        "metadata": {"channel": "app"},
    }
    assert result.bodies(ObjectKind.EVENTS) == [event_body("ecommerce.order_placed", properties)]
    assert result.bodies(ObjectKind.PURCHASES) == []


RECOMMENDED_CASES: list[Any] = [
    pytest.param(
        {"action": "add_to_cart", "products": [GADGET]},
        [
            event_body(
                "ecommerce.cart_updated",
                {
                    "cart_id": "s-1",
                    "total_value": 5.0,
                    "currency": "USD",
                    "products": [
                        {
                            "product_id": "sku-2",
                            "product_name": "Gadget",
                            "variant_id": "sku-2",
                            "quantity": 1,
                            "price": 5.0,
                            "metadata": {"sku": "sku-2"},
                        }
                    ],
                    "source": "server",
                    "action": "add",
                    "metadata": {"channel": "app"},
                },
            )
        ],
        id="it_sends_add_to_cart_as_cart_updated_keyed_by_the_session",
    ),
    pytest.param(
        {"action": "view_detail", "products": [GADGET]},
        [
            event_body(
                "ecommerce.product_viewed",
                {
                    "product_id": "sku-2",
                    "product_name": "Gadget",
                    "variant_id": "sku-2",
                    "price": 5.0,
                    "metadata": {"sku": "sku-2"},
                    "currency": "USD",
                    "source": "server",
                },
            )
        ],
        id="it_sends_one_product_viewed_event_per_product",
    ),
    pytest.param(
        {"action": "add_to_wishlist", "products": [GADGET]},
        [
            event_body(
                "eCommerce - add_to_wishlist - Item",
                {"channel": "app", "Id": "sku-2", "Name": "Gadget", "Price": 5.0, "Quantity": 1},
            )
        ],
        id="it_falls_back_to_legacy_events_for_actions_without_a_recommended_event",
    ),
]


@pytest.mark.parametrize(("action", "expected"), RECOMMENDED_CASES)
def test_it_sends_recommended_events(
    action: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    result = map_events(commerce(action, session_uuid="s-1"), commerce_mode="recommended_events")

    assert result.bodies(ObjectKind.EVENTS) == expected
    assert result.issues == ()


GADGET_PROPS = {"Id": "sku-2", "Name": "Gadget", "Price": 5.0, "Quantity": 1}
OTHER_ACTION_CASES: list[Any] = [
    pytest.param(
        {"product_action": {"action": "add_to_cart", "products": [WIDGET]}},
        {},
        [
            event_body(
                "eCommerce - add_to_cart - Item",
                {
                    "Id": "sku-1",
                    "Name": "Widget",
                    "Price": 19.99,
                    "Quantity": 2,
                    "Brand": "Acme",
                    "color": "red",
                },
            )
        ],
        id="it_expands_other_product_actions_into_one_item_event_per_product",
    ),
    pytest.param(
        {
            "product_action": {
                "action": "refund",
                "transaction_id": "T-1",
                "total_amount": 5,
                "products": [GADGET],
            }
        },
        {},
        [
            event_body("eCommerce - refund - Item", {"Transaction Id": "T-1", **GADGET_PROPS}),
            event_body(
                "eCommerce - refund - Total", {"Transaction Id": "T-1", "Total Amount": 5.0}
            ),
        ],
        id="it_adds_a_total_event_to_a_refund",
    ),
    pytest.param(
        {
            "product_action": {
                "action": "checkout_option",
                "checkout_step": 2,
                "checkout_options": "Visa",
            }
        },
        {},
        [
            event_body(
                "eCommerce - checkout_option", {"Checkout Step": 2, "Checkout Options": "Visa"}
            )
        ],
        id="it_sends_a_product_less_action_as_one_event",
    ),
    pytest.param(
        {"product_action": {"action": "add_to_cart", "products": [GADGET]}},
        {"commerce_mode": "bundled"},
        [event_body("eCommerce - add_to_cart", {"products": [GADGET_PROPS]})],
        id="it_bundles_other_actions_into_one_event_with_a_products_list",
    ),
    pytest.param(
        {
            "promotion_action": {
                "action": "click",
                "promotions": [
                    {"id": "p-1", "name": "Summer", "creative": "banner", "position": "top"}
                ],
            }
        },
        {},
        [
            event_body(
                "eCommerce - click - Item",
                {"Id": "p-1", "Name": "Summer", "Creative": "banner", "Position": "top"},
            )
        ],
        id="it_sends_one_event_per_clicked_promotion",
    ),
    pytest.param(
        {"product_impressions": [{"product_impression_list": "Search", "products": [GADGET]}]},
        {},
        [
            event_body(
                "eCommerce - Impression - Item",
                {"Product Impression List": "Search", **GADGET_PROPS},
            )
        ],
        id="it_sends_one_event_per_product_impression",
    ),
]


@pytest.mark.parametrize(("data", "settings", "expected"), OTHER_ACTION_CASES)
def test_it_maps_other_commerce_actions(
    data: dict[str, Any], settings: dict[str, Any], expected: list[Any]
) -> None:
    result = map_events(event("commerce_event", **data), **settings)

    assert result.bodies(ObjectKind.EVENTS) == expected
    assert result.bodies(ObjectKind.PURCHASES) == []
    assert result.issues == ()


def one_product(**fields: Any) -> dict[str, Any]:
    return event(
        "commerce_event",
        product_action={"action": "purchase", "products": [{"id": "s", "price": 1.0, **fields}]},
    )


ISSUE_CASES: list[Any] = [
    pytest.param(
        event(
            "commerce_event",
            currency_code="eur",
            product_action={"action": "purchase", "products": [{"id": "s", "price": 1}]},
        ),
        {"currency": "EUR", "price": 1.0},
        [],
        id="it_upper_cases_the_currency_code",
    ),
    pytest.param(
        event(
            "commerce_event",
            currency_code="euro",
            product_action={"action": "purchase", "products": [{"id": "s", "price": 1}]},
        ),
        {"currency": "USD"},
        [issue(K.INVALID_VALUE, "events[*].data.currency_code", "euro", A.COERCED)],
        id="it_falls_back_to_usd_for_an_invalid_currency_code",
    ),
    pytest.param(
        one_product(quantity=2.5),
        {"quantity": 2},
        [issue(K.INVALID_VALUE, f"{PRODUCTS}[*].quantity", "2.5", A.COERCED)],
        id="it_sends_a_whole_quantity_and_records_a_fraction",
    ),
    pytest.param(
        one_product(quantity=150),
        {"quantity": 100},
        [issue(K.INVALID_VALUE, f"{PRODUCTS}[*].quantity", "150", A.COERCED)],
        id="it_caps_the_quantity_at_braze_limit_of_100",
    ),
    pytest.param(
        one_product(quantity="3"),
        {"quantity": 3},
        [],
        id="it_reads_a_quantity_sent_as_a_string",
    ),
    pytest.param(
        event("commerce_event", product_action={"action": "purchase", "products": [{"id": "s"}]}),
        {"price": 0.0},
        [issue(K.INVALID_VALUE, f"{PRODUCTS}[*].price", "", A.COERCED)],
        id="it_prices_a_product_without_a_price_at_zero_and_records_it",
    ),
    pytest.param(
        one_product(price="free"),
        {"price": 0.0},
        [
            issue(K.INVALID_VALUE, f"{PRODUCTS}[*].price", "free", A.DROPPED_FIELD),
            issue(K.INVALID_VALUE, f"{PRODUCTS}[*].price", "", A.COERCED),
        ],
        id="it_records_an_unreadable_price",
    ),
    pytest.param(
        event(
            "commerce_event",
            product_action={"action": "purchase", "products": [{"name": "Widget", "price": 1}]},
        ),
        {"product_id": "Widget"},
        [issue(K.INVALID_VALUE, f"{PRODUCTS}[*].id", "Widget", A.COERCED)],
        id="it_falls_back_to_the_product_name_when_the_sku_is_missing",
    ),
]


@pytest.mark.parametrize(("raw", "expected_fields", "issues"), ISSUE_CASES)
def test_it_normalises_purchase_fields(
    raw: dict[str, Any], expected_fields: dict[str, Any], issues: list[Any]
) -> None:
    result = map_events(raw)

    (body,) = result.bodies(ObjectKind.PURCHASES)
    assert {key: body[key] for key in expected_fields} == expected_fields
    assert list(result.issues) == issues


SKIP_CASES: list[Any] = [
    pytest.param(
        event("commerce_event", product_action={"action": "purchase", "products": []}),
        [issue(K.INVALID_VALUE, PRODUCTS, "[]", A.SKIPPED_EVENT)],
        id="it_skips_a_purchase_without_products",
    ),
    pytest.param(
        event("commerce_event", product_action={"action": "purchase", "products": [{"price": 1}]}),
        [issue(K.INVALID_VALUE, f"{PRODUCTS}[*].id", "", A.DROPPED_OBJECT)],
        id="it_drops_a_product_with_neither_sku_nor_name",
    ),
    pytest.param(
        event("commerce_event", product_action={"action": "buy", "products": []}),
        [issue(K.INVALID_VALUE, "events[*].data.product_action.action", "buy", A.SKIPPED_EVENT)],
        id="it_skips_an_unknown_product_action",
    ),
    pytest.param(
        event("commerce_event", screen_name="Cart"),
        [
            issue(
                K.MALFORMED_EVENT,
                "events[*].data.product_action",
                "",
                A.SKIPPED_EVENT,
            )
        ],
        id="it_skips_a_commerce_event_without_any_commerce_data",
    ),
]


@pytest.mark.parametrize(("raw", "issues"), SKIP_CASES)
def test_it_records_commerce_events_it_cannot_send(raw: dict[str, Any], issues: list[Any]) -> None:
    result = map_events(raw)

    assert result.objects == ()
    assert list(result.issues) == issues


def test_it_counts_a_crash_report_the_sdk_labels_commerce_event_as_filtered() -> None:
    raw = event("commerce_event", class_name="NullPointerException", stack_trace="...")

    result = map_events(raw)

    assert (result.objects, result.issues, result.filtered_count) == ((), (), 1)
