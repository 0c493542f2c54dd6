"""What every HTTP function shares: the app factory, error mapping, authentication, Lambda wrapper."""

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from time import monotonic
from typing import Annotated, Any

from aws_lambda_powertools.logging import correlation_paths
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from mangum import Mangum
from pydantic import TypeAdapter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from afterglow import warm
from afterglow.errors import (
    AfterglowError,
    Forbidden,
    PayloadTooLarge,
    Problem,
    StoreUnavailable,
    TooManyRequests,
    Unauthorized,
)
from afterglow.json_input import parse_json
from afterglow.models import ErrorBody, ErrorDetail, ErrorItem
from afterglow.observability import logger, metrics, tracer
from afterglow.ratelimit import RateLimiter
from afterglow.services.auth import Principal, authenticate, known_server_key
from afterglow.settings import get_settings
from afterglow.store import Stores, get_stores

MAX_BODY_BYTES = 256 * 1024

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "Malformed request",
        401: "Missing or invalid credentials",
        403: "Not allowed for this key",
        404: "Not found",
        413: "Body too large",
        422: "Invalid input; `error.field` names the field",
        429: "Too many requests; see Retry-After",
        503: "Temporarily unavailable; retry (see Retry-After)",
    }.items()
}

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
}


def error_response(
    status: int, code: str, message: str, field: str | None = None, problems: Sequence[Problem] = ()
) -> JSONResponse:
    """The one error body: `{"error": {"code", "message", "field", "details"}}`."""
    details = [ErrorItem(message=p.message, field=p.field, line=p.line) for p in problems] or None
    body = ErrorBody(error=ErrorDetail(code=code, message=message, field=field, details=details))
    return JSONResponse(status_code=status, content=body.model_dump(exclude_none=True))


def _field_of(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location if part != "body"]
    return ".".join(parts) or "body"


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0]
    if first.get("type") == "json_invalid":
        return error_response(400, "malformed_json", "body is not valid JSON", "body")
    if isinstance(first.get("input"), bytes | str) and tuple(first.get("loc", ())) == ("body",):
        # FastAPI only parses JSON when told so; say that instead of "not a dictionary".
        message = "body must be a JSON object sent with Content-Type: application/json"
        return error_response(400, "malformed_json", message, "body")
    field = _field_of(first.get("loc", ()))
    return error_response(422, "invalid_input", f"{field}: {first.get('msg', 'invalid')}", field)


async def _domain_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AfterglowError)
    response = error_response(error.status, error.code, error.message, error.field, error.problems)
    if isinstance(error, TooManyRequests):
        response.headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, StoreUnavailable):
        logger.exception("store unavailable after retries")
        response.headers["Retry-After"] = "5"
    return response


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return error_response(error.status_code, _CODES.get(error.status_code, "error"), str(error.detail))


async def _unexpected_error(_: Request, error: Exception) -> JSONResponse:
    logger.exception("unhandled error")
    return error_response(500, "internal", "internal error")


def raw_json_body_doc(app: FastAPI, model: Any, name: str) -> dict[str, Any]:
    """OpenAPI `requestBody` for a route that reads its body raw (signature checks, sendBeacon).

    The schema and its sub-schemas are registered on the app and land in `components.schemas`.
    """
    schema = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
    extra: dict[str, Any] = app.state.extra_schemas
    extra.update(schema.pop("$defs", {}))
    extra[name] = schema
    reference = {"$ref": f"#/components/schemas/{name}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": reference}}}}


class BodySizeLimit:
    """Refuse bodies over the limit with 413, by declared length and by bytes actually read:
    MAX_BODY_BYTES, or a larger limit for the few paths that take files (`larger`, by path).

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware costs a task per request on the hot path.
    """

    def __init__(self, app: ASGIApp, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), MAX_BODY_BYTES)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise PayloadTooLarge(f"body larger than {limit} bytes", field="body")
            return message

        await self.app(scope, counting_receive, send)


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
]
HTML_SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Headers on every response: no MIME sniffing, HTTPS only; and for any HTML, no framing and
    nothing loaded. A plain ASGI middleware, like BodySizeLimit, to stay cheap on the hot path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                content_type = dict(headers).get(b"content-type", b"")
                extra = SECURITY_HEADERS + (
                    HTML_SECURITY_HEADERS if content_type.startswith(b"text/html") else []
                )
                headers += [(name, value) for name, value in extra if name not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _too_large(limit: int) -> JSONResponse:
    return error_response(413, PayloadTooLarge.code, f"body larger than {limit} bytes", "body")


def create_app(title: str, description: str, *, larger_bodies: Mapping[str, int] | None = None) -> FastAPI:
    """A FastAPI app with the shared error mapping and body-size limit (`larger_bodies`: path →
    bytes, for routes that take files). No per-app OpenAPI route: the merged document is served
    at `GET /v1/openapi.json`."""
    app = FastAPI(
        title=title,
        description=description,
        version="1",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        responses=ERROR_RESPONSES,
    )
    app.state.extra_schemas = {}
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(AfterglowError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

    app.add_middleware(BodySizeLimit, larger=larger_bodies)
    app.add_middleware(SecurityHeaders)
    return app


def lambda_handler_for(app: FastAPI) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point for an HTTP app: Mangum inside Powertools logging, metrics and tracing."""
    asgi = Mangum(app, lifespan="off")

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics
    @tracer.capture_lambda_handler(capture_response=False)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return asgi(event, context)

    return lambda_handler


# --- dependencies ------------------------------------------------------------------------------


async def stores() -> Stores:
    """The stores of this process (override in tests with `app.dependency_overrides`)."""
    return get_stores()


def bearer_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def principal(request: Request, stores: Annotated[Stores, Depends(stores)]) -> Principal:
    """The authenticated caller of this request."""
    return authenticate(stores.catalog, bearer_key(request))


PUBLISHABLE_KEY_PREFIX = "pk_"


def url_key(request: Request) -> str | None:
    """The `?key=` of a storefront request (for `navigator.sendBeacon`, which cannot set headers).

    Only publishable keys may travel in a URL: URLs end up in access logs, browser histories and
    Referer headers. Any other key there is refused before it is looked up, so it is never used.
    """
    key = request.query_params.get("key")
    if key and not key.startswith(PUBLISHABLE_KEY_PREFIX):
        raise Unauthorized(
            "only a publishable key (pk_…) may be sent in the URL: send other keys in the "
            "Authorization header, and rotate a key that was sent in a URL",
            field="key",
        )
    return key or None


def publishable_key(request: Request) -> str | None:
    """The storefront key: the Authorization header, or `?key=` (publishable keys only)."""
    in_url = url_key(request)
    return bearer_key(request) or in_url


async def storefront_principal(request: Request, stores: Annotated[Stores, Depends(stores)]) -> Principal:
    """The caller of a storefront endpoint (header or `?key=` publishable key)."""
    return authenticate(stores.catalog, publishable_key(request))


@warm.keep_cached("rate limits")
@lru_cache(maxsize=2)
def _limiters(per_ip: float, per_key: float) -> tuple[RateLimiter, RateLimiter]:
    # Per warm container, per client address and per publishable key (see afterglow.ratelimit).
    return RateLimiter(per_ip, 2 * per_ip), RateLimiter(per_key, 2 * per_key)


def client_address(request: Request) -> str:
    """The caller's address as API Gateway saw it (requestContext.http.sourceIp)."""
    event = request.scope.get("aws.event") or {}
    source = event.get("requestContext", {}).get("http", {}).get("sourceIp")
    return str(source or (request.client.host if request.client else "unknown"))


def rate_limit_wait(request: Request) -> float:
    """Seconds this caller should wait: > 0 when its key or its address sends more than its share.

    A shop's server holding a secret key this function already authenticated (a mailer asking for
    e-mail decisions, an order system reporting returns) sends for many customers from one address:
    its key alone limits it. Any other caller, a made-up secret key included, is also limited by
    its address."""
    settings = get_settings()
    per_ip, per_key = _limiters(settings.rate_limit_per_ip_per_s, settings.rate_limit_per_key_per_s)
    now = monotonic()
    key = publishable_key(request)
    by_key = per_key.check(key or "-", now)
    if known_server_key(key):
        return by_key
    return max(per_ip.check(client_address(request), now), by_key)


async def rate_limited(request: Request) -> None:
    """429 with Retry-After when one key or one address sends more than its share."""
    wait = rate_limit_wait(request)
    if wait > 0:
        raise TooManyRequests("too many requests; slow down", retry_after=max(1, math.ceil(wait)))


def normalise_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


CORS_PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "authorization, content-type",
    "Access-Control-Max-Age": "600",
}


def cors_headers(request: Request, allowed_origins: Iterable[str]) -> dict[str, str]:
    """CORS response headers for a storefront request; `Forbidden` for a browser on another origin.

    Requests without an Origin (servers, curl) get none: CORS only binds browsers.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return {}
    if normalise_origin(origin) not in {normalise_origin(o) for o in allowed_origins}:
        raise Forbidden("origin not allowed for this retailer", field="origin")
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


async def read_json_body(request: Request) -> Any:
    """The request body parsed as JSON whatever its content type (sendBeacon sends text/plain)."""
    return parse_json(await request.body())


def api_base_url(request: Request) -> str:
    """Public base URL for links this API hands out (click URLs): PUBLIC_API_URL (template
    parameter `PublicApiUrl`), else the API's own execute-api URL, which API Gateway names in the
    event. Never the request's `Host` header: a client must not choose where our links point."""
    configured = get_settings().public_api_url
    if configured:
        return configured.rstrip("/")
    context = (request.scope.get("aws.event") or {}).get("requestContext", {})
    api_id = str(context.get("apiId") or "unknown")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return f"https://{api_id}.execute-api.{region}.amazonaws.com"


__all__ = [
    "Principal",
    "Unauthorized",
    "api_base_url",
    "create_app",
    "lambda_handler_for",
    "principal",
    "stores",
]
