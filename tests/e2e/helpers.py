"""What browser tests share: signing in, and screenshots at desktop and phone width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / ".local" / "screenshots"
WIDTHS = (1280, 375)


def sign_in(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def screenshot(page: Any, name: str) -> None:
    """The page at 1280 and 375 px (git-ignored), for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
