"""Domain errors: raised by domain functions, mapped to API errors by the entry points."""

from __future__ import annotations


class DomainError(Exception):
    """An expected failure with a stable code and a Chinese message for the user."""

    code = "DOMAIN_ERROR"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """The caller sent a value the operation cannot accept; nothing was read or changed."""

    code = "BAD_USER_INPUT"


class PayloadError(DomainError):
    """An expected refusal of a mutation, answered in its payload's `errors` with a code from
    the domain's table of codes (the UserErrorCode enum is the union of those tables)."""

    messages: dict[str, str] = {}

    def __init__(self, code: str, message: str | None = None, field: str | None = None) -> None:
        super().__init__(message or self.messages[code], field)
        self.code = code
