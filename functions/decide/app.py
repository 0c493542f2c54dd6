"""decide: `POST /v1/decisions` — the offers for one transaction."""

from typing import Annotated

from fastapi import Depends, Request, Response

from afterglow.api import (
    CORS_PREFLIGHT_HEADERS,
    api_base_url,
    cors_headers,
    create_app,
    lambda_handler_for,
    storefront_principal,
    stores,
)
from afterglow.models import DecisionRequest, DecisionResponse
from afterglow.services.auth import Principal, storefront_retailer
from afterglow.services.catalog_cache import catalog_cache
from afterglow.services.decisions import decide
from afterglow.store import Stores

app = create_app("Afterglow decisions", "Choose the offers for an order-confirmation page.")


@app.post("/v1/decisions", response_model=DecisionResponse, tags=["storefront"])
async def post_decision(
    body: DecisionRequest,
    request: Request,
    response: Response,
    caller: Annotated[Principal, Depends(storefront_principal)],
    stores: Annotated[Stores, Depends(stores)],
) -> DecisionResponse:
    """Pick 1–3 offers for this transaction (publishable key). Reloads return the same decision."""
    catalog = catalog_cache.get(stores.catalog)
    retailer = storefront_retailer(catalog, caller)
    response.headers.update(cors_headers(request, retailer.allowed_origins))
    return decide(catalog, stores.ledger, retailer, body, api_base_url(request))


@app.options("/v1/decisions", status_code=204, include_in_schema=False)
async def preflight_decision(request: Request, stores: Annotated[Stores, Depends(stores)]) -> Response:
    """CORS preflight: allowed for any retailer's origin (the key is checked on the real request)."""
    catalog = catalog_cache.get(stores.catalog)
    return Response(
        status_code=204, headers={**cors_headers(request, catalog.all_origins()), **CORS_PREFLIGHT_HEADERS}
    )


lambda_handler = lambda_handler_for(app)
