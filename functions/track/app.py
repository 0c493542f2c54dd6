"""track: storefront events, click redirects, the storefront SDK asset, and the retailers' returns
of add-ons accepted on the storefront."""

from importlib.resources import files
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from afterglow.api import (
    CORS_PREFLIGHT_HEADERS,
    cors_headers,
    create_app,
    lambda_handler_for,
    principal,
    rate_limit_wait,
    rate_limited,
    raw_json_body_doc,
    read_json_body,
    storefront_principal,
    stores,
)
from afterglow.errors import NotFound, validation_error
from afterglow.models import AddOnReturn, AddOnReturnResult, EventBatch, EventBatchResult, IncomingEventBatch
from afterglow.services.auth import Principal, back_office_retailer, storefront_retailer
from afterglow.services.catalog_cache import catalog_cache
from afterglow.services.email import OPEN_PIXEL_GIF, record_open
from afterglow.services.events import record_events
from afterglow.services.returns import record_return
from afterglow.services.satisfaction import record_link_answer, thank_you_page
from afterglow.services.tracking import record_click
from afterglow.store import Stores

app = create_app("Afterglow tracking", "Clicks, storefront events, the SDK, and returns of add-ons.")

Token = Annotated[str, Path(min_length=10, max_length=2048, description="Tracking token from a decision")]
StoresDep = Annotated[Stores, Depends(stores)]


@app.post(
    "/v1/events",
    response_model=EventBatchResult,
    dependencies=[Depends(rate_limited)],
    tags=["storefront"],
    openapi_extra=raw_json_body_doc(app, EventBatch, "EventBatch"),
)
async def post_events(
    request: Request,
    response: Response,
    caller: Annotated[Principal, Depends(storefront_principal)],
    stores: StoresDep,
) -> EventBatchResult:
    """Record a batch of storefront events (≤ 50). Each gets accepted / duplicate / rejected + reason.

    Takes the publishable key as `Authorization: Bearer` or `?key=` (for `navigator.sendBeacon`),
    and JSON with any content type (sendBeacon sends text/plain).
    """
    retailer = storefront_retailer(stores.catalog, caller)
    catalog = catalog_cache.cached(stores.catalog)
    response.headers.update(cors_headers(request, retailer.allowed_origins))
    try:
        batch = IncomingEventBatch.model_validate(await read_json_body(request))
    except ValidationError as error:
        raise validation_error(error) from error
    return record_events(stores, catalog, retailer, batch)


@app.options("/v1/events", status_code=204, include_in_schema=False)
async def preflight_events(request: Request, stores: StoresDep) -> Response:
    """CORS preflight: allowed for any retailer's origin (the key is checked on the real request)."""
    catalog = catalog_cache.get(stores.catalog)
    headers = cors_headers(request, catalog.all_origins())
    return Response(status_code=204, headers={**headers, **CORS_PREFLIGHT_HEADERS})


@app.post(
    "/v1/returns",
    response_model=AddOnReturnResult,
    dependencies=[Depends(rate_limited)],
    tags=["retailers"],
)
async def post_return(
    body: AddOnReturn, caller: Annotated[Principal, Depends(principal)], stores: StoresDep
) -> AddOnReturnResult:
    """Record a return or refund of an own-brand add-on accepted on the confirmation page.

    Takes the retailer's **secret** key (from its order system; a publishable key is 403). The
    same `return_id` again → 200 `duplicate`, nothing changes; more than the add-on added, less
    what was returned already → 422 `return_exceeds_accepted_amount` (or `…_quantity`); an accept
    that is not yours or does not exist → 404 `accept_not_found`; a partner offer → 422.
    """
    retailer = back_office_retailer(stores.catalog, caller)
    return record_return(stores, catalog_cache.get(stores.catalog), retailer, body)


@app.get(
    "/v1/c/{token}",
    status_code=302,
    response_class=RedirectResponse,
    tags=["storefront"],
    dependencies=[Depends(rate_limited)],
)
async def click(token: Token, stores: StoresDep) -> RedirectResponse:
    """Record a click and redirect (302) to the partner's page with `click_id` appended."""
    target = record_click(stores, token)
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})


@app.get(
    "/v1/s/{token}",
    response_class=HTMLResponse,
    tags=["storefront"],
    dependencies=[Depends(rate_limited)],
    responses={401: {"description": "Forged or expired link"}, 422: {"description": "Score off the scale"}},
)
async def satisfaction_link(
    token: Token,
    stores: StoresDep,
    score: Annotated[
        str | None, Query(max_length=3, description="The score tapped: 0–10 (NPS) or 1–5 (CSAT)")
    ] = None,
) -> HTMLResponse:
    """Record a one-tap satisfaction answer from a follow-up e-mail; answers a small thank-you page.

    One answer per decision counts (the first); a second tap is thanked and changes nothing.
    """
    outcome = record_link_answer(stores, catalog_cache.cached(stores.catalog), token, score)
    return HTMLResponse(thank_you_page(outcome), headers={"Cache-Control": "no-store"})


@app.get(
    "/v1/o/{token}",
    response_class=Response,
    tags=["storefront"],
    responses={200: {"content": {"image/gif": {}}, "description": "A 1×1 transparent GIF, always"}},
)
async def open_pixel(
    token: Annotated[
        str,
        Path(
            max_length=2048, description="The open pixel's token from a decision's e-mail (`.gif` optional)"
        ),
    ],
    stores: StoresDep,
    request: Request,
) -> Response:
    """An e-mail's open pixel: records an impression of each offer of its slate, once each.

    Answers the GIF whatever the token (a forged or expired one records nothing): a mail client
    would show a broken image otherwise. Never cached, so each open reaches the API. Over the rate
    limit (image proxies fetch for many readers from a few addresses) it records nothing, but
    still answers the image, never a 429.
    """
    if rate_limit_wait(request) <= 0:
        record_open(stores, catalog_cache.cached(stores.catalog), token.removesuffix(".gif"))
    return Response(OPEN_PIXEL_GIF, media_type="image/gif", headers={"Cache-Control": "no-store, max-age=0"})


@app.get("/v1/sdk.js", tags=["storefront"], response_class=Response)
async def sdk() -> Response:
    """The storefront SDK (one file, no dependencies); cache it for an hour."""
    asset = files("afterglow").joinpath("static/afterglow.js")
    if not asset.is_file():
        raise NotFound("the SDK is not bundled in this build")
    return Response(
        asset.read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


lambda_handler = lambda_handler_for(app)
