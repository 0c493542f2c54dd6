"""track: click redirects (and, later, storefront events and the SDK asset)."""

from typing import Annotated

from fastapi import Depends, Path
from fastapi.responses import RedirectResponse

from afterglow.api import create_app, lambda_handler_for, stores
from afterglow.services.tracking import record_click
from afterglow.store import Stores

app = create_app("Afterglow tracking", "Clicks and storefront events.")

Token = Annotated[str, Path(min_length=10, max_length=2048, description="Tracking token from a decision")]


@app.get("/v1/c/{token}", status_code=302, response_class=RedirectResponse, tags=["storefront"])
async def click(token: Token, stores: Annotated[Stores, Depends(stores)]) -> RedirectResponse:
    """Record a click and redirect (302) to the partner's page with `click_id` appended."""
    target = record_click(stores.catalog, stores.ledger, token)
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})


lambda_handler = lambda_handler_for(app)
