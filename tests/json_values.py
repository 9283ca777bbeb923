"""Hypothesis strategies for JSON values, for tests that hold encoders to the standard
library's ``json``."""

from __future__ import annotations

from hypothesis import strategies as st

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)  # past 64 bits, orjson's limit
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)


def values(max_leaves: int = 30, max_size: int = 5) -> st.SearchStrategy[object]:
    """Any JSON value: scalars, lists and objects of them, nested."""
    return st.recursive(
        SCALARS,
        lambda inner: (
            st.lists(inner, max_size=max_size)
            | st.dictionaries(st.text(), inner, max_size=max_size)
        ),
        max_leaves=max_leaves,
    )
