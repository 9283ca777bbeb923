"""Re-encrypt every stored Braze API key under the newest MPBRAZE_ENCRYPTION_KEYS entry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from connections import services
from connections.crypto import encryption


class Command(BaseCommand):
    help = (
        "Re-encrypt every Braze API key with the first key of MPBRAZE_ENCRYPTION_KEYS. "
        "Put the new key first, keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = services.outputs_rotate_encryption()
        except encryption.EncryptionKeyError as error:
            raise CommandError(f"{error}. Nothing was changed.") from error
        self.stdout.write(f"Re-encrypted {count} API key(s) under the newest key.")
