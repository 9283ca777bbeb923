"""Calling the REST API in tests: the Django test client with a bearer token."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import Group, User
from django.test import Client

from tests.conftest import make_user


class ApiClient:
    """The Django test client with a bearer token and JSON bodies."""

    def __init__(self, token: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method: str, path: str, body: Any = None, **extra: Any) -> Any:
        send = getattr(self.client, method)
        url = path if path.startswith("/") else f"/api/v1/{path}"
        if body is None:
            return send(url, headers=self.headers, **extra)
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return send(url, data=data, content_type="application/json", headers=self.headers, **extra)

    def get(self, path: str, **extra: Any) -> Any:
        return self._call("get", path, **extra)

    def post(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self._call("post", path, {} if body is None else body, **extra)

    def patch(self, path: str, body: Any, **extra: Any) -> Any:
        return self._call("patch", path, body, **extra)

    def delete(self, path: str, **extra: Any) -> Any:
        return self._call("delete", path, **extra)


def with_roles(username: str, *names: str) -> User:
    user = make_user(username, names[0])
    for name in names[1:]:
        user.groups.add(Group.objects.get(name=name))
    return user
