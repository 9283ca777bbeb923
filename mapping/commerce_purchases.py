"""Purchase product actions → Braze purchase objects, one per product or bundled (kit §4.3.1-2)."""

from __future__ import annotations

from typing import Final

from mapping.commerce_products import (
    PRODUCTS_PATH,
    Order,
    product_id,
    product_properties,
    products_total,
    unit_price,
    whole_quantity,
)
from mapping.issues import IssueAction, IssueKind
from mapping.objects import ObjectKind
from mapping.output_settings import CommerceMode, ProductIdSource
from mapping.state import PURCHASE_FILTER_NAME, BatchState

BUNDLED_PRODUCT_ID: Final = "eCommerce - purchase"
MAX_QUANTITY: Final = 100  # Braze rejects a purchase with a larger quantity
# What each product_id source leaves out of the properties (it is already a purchase field).
_OMITTED: Final = {
    ProductIdSource.SKU: frozenset({"Id", "Price", "Quantity"}),
    ProductIdSource.NAME: frozenset({"Name", "Price", "Quantity"}),
}


def map_purchase(order: Order, state: BatchState) -> None:
    if not state.accepts_event(PURCHASE_FILTER_NAME):
        return
    if state.plan.settings.commerce_mode is CommerceMode.BUNDLED:
        _bundled_purchase(order, state)
    else:
        _purchase_per_product(order, state)


def _purchase_per_product(order: Order, state: BatchState) -> None:
    if not order.products:
        state.issue(IssueKind.INVALID_VALUE, PRODUCTS_PATH, [], IssueAction.SKIPPED_EVENT)
        return
    source = state.plan.settings.product_id_source
    base = {**order.extra, **order.transaction}
    for product in order.products:
        identifier = product_id(product, source, state)
        if identifier is None:
            continue
        body = {
            **state.user.event_ids,
            "product_id": identifier,
            "currency": order.currency,
            "price": unit_price(product, state),
            "quantity": whole_quantity(product, state, MAX_QUANTITY),
            "time": order.time,
        }
        properties = {**base, **product_properties(product, _OMITTED[source])}
        if properties:
            body["properties"] = properties
        state.emit(ObjectKind.PURCHASES, body)


def _bundled_purchase(order: Order, state: BatchState) -> None:
    """One purchase for the whole order: price = revenue, the products listed in properties."""
    total = order.transaction.get("Total Amount")
    if total is None and not order.products:
        state.issue(IssueKind.INVALID_VALUE, PRODUCTS_PATH, [], IssueAction.SKIPPED_EVENT)
        return
    if total is None:
        total = products_total(order.products)
    products = [product_properties(product) for product in order.products]
    body = {
        **state.user.event_ids,
        "product_id": BUNDLED_PRODUCT_ID,
        "currency": order.currency,
        "price": float(total),
        "quantity": 1,
        "time": order.time,
        "properties": {**order.extra, **order.transaction, "products": products},
    }
    state.emit(ObjectKind.PURCHASES, body)
