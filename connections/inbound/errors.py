"""Refusals of the inbound API, with mParticle's body: ``{"errors": [{code, message}]}``."""

from __future__ import annotations

from django.http import JsonResponse


class Refusal(Exception):
    """A request the inbound API answers with an error status instead of 202."""

    def __init__(
        self, status: int, code: str, *messages: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.messages = list(messages)
        self.headers = headers or {}

    def response(self) -> JsonResponse:
        body = {"errors": [{"code": self.code, "message": message} for message in self.messages]}
        response = JsonResponse(body, status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def bad_request(*messages: str) -> Refusal:
    return Refusal(400, "BAD_REQUEST", *messages)


def payload_too_large(message: str) -> Refusal:
    return Refusal(413, "PAYLOAD_TOO_LARGE", message)


def retry_later(status: int, code: str, message: str, *, seconds: int) -> Refusal:
    """429/503: the client should send the same request again after ``seconds``."""
    return Refusal(status, code, message, headers={"Retry-After": str(seconds)})


def method_not_allowed(method: str) -> JsonResponse:
    refusal = Refusal(
        405,
        "METHOD_NOT_ALLOWED",
        f"{method[:20]} is not supported here: POST a JSON body.",
        headers={"Allow": "POST"},
    )
    return refusal.response()
