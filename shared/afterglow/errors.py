"""Domain errors. Each carries the HTTP status it maps to; the mapping itself lives in afterglow.api."""


class AfterglowError(Exception):
    """Base of every error a caller is meant to see."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class MalformedJson(AfterglowError):
    status = 400
    code = "malformed_json"


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
