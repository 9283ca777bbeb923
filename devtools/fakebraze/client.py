"""Driving a fake Braze server in another process through its ``/_fake/`` endpoints."""

from __future__ import annotations

from typing import Any

import httpx


class FakeBrazeControl:
    """The ``FakeBraze`` inspection and control methods, over HTTP.

    For a fake started with ``manage.py fake_braze``: ``FakeBrazeControl("http://127.0.0.1:N")``.
    """

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> FakeBrazeControl:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def accepted_objects(self, kind: str | None = None) -> list[dict[str, Any]]:
        params = {"kind": kind} if kind else {}
        result: list[dict[str, Any]] = self._get("accepted", params)["accepted"]
        return result

    def deleted_users(self, kind: str | None = None) -> list[dict[str, Any]]:
        params = {"kind": kind} if kind else {}
        result: list[dict[str, Any]] = self._get("deleted", params)["deleted"]
        return result

    def requests(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._get("requests")["requests"]
        return result

    def faults(self) -> dict[str, Any]:
        return self._get("faults")

    def set_faults(self, **fields: Any) -> dict[str, Any]:
        """Replace every fault setting; omitted fields go back to their defaults."""
        return self._post("faults", fields)

    def set_key(self, key: str, permissions: tuple[str, ...] = ("users.track",)) -> None:
        self._post("keys", {"key": key, "permissions": list(permissions)})

    def remove_key(self, key: str) -> None:
        self._post("keys", {"key": key, "remove": True})

    def set_limits(self, **fields: str) -> dict[str, Any]:
        """Any of ``rate_limit`` ("N/S"), ``rate_limit_style``, ``batch_mode``."""
        return self._post("limits", fields)

    def reset(self) -> None:
        self._post("reset", {})

    def _get(self, name: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return self._check(self._client.get(f"/_fake/{name}", params=params))

    def _post(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self._check(self._client.post(f"/_fake/{name}", json=payload))

    @staticmethod
    def _check(response: httpx.Response) -> dict[str, Any]:
        if response.status_code != 200:
            raise ValueError(f"fake Braze control call failed: {response.text}")
        body: dict[str, Any] = response.json()
        return body
