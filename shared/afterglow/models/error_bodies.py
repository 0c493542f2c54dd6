"""Error bodies: every 4xx/5xx answer is `{"error": {"code", "message", "field"?, "details"?}}`."""

from typing import Annotated

from pydantic import BaseModel, Field


class ErrorItem(BaseModel):
    """One of several problems, e.g. one bad line of an imported catalog file."""

    message: str
    field: str | None = None
    line: int | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    details: Annotated[list[ErrorItem] | None, Field(description="Every problem, when several")] = None


class ErrorBody(BaseModel):
    """Every 4xx/5xx response body."""

    error: ErrorDetail
