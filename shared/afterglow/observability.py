"""Logger, Metrics and Tracer: created once, imported everywhere."""

import os
from collections.abc import Callable
from typing import Any, Protocol, cast

from aws_lambda_powertools import Logger, Metrics

NAMESPACE = "Afterglow"

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)

Handler = Callable[[dict[str, Any], Any], Any]


class Tracing(Protocol):
    """What the functions use of Powertools' Tracer."""

    def capture_lambda_handler(self, *, capture_response: bool) -> Callable[[Handler], Handler]: ...


class _NoTracing:
    """Stands in for Powertools' Tracer where tracing is off: importing the X-Ray SDK costs
    ~150-300 ms of cold start, a quarter to a half of the storefront functions' budget. Lambda's
    active tracing still records each invocation of those functions without it."""

    def capture_lambda_handler(self, *, capture_response: bool) -> Callable[[Handler], Handler]:
        return lambda handler: handler


def _tracer() -> Tracing:
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in {"1", "true"}:
        return _NoTracing()
    from aws_lambda_powertools import Tracer

    return cast(Tracing, Tracer())


tracer = _tracer()
