"""Bundled example batches for the preview page (and demos)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent
EXAMPLES = {
    "custom_event": "Custom event, screen view and user attributes (iOS)",
    "purchase": "Purchase with two products and an add-to-cart (Android)",
    "attribute_changes": "Attribute changes, a bad subscription state, push registration (Web)",
}


def example_text(name: str) -> str:
    if name not in EXAMPLES:
        raise KeyError(name)
    return (FOLDER / f"{name}.json").read_text()


def example_batch(name: str) -> Any:
    return json.loads(example_text(name))
