"""``manage.py create_api_token USER --scope read,write [--expires 30d] [--name NAME]``:
prints a new API token once; only its hash is kept."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.api.tokens import TokenError, api_token_create, expiry_parse


class Command(BaseCommand):
    help = "Create an API token for USER with the given scopes (read, write, replay, dsr)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--scope", required=True, help="comma-separated: read,write,replay,dsr")
        parser.add_argument("--expires", help="30d or 12h from now (default: never)")
        parser.add_argument("--name", default="", help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        try:
            token, plain = api_token_create(
                user=user,
                scopes=options["scope"].split(","),
                expires_at=expiry_parse(options["expires"]),
                name=options["name"],
            )
        except TokenError as error:
            raise CommandError(f"--{error.field}: {error.message}") from None
        self.stdout.write(plain)
        expiry = (
            f"expires {token.expires_at:%Y-%m-%d %H:%M:%S %Z}"
            if token.expires_at
            else "never expires"
        )
        self.stderr.write(
            f"Token {token.prefix}… for {user} ({', '.join(token.scopes)}), {expiry}."
            " Shown only this once."
        )
