"""Domain errors. Each carries the HTTP status it maps to; the mapping itself lives in afterglow.api."""

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError


@dataclass(frozen=True)
class Problem:
    """One of several problems reported together (e.g. one bad line of a catalog file)."""

    message: str
    field: str | None = None
    line: int | None = None


class AfterglowError(Exception):
    """Base of every error a caller is meant to see."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.problems = list(problems)


class MalformedJson(AfterglowError):
    status = 400
    code = "malformed_json"


class MalformedHeader(AfterglowError):
    status = 400
    code = "malformed_header"


class InvalidInput(AfterglowError):
    status = 422
    code = "invalid_input"


class Unauthorized(AfterglowError):
    status = 401
    code = "unauthorized"


class Forbidden(AfterglowError):
    status = 403
    code = "forbidden"


class NotFound(AfterglowError):
    status = 404
    code = "not_found"


class Conflict(AfterglowError):
    status = 409
    code = "conflict"


class PayloadTooLarge(AfterglowError):
    status = 413
    code = "payload_too_large"


class StoreUnavailable(AfterglowError):
    """A dependency failed after retries; callers may retry later."""

    status = 503
    code = "unavailable"


class TooManyRequests(AfterglowError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def validation_error(error: ValidationError) -> InvalidInput:
    """A pydantic error as the one error body, naming the first bad field."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "body"
    return InvalidInput(f"{field}: {first['msg']}", field=field)
