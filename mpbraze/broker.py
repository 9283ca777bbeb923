"""kombu's filesystem transport (the embedded default's broker), with each message written
whole before a consumer can see it.

kombu writes a message file in place (open, lock, write) and a consumer lists, moves and reads
the folder's files without taking the lock: a consumer that moves a file between the writer's
open and its write reads an empty file, the message is lost and the worker stops
("Unrecoverable error: JSONDecodeError"). Here a message is written under a name no consumer
looks for and then renamed into place, which within one folder is atomic. ``filesystem://``
names this transport in every process that imports the Celery app (``register``).
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

PARTIAL = ".part"  # a consumer takes only names ending in ".<queue>.msg"


class Channel(filesystem.Channel):
    # The signature is kombu's filesystem channel's, which its stubs mark as differing from
    # the abstract channel's the same way.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        """Put ``payload`` on ``queue``: written beside, then renamed into the queue."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + PARTIAL
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    """``filesystem://`` URLs (the embedded default's broker) use this transport: kombu reads
    a URL's scheme through its table of transport aliases. A URL of another scheme is
    untouched, even where a process also talks to a second broker."""
    TRANSPORT_ALIASES["filesystem"] = f"{__name__}:Transport"
