"""Commerce events → Braze purchases and `eCommerce - …` events.

docs/mapping.md "Events"; reference kit §4.3.
"""

from __future__ import annotations

from typing import Any, Final

from mapping import commerce_purchases, commerce_recommended
from mapping.commerce_products import (
    ACTION_PATH,
    PRODUCTS_PATH,
    Order,
    parse_products,
    product_properties,
    transaction_properties,
)
from mapping.events import emit_at
from mapping.issues import IssueAction, IssueKind
from mapping.output_settings import CommerceMode
from mapping.rules import clean_properties
from mapping.state import BatchState
from mapping.timestamps import event_time

DEFAULT_CURRENCY: Final = "USD"
PRODUCT_ACTIONS: Final = frozenset(
    {
        "add_to_cart",
        "remove_from_cart",
        "add_to_wishlist",
        "remove_from_wishlist",
        "remove_from_wish_list",  # the SDK's spelling
        "checkout",
        "checkout_option",
        "click",
        "view_detail",
        "purchase",
        "refund",
    }
)
PROMOTION_ACTIONS: Final = frozenset({"view", "click"})
REFUND_TOTAL: Final = "eCommerce - refund - Total"
PROMOTION_FIELDS: Final = ("id", "name", "creative", "position")
ATTRIBUTES_PATH: Final = "events[*].data.custom_attributes"
_INVALID: Final = IssueKind.INVALID_VALUE
# The SDK labels CrashReportEvent "commerce_event"; these fields give it away.
CRASH_FIELDS: Final = ("class_name", "stack_trace", "exception_handled", "severity", "breadcrumbs")


def map_commerce_event(data: dict[str, Any], state: BatchState) -> None:
    product_action = data.get("product_action")
    promotion_action = data.get("promotion_action")
    impressions = data.get("product_impressions")
    if product_action is None and promotion_action is None and impressions is None:
        _not_commerce(data, state)
        return
    extra = clean_properties(
        data.get("custom_attributes"), state, "events[*].data.custom_attributes"
    )
    time = event_time(data, state)
    if product_action is not None:
        _map_product_action(product_action, data, time, extra, state)
    if promotion_action is not None:
        _map_promotions(promotion_action, time, extra, state)
    if impressions is not None:
        _map_impressions(impressions, time, extra, state)


def _not_commerce(data: dict[str, Any], state: BatchState) -> None:
    if any(key in data for key in CRASH_FIELDS):
        state.skip("crash report", "Braze has no place for a crash report")
    else:
        path = "events[*].data.product_action"
        state.issue(IssueKind.MALFORMED_EVENT, path, None, IssueAction.SKIPPED_EVENT)


def _map_product_action(
    raw: object, data: dict[str, Any], time: str, extra: dict[str, Any], state: BatchState
) -> None:
    if type(raw) is not dict:
        state.issue(IssueKind.INVALID_VALUE, ACTION_PATH, raw, IssueAction.SKIPPED_EVENT)
        return
    action = raw.get("action")
    if type(action) is not str or action not in PRODUCT_ACTIONS:
        path = f"{ACTION_PATH}.action"
        state.issue(IssueKind.INVALID_VALUE, path, action, IssueAction.SKIPPED_EVENT)
        return
    order = Order(
        action=action,
        time=time,
        currency=_currency(data.get("currency_code"), state),
        extra=extra,
        transaction=transaction_properties(raw, state),
        products=parse_products(raw.get("products"), state, PRODUCTS_PATH),
        data=data,
    )
    route_order(order, state)


def route_order(order: Order, state: BatchState) -> None:
    mode = state.plan.settings.commerce_mode
    if mode is CommerceMode.RECOMMENDED_EVENTS and commerce_recommended.handles(order):
        commerce_recommended.map_order(order, state)
    elif order.action == "purchase":
        commerce_purchases.map_purchase(order, state)
    elif mode is CommerceMode.BUNDLED:
        _bundled_event(order, state)
    else:
        _item_events(order, state)


def _item_events(order: Order, state: BatchState) -> None:
    """One `eCommerce - <action> - Item` event per product; a refund adds its total."""
    name = f"eCommerce - {order.action} - Item"
    transaction_id = order.transaction.get("Transaction Id")
    base = {**order.extra, "Transaction Id": transaction_id} if transaction_id else order.extra
    for product in order.products:
        if state.accepts_event(name):
            emit_at(state, name, order.time, {**base, **product_properties(product)})
    if order.action == "refund" or not order.products:
        _summary_event(order, state)


def _summary_event(order: Order, state: BatchState) -> None:
    """A refund's total, or a step without products (checkout_option): still worth sending."""
    name = REFUND_TOTAL if order.action == "refund" else f"eCommerce - {order.action}"
    if state.accepts_event(name):
        emit_at(state, name, order.time, {**order.extra, **order.transaction})


def _bundled_event(order: Order, state: BatchState) -> None:
    name = f"eCommerce - {order.action}"
    if state.accepts_event(name):
        products = [product_properties(product) for product in order.products]
        properties = {**order.extra, **order.transaction, "products": products}
        emit_at(state, name, order.time, properties)


def _map_promotions(raw: object, time: str, extra: dict[str, Any], state: BatchState) -> None:
    path = "events[*].data.promotion_action"
    action = raw.get("action") if type(raw) is dict else None
    promotions = raw.get("promotions") if type(raw) is dict else None
    if type(action) is not str or action not in PROMOTION_ACTIONS or type(promotions) is not list:
        state.issue(IssueKind.INVALID_VALUE, path, raw, IssueAction.SKIPPED_EVENT)
        return
    name = f"eCommerce - {action} - Item"
    for promotion in promotions:
        if type(promotion) is not dict:
            state.issue(
                IssueKind.INVALID_VALUE,
                f"{path}.promotions[*]",
                promotion,
                IssueAction.DROPPED_OBJECT,
            )
        elif state.accepts_event(name):
            emit_at(state, name, time, {**extra, **_promotion_properties(promotion, state, path)})


def _promotion_properties(
    promotion: dict[str, Any], state: BatchState, path: str
) -> dict[str, Any]:
    labelled = {
        label.title(): promotion.get(label) for label in ("id", "name", "creative", "position")
    }
    return clean_properties(labelled, state, f"{path}.promotions[*]", detect=False)


def _map_impressions(raw: object, time: str, extra: dict[str, Any], state: BatchState) -> None:
    path = "events[*].data.product_impressions"
    if type(raw) is not list:
        state.issue(IssueKind.INVALID_VALUE, path, raw, IssueAction.SKIPPED_EVENT)
        return
    name = "eCommerce - Impression - Item"
    for impression in raw:
        if type(impression) is not dict:
            state.issue(
                IssueKind.INVALID_VALUE, f"{path}[*]", impression, IssueAction.DROPPED_OBJECT
            )
            continue
        listed = clean_properties(
            {"Product Impression List": impression.get("product_impression_list")},
            state,
            f"{path}[*]",
            detect=False,
        )
        for product in parse_products(impression.get("products"), state, f"{path}[*].products"):
            if state.accepts_event(name):
                emit_at(state, name, time, {**extra, **listed, **product_properties(product)})


def _currency(raw: object, state: BatchState) -> str:
    if raw is None:
        return DEFAULT_CURRENCY
    if type(raw) is str and len(raw) == 3 and raw.isascii() and raw.isalpha():
        return raw.upper()
    path = "events[*].data.currency_code"
    state.issue(IssueKind.INVALID_VALUE, path, raw, IssueAction.COERCED)
    return DEFAULT_CURRENCY
