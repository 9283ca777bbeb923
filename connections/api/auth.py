"""Bearer-token authentication for the REST API, with each operation's scope and role
permissions: ``auth=token("write", "connections.change_connection")``.

401 when the token is missing, unknown, revoked or expired (or its user inactive); 429 when too
many such tokens came from the address or named the token's prefix (``auth_throttle``; a valid
token is never refused); 403 when the token lacks the scope or its user the permission, naming
which.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.security import HttpBearer

from connections.api.auth_throttle import api_auth_failure
from connections.api.errors import ApiError
from connections.api.models import ApiToken
from connections.api.tokens import api_token_authenticate


class TokenAuth(HttpBearer):
    def __init__(self, scope: str, permissions: tuple[str, ...]) -> None:
        super().__init__()
        self.scope = scope
        self.permissions = permissions

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        found = api_token_authenticate(token)
        if found is None:
            api_auth_failure(request, token)  # a 429 once too many bad tokens came
            return None
        if self.scope not in found.scopes:
            raise ApiError(
                403,
                "forbidden",
                f"This token's scopes ({', '.join(found.scopes)}) do not include "
                f"“{self.scope}”, which this endpoint needs.",
            )
        missing = [p for p in self.permissions if not found.user.has_perm(p)]
        if missing:
            raise ApiError(
                403,
                "forbidden",
                f"The token's user ({found.user.get_username()}) lacks the permission "
                f"{', '.join(missing)}; ask an administrator for the right role.",
            )
        request.api_token = found  # type: ignore[attr-defined]
        return found.user


def token(scope: str, *permissions: str) -> TokenAuth:
    if scope not in ApiToken.Scope.values:
        raise ValueError(f"unknown scope {scope}")
    return TokenAuth(scope, permissions)


def user_of(request: Any) -> User:
    """The authenticated user of an API request."""
    user = request.auth
    assert isinstance(user, User)
    return user
