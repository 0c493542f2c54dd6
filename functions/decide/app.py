"""decide: `POST /v1/decisions` — the offers for one transaction."""

from typing import Annotated

from fastapi import Depends, Request

from afterglow.api import api_base_url, create_app, lambda_handler_for, principal, stores
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
    caller: Annotated[Principal, Depends(principal)],
    stores: Annotated[Stores, Depends(stores)],
) -> DecisionResponse:
    """Pick 1–3 offers for this transaction (publishable key). Reloads return the same decision."""
    catalog = catalog_cache.get(stores.catalog)
    retailer = storefront_retailer(catalog, caller)
    return decide(catalog, stores.ledger, retailer, body, api_base_url(request))


lambda_handler = lambda_handler_for(app)
