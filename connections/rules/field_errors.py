"""One error type for a value that cannot be used, named by its field: raised by services and
selectors, shown by forms and the admin beside the field, answered by the API as a 422."""

from __future__ import annotations


class FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
