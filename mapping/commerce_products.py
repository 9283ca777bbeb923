"""Products and transaction fields of mParticle commerce events, read leniently.

Amounts may be JSON numbers or the SDK's Decimal-as-string ("0.00"); both are read as floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import isfinite
from typing import Any, Final, Literal

from mapping.issues import IssueAction, IssueKind
from mapping.output_settings import ProductIdSource
from mapping.rules import MAX_STRING_LENGTH, clean_properties, lenient_number
from mapping.state import BatchState

FieldType = Literal["text", "number", "integer"]
MAX_INTEGER: Final = float(2**63)  # positions and checkout steps must fit Braze's 64-bit integers
ACTION_PATH: Final = "events[*].data.product_action"
PRODUCTS_PATH: Final = f"{ACTION_PATH}.products"

# mParticle JSON key → (type, property name); the names are mParticle's own
# (KITBASE CommerceEventUtils.Constants). "details" are everything but id/name/price/quantity.
PRODUCT_FIELDS: Final[dict[str, tuple[FieldType, str]]] = {
    "id": ("text", "Id"),
    "name": ("text", "Name"),
    "price": ("number", "Price"),
    "quantity": ("number", "Quantity"),
    "brand": ("text", "Brand"),
    "category": ("text", "Category"),
    "variant": ("text", "Variant"),
    "position": ("integer", "Position"),
    "coupon_code": ("text", "Coupon Code"),
    "total_product_amount": ("number", "Total Product Amount"),
}
TRANSACTION_FIELDS: Final[dict[str, tuple[FieldType, str]]] = {
    "transaction_id": ("text", "Transaction Id"),
    "affiliation": ("text", "Affiliation"),
    "coupon_code": ("text", "Coupon Code"),
    "total_amount": ("number", "Total Amount"),
    "tax_amount": ("number", "Tax Amount"),
    "shipping_amount": ("number", "Shipping Amount"),
    "checkout_step": ("integer", "Checkout Step"),
    "checkout_options": ("text", "Checkout Options"),
    "product_action_list": ("text", "Product Action List"),
    "product_list_source": ("text", "Product List Source"),
}


@dataclass(frozen=True, slots=True)
class Product:
    sku: str | None
    name: str | None
    price: float | None
    quantity: float | None
    details: dict[str, Any]  # the other PRODUCT_FIELDS that were present, by mParticle key
    attributes: dict[str, Any]  # custom attributes, already through the property rules


@dataclass(frozen=True, slots=True)
class Order:
    """One product action, read once and shared by every commerce mode's builder."""

    action: str
    time: str
    currency: str
    extra: dict[str, Any]  # the commerce event's own custom attributes
    transaction: dict[str, Any]  # "Transaction Id", "Total Amount", …
    products: list[Product]
    data: dict[str, Any]


def parse_products(raw: object, state: BatchState, list_path: str) -> list[Product]:
    if type(raw) is not list:
        if raw is not None:
            state.issue(IssueKind.INVALID_VALUE, list_path, raw, IssueAction.DROPPED_FIELD)
        return []
    products = []
    path = f"{list_path}[*]"
    attributes_path = f"{path}.custom_attributes"
    for item in raw:
        if type(item) is dict:
            products.append(_product(item, state, path, attributes_path))
        else:
            state.issue(IssueKind.INVALID_VALUE, path, item, IssueAction.DROPPED_OBJECT)
    return products


def _product(item: dict[str, Any], state: BatchState, path: str, attributes_path: str) -> Product:
    details = read_fields(item, PRODUCT_FIELDS, state, path, by_label=False)
    quantity = details.pop("quantity", None)
    attributes = item.get("custom_attributes")
    return Product(
        sku=details.pop("id", None),
        name=details.pop("name", None),
        price=details.pop("price", None),
        quantity=_whole_if_exact(quantity),
        details=details,
        attributes={}
        if attributes is None
        else clean_properties(attributes, state, attributes_path),
    )


def _whole_if_exact(number: float | None) -> float | None:
    """2.0 reads better as 2; only below 2**53, where a float still holds every integer."""
    if number is not None and number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


def transaction_properties(action: dict[str, Any], state: BatchState) -> dict[str, Any]:
    return read_fields(action, TRANSACTION_FIELDS, state, ACTION_PATH, by_label=True)


def read_fields(
    raw: dict[str, Any],
    spec: dict[str, tuple[FieldType, str]],
    state: BatchState,
    path: str,
    by_label: bool,
) -> dict[str, Any]:
    """The known fields present in ``raw``, typed; one pass over what was actually sent."""
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        known = spec.get(key)
        if known is None or value is None:
            continue
        kind, label = known
        if kind == "text" and type(value) is str and 0 < len(value) <= MAX_STRING_LENGTH:
            pass  # the common case, already right
        else:
            value = read_field(value, kind, state, path, key)
            if value is None:
                continue
        fields[label if by_label else key] = value
    return fields


def read_field(value: object, kind: FieldType, state: BatchState, prefix: str, key: str) -> Any:
    """A typed commerce field, or None when absent or unusable (recorded at prefix.key)."""
    if value is None:
        return None
    if kind == "text":
        if type(value) is str and 0 < len(value) <= MAX_STRING_LENGTH:
            return value
        return _text(value, state, f"{prefix}.{key}")
    if type(value) is float and value - value == 0.0:
        number: float | None = value
    else:
        number = lenient_number(value)
    if number is None or (kind == "integer" and not -MAX_INTEGER < number < MAX_INTEGER):
        state.issue(IssueKind.INVALID_VALUE, f"{prefix}.{key}", value, IssueAction.DROPPED_FIELD)
        return None
    return int(number) if kind == "integer" else number


def _text(value: object, state: BatchState, path: str) -> str | None:
    if type(value) is str:
        if len(value) <= MAX_STRING_LENGTH:
            return value or None
        state.issue(IssueKind.STRING_TRUNCATED, path, value, IssueAction.TRUNCATED)
        return value[:MAX_STRING_LENGTH]
    if type(value) is int or type(value) is float:
        number = lenient_number(value)
        if number is not None:
            state.issue(IssueKind.INVALID_VALUE, path, value, IssueAction.COERCED)
            return str(value)
    state.issue(IssueKind.INVALID_VALUE, path, value, IssueAction.DROPPED_FIELD)
    return None


def product_properties(product: Product, omit: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A product as mParticle-named properties ("Id", "Name", "Brand", … then custom ones)."""
    properties: dict[str, Any] = {}
    if product.sku is not None and "Id" not in omit:
        properties["Id"] = product.sku
    if product.name is not None and "Name" not in omit:
        properties["Name"] = product.name
    if product.price is not None and "Price" not in omit:
        properties["Price"] = product.price
    if product.quantity is not None and "Quantity" not in omit:
        properties["Quantity"] = product.quantity
    for key, value in product.details.items():
        properties[PRODUCT_FIELDS[key][1]] = value
    properties.update(product.attributes)
    return properties


def product_id(product: Product, source: ProductIdSource, state: BatchState) -> str | None:
    """SKU or name per the output's setting, falling back to the other one (recorded)."""
    by_sku = source is ProductIdSource.SKU
    primary, other = (product.sku, product.name) if by_sku else (product.name, product.sku)
    if primary is not None and primary[0] != "$" and not primary.isspace():
        return primary
    path = f"{PRODUCTS_PATH}[*].{'id' if by_sku else 'name'}"
    chosen = (primary or other or "").lstrip("$")
    if not chosen.strip():
        state.issue(IssueKind.INVALID_VALUE, path, primary, IssueAction.DROPPED_OBJECT)
        return None
    if primary is None:
        state.issue(IssueKind.INVALID_VALUE, path, other, IssueAction.COERCED)
    return chosen


def whole_quantity(product: Product, state: BatchState, most: int = 2**31 - 1) -> int:
    """An integer quantity from 1 to ``most``; a missing one means 1."""
    quantity = product.quantity
    if quantity is None:
        return 1
    whole = int(min(max(quantity, 1), most))
    if whole != quantity:
        path = f"{PRODUCTS_PATH}[*].quantity"
        state.issue(IssueKind.INVALID_VALUE, path, quantity, IssueAction.COERCED)
    return whole


def unit_price(product: Product, state: BatchState) -> float:
    if product.price is None:
        path = f"{PRODUCTS_PATH}[*].price"
        state.issue(IssueKind.INVALID_VALUE, path, None, IssueAction.COERCED)
        return 0.0
    return float(product.price)


def products_total(products: list[Product]) -> float:
    """Sum of price * quantity for orders without a stated revenue (0.0 if it overflows)."""
    total = round(sum((p.price or 0.0) * (p.quantity or 1) for p in products), 6)
    return total if isfinite(total) else 0.0
