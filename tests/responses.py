"""The type of what Django's test client answers: an ``HttpResponse`` with ``json()`` and the
request attached. django-stubs names it privately; tests import it from here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse
else:
    from django.http import HttpResponse as TestResponse

__all__ = ["TestResponse", "streamed"]


def streamed(response: HttpResponseBase) -> bytes:
    """The whole body of a streaming answer (a CSV export, a static file)."""
    assert isinstance(response, StreamingHttpResponse | FileResponse), type(response)
    return b"".join(cast(Iterable[bytes], response.streaming_content))
