"""Static files in production: hashed names from the manifest, served by WhiteNoise."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.test import Client

from tests.responses import streamed


def test_pages_link_their_stylesheet_by_a_content_hashed_name(client: Client) -> None:
    page = client.get("/login/").content.decode()

    assert re.search(r'href="/static/mpbraze\.[0-9a-f]{12}\.css"', page), page


def test_whitenoise_serves_a_hashed_admin_stylesheet_for_a_year_gzipped(client: Client) -> None:
    url = staticfiles_storage.url("admin/css/base.css")
    assert re.fullmatch(r"/static/admin/css/base\.[0-9a-f]{12}\.css", url)

    response = client.get(url, headers={"accept-encoding": "gzip"})

    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=315360000, public, immutable"
    assert response["Content-Encoding"] == "gzip"
    body = gzip.decompress(streamed(response))
    assert body == Path(settings.STATIC_ROOT, url.removeprefix("/static/")).read_bytes()


def test_an_unhashed_name_is_served_but_cached_only_briefly(client: Client) -> None:
    # Old pages may still name it; a long cache would keep last release's file after a deploy.
    response = client.get("/static/mpbraze.css")

    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=60, public"
    source = settings.BASE_DIR / "mpbraze/static/mpbraze.css"
    assert streamed(response) == source.read_bytes()


def test_the_live_server_serves_the_stylesheet_a_page_names(live_server: Any, db: None) -> None:
    # The browser tests see styled pages only if this holds (tests/collected_static.py).
    page = httpx.get(f"{live_server.url}/login/", trust_env=False).text
    match = re.search(r'href="(/static/mpbraze\.[0-9a-f]{12}\.css)"', page)
    assert match, page

    response = httpx.get(f"{live_server.url}{match[1]}", trust_env=False)

    assert response.status_code == 200
    assert response.content == Path(settings.STATIC_ROOT, match[1][len("/static/") :]).read_bytes()


def test_favicon_ico_leads_to_the_icon_among_the_static_files(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert re.fullmatch(r"/static/favicon\.[0-9a-f]{12}\.ico", response["Location"])
    assert "max-age=86400" in response["Cache-Control"]

    icon = client.get(response["Location"])

    assert icon.status_code == 200
    assert icon["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert streamed(icon)[:4] == b"\x00\x00\x01\x00"
    assert '<link rel="icon" href="/static/favicon.' in client.get("/login/").content.decode()
