"""webhooks: `POST /v1/webhooks/conversions` — partners report conversions (Standard Webhooks)."""

from typing import Annotated

from fastapi import Depends, Request

from afterglow.api import create_app, lambda_handler_for, raw_json_body_doc, stores
from afterglow.models import ConversionResult, PartnerWebhook
from afterglow.services.conversions import receive_conversion
from afterglow.store import Stores

app = create_app(
    "Afterglow partner webhooks",
    "Conversions signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).",
)


@app.post(
    "/v1/webhooks/conversions",
    response_model=ConversionResult,
    tags=["partners"],
    openapi_extra=raw_json_body_doc(app, PartnerWebhook, "PartnerWebhook"),
)
async def post_conversion(request: Request, stores: Annotated[Stores, Depends(stores)]) -> ConversionResult:
    """Record a conversion or reversal once.

    Bad signature → 401 (retry with a correct one); malformed body → 400/422 (fix, then retry);
    refused for a business reason → 200 `rejected` with a reason (retrying cannot help); 5xx → retry.
    """
    # The signature covers the raw bytes, so the body is read raw (and parsed once, by the service).
    body = await request.body()
    return receive_conversion(stores, request.headers, body)


lambda_handler = lambda_handler_for(app)
