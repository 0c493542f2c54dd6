"""decide: `POST /v1/decisions` — the offers for one transaction."""

from typing import Annotated

from fastapi import Depends, Query, Request, Response

from afterglow.api import (
    CORS_PREFLIGHT_HEADERS,
    api_base_url,
    cors_headers,
    create_app,
    lambda_handler_for,
    rate_limited,
    storefront_principal,
    stores,
)
from afterglow.models import DecisionExplanation, DecisionRequest, DecisionResponse, EmailDecisionResponse
from afterglow.rules import is_email_placement
from afterglow.services.auth import Principal, deciding_retailer, explaining_retailer
from afterglow.services.catalog_cache import catalog_cache
from afterglow.services.decisions import decide
from afterglow.services.decisions import explain as explain_decision
from afterglow.store import Stores

app = create_app("Afterglow decisions", "Choose the offers for an order-confirmation page.")


@app.post(
    "/v1/decisions",
    response_model=DecisionResponse | EmailDecisionResponse | DecisionExplanation,
    tags=["storefront"],
    dependencies=[Depends(rate_limited)],
)
async def post_decision(
    body: DecisionRequest,
    request: Request,
    response: Response,
    caller: Annotated[Principal, Depends(storefront_principal)],
    stores: Annotated[Stores, Depends(stores)],
    explain: Annotated[
        bool, Query(description="With a secret key: every candidate's verdicts instead")
    ] = False,
    retailer_id: Annotated[
        str | None, Query(max_length=128, description="Platform key + explain only")
    ] = None,
) -> DecisionResponse | EmailDecisionResponse | DecisionExplanation:
    """Pick 1–3 offers for this transaction (publishable key). Reloads return the same decision.

    An e-mail placement (`confirmation_email`, or one starting `followup`/`email`) also gets
    `email`: the slate as e-mail-safe HTML and plain text with tracked links and an open pixel;
    the retailer's mailer may ask for it with the retailer's secret key instead."""
    if explain:
        retailer = explaining_retailer(stores.catalog, caller, retailer_id)
        return DecisionExplanation.model_validate(explain_decision(stores, retailer, body))
    retailer = deciding_retailer(stores.catalog, caller, email=is_email_placement(body.placement))
    response.headers.update(cors_headers(request, retailer.allowed_origins))
    return decide(stores, retailer, body, api_base_url(request))


@app.options("/v1/decisions", status_code=204, include_in_schema=False)
async def preflight_decision(request: Request, stores: Annotated[Stores, Depends(stores)]) -> Response:
    """CORS preflight: allowed for any retailer's origin (the key is checked on the real request)."""
    catalog = catalog_cache.get(stores.catalog)  # a version check: origins of new retailers count
    return Response(
        status_code=204, headers={**cors_headers(request, catalog.all_origins()), **CORS_PREFLIGHT_HEADERS}
    )


lambda_handler = lambda_handler_for(app)
