"""Braze recommended eCommerce events (`ecommerce.*`) from product actions (kit §4.3.5).

Actions without a recommended event fall back to the legacy `eCommerce - …` events.
Unlike the 2026 kits, the product id source setting is honoured here too.
"""

from __future__ import annotations

from typing import Any, Final

from mapping.commerce_products import (
    Order,
    Product,
    product_id,
    products_total,
    unit_price,
    whole_quantity,
)
from mapping.events import emit_at
from mapping.rules import MAX_STRING_LENGTH, lenient_number
from mapping.state import BatchState

CART_UPDATED: Final = "ecommerce.cart_updated"
EVENT_NAMES: Final = {
    "add_to_cart": CART_UPDATED,
    "remove_from_cart": CART_UPDATED,
    "checkout": "ecommerce.checkout_started",
    "view_detail": "ecommerce.product_viewed",
    "purchase": "ecommerce.order_placed",
    "refund": "ecommerce.order_refunded",
}
ID_KEYS: Final = {
    CART_UPDATED: "cart_id",
    "ecommerce.checkout_started": "checkout_id",
    "ecommerce.order_placed": "order_id",
    "ecommerce.order_refunded": "order_id",
}
_LINKS: Final = ("image_url", "product_url")
_METADATA_DETAILS: Final = ("brand", "category", "coupon_code", "position")


def handles(order: Order) -> bool:
    return order.action in EVENT_NAMES


def map_order(order: Order, state: BatchState) -> None:
    name = EVENT_NAMES[order.action]
    if not state.accepts_event(name):
        return
    items = [item for item in (_line_item(p, state) for p in order.products) if item]
    if order.action == "view_detail":
        for item in items:
            emit_at(state, name, order.time, _viewed_properties(item, order, state))
        return
    emit_at(state, name, order.time, _order_properties(name, items, order, state))


def _order_properties(
    name: str, items: list[dict[str, Any]], order: Order, state: BatchState
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        ID_KEYS[name]: _order_identifier(name, order, state),
        "total_value": _total_value(order),
        "currency": order.currency,
        "products": items,
        "source": state.user.platform or "server",
    }
    if name == CART_UPDATED:
        properties["action"] = "add" if order.action == "add_to_cart" else "remove"
    discounts = lenient_number(order.extra.get("total_discounts"))
    if discounts is not None and name != CART_UPDATED:
        properties["total_discounts"] = discounts
    if order.extra:
        properties["metadata"] = order.extra
    return properties


def _viewed_properties(item: dict[str, Any], order: Order, state: BatchState) -> dict[str, Any]:
    viewed = {key: value for key, value in item.items() if key != "quantity"}
    return {**viewed, "currency": order.currency, "source": state.user.platform or "server"}


def _line_item(product: Product, state: BatchState) -> dict[str, Any] | None:
    identifier = product_id(product, state.plan.settings.product_id_source, state)
    if identifier is None:
        return None
    item: dict[str, Any] = {
        "product_id": identifier,
        "product_name": product.name or identifier,
        "variant_id": product.details.get("variant") or product.sku or identifier,
        "quantity": whole_quantity(product, state),
        "price": unit_price(product, state),
    }
    attributes = product.attributes
    item.update({key: attributes[key] for key in _LINKS if key in attributes})
    details = product.details
    metadata: dict[str, Any] = {key: details[key] for key in _METADATA_DETAILS if key in details}
    if product.sku:
        metadata["sku"] = product.sku
    metadata.update({k: v for k, v in attributes.items() if k not in _LINKS})
    if metadata:
        item["metadata"] = metadata
    return item


def _total_value(order: Order) -> float:
    total = order.transaction.get("Total Amount")
    return float(total) if total is not None else products_total(order.products)


def _order_identifier(name: str, order: Order, state: BatchState) -> str:
    """Transaction id for orders; else the session, else a stable id from user and time."""
    transaction_id = order.transaction.get("Transaction Id")
    if transaction_id and ID_KEYS[name] == "order_id":
        return str(transaction_id)
    session = order.data.get("session_uuid") or order.data.get("session_id")
    if type(session) in (str, int) and str(session):
        return str(session)[:MAX_STRING_LENGTH]
    return f"{state.user.key}-{order.time}"[-MAX_STRING_LENGTH:]
