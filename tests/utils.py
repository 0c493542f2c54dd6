"""Helpers shared by the tests: API Gateway events, signed webhooks, a seeded catalog."""

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from afterglow.models import (
    Creative,
    ExperimentSplit,
    FirstPartyOfferCreate,
    FixedPayout,
    IncomingEventBatch,
    OfferCreate,
    PartnerCreate,
    RetailerCreate,
    SatisfactionQuestion,
    SurveyOption,
    SurveyQuestion,
)
from afterglow.services import offers, partners, retailers
from afterglow.services.catalog_cache import catalog_cache
from afterglow.services.decisions import signer
from afterglow.services.events import record_events
from afterglow.signing import TrackingClaims
from afterglow.store import Stores
from afterglow_dev.local.gateway import FakeLambdaContext, api_gateway_event
from afterglow_dev.local.load import signed_webhook_headers
from afterglow_dev.local.template import Route


def http_event(
    method: str,
    path: str,
    *,
    route_path: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
    query: str = "",
) -> dict[str, Any]:
    """An API Gateway HTTP API v2 event for one request (body JSON-encoded unless `raw` is given)."""
    payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    all_headers = {
        "content-type": "application/json",
        "host": "api.test",
        "content-length": str(len(payload)),
        **(headers or {}),
    }
    route = Route(method, route_path or path, "test")
    params = route.pattern().match(path)
    return api_gateway_event(
        route, path, query, all_headers, payload, params.groupdict() if params else {}, "203.0.113.9"
    )


def http_routes(app: Any) -> list[Any]:
    """Every route an app serves, its included routers' too: recent FastAPI keeps an included
    router as one entry of `app.routes`, older versions copy its routes there."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def invoke(module: Any, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """Call a function's real `lambda_handler`; returns status, headers and the JSON (or text, or an
    image's bytes) body."""
    result = module.lambda_handler(event, FakeLambdaContext(function_name="test", aws_request_id="req-1"))
    body = result.get("body") or ""
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    if result.get("isBase64Encoded"):
        raw = base64.b64decode(body)
        if not headers.get("content-type", "").startswith(("text/", "application/")):
            return result["statusCode"], headers, raw  # an image: bytes, not text
        body = raw.decode()
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body
    return result["statusCode"], headers, parsed


def signed_headers(
    secret: str, body: bytes, *, msg_id: str = "msg_1", at: datetime | None = None
) -> dict[str, str]:
    """Standard Webhooks headers, signed by the reference library as a partner would."""
    return signed_webhook_headers(secret, msg_id, body.decode(), at)


@dataclass
class Seeded:
    retailer_id: str
    publishable_key: str
    secret_key: str
    partner_id: str
    webhook_secret: str
    offer_id: str


GIFT_SURVEY = SurveyQuestion(
    key="is_gift",
    question="Is this a gift?",
    options=[SurveyOption(value=True, label="Yes"), SurveyOption(value=False, label="No")],
)


NPS_QUESTION = SatisfactionQuestion(scale="nps", question="How likely are you to recommend us to a friend?")


def seed_catalog(
    stores: Stores,
    *,
    category: str = "coffee",
    holdout: int = 0,
    survey: SurveyQuestion | None = None,
    satisfaction: SatisfactionQuestion | None = None,
) -> Seeded:
    """One retailer (EUR, no holdout by default, no survey or satisfaction question unless given),
    one partner, one fixed-payout offer."""
    retailer = retailers.create_retailer(
        stores,
        RetailerCreate(
            name="Shop",
            currency="EUR",
            allowed_origins=["https://shop.example"],
            experiment=ExperimentSplit(holdout=holdout, mixed=100 - holdout),
            survey=survey,
            satisfaction=satisfaction,
        ),
    )
    partner = partners.create_partner(stores, PartnerCreate(name="Beans"))
    offer = offers.create_offer(
        stores,
        OfferCreate(
            partner_id=partner.partner.partner_id,
            category=category,
            creative=Creative(title="Free bag", exclusive_minutes=10),
            landing_url="https://beans.example/welcome?ref=ag",
            payout=FixedPayout(currency="EUR", amounts={"signup": 700, "first_purchase": 1500}),
        ),
    )
    return Seeded(
        retailer.retailer.retailer_id,
        retailer.publishable_key,
        retailer.secret_key,
        partner.partner.partner_id,
        partner.webhook_secret,
        offer.offer_id,
    )


def order(order_id: str = "o-1", category: str = "kitchen", **overrides: Any) -> dict[str, Any]:
    """A decision request body."""
    return {
        "order_id": order_id,
        "order_value_minor": 12900,
        "currency": "EUR",
        "line_items": [{"sku": "ESPRESSO-1", "category": category, "price_minor": 12900}],
        "customer": {"email": "Ada@Example.com", "country": "DE"},
        **overrides,
    }


def accept_add_on(
    stores: Stores,
    seeded: Seeded,
    *,
    decision_id: str = "dec_addon",
    offer_id: str | None = None,
    price_minor: int = 1299,
    quantity: int = 1,
    arm: str = "mixed",
    context: dict[str, str] | None = None,
) -> str:
    """A first-party add-on (created unless `offer_id` names one) accepted on the confirmation
    page of `decision_id` (whose learning `context` its token carries), as the storefront SDK
    records it; returns the offer id."""
    if offer_id is None:
        offer_id = offers.create_first_party_offer(
            stores,
            seeded.retailer_id,
            FirstPartyOfferCreate(
                category="kitchen",
                creative=Creative(title="Descaler", price_minor=price_minor),
                landing_url="https://shop.example/descaler",
                payout=FixedPayout(currency="EUR", amounts={"first_purchase": 0}),
            ),
        ).offer_id
    now = datetime.now(UTC)
    token = signer().sign(
        TrackingClaims(seeded.retailer_id, decision_id, offer_id, arm, int(now.timestamp()), context or {})
    )
    event = {
        "event_id": f"evt-{decision_id}",
        "type": "accept",
        "token": token,
        "occurred_at": now.isoformat(),
    }
    batch = IncomingEventBatch(events=[event | {"data": {"quantity": quantity}}])
    catalog_cache.clear()  # the offer was created a moment ago
    index = catalog_cache.get(stores.catalog)
    retailer = index.retailers[seeded.retailer_id]
    [result] = record_events(stores, index, retailer, batch).results
    assert result.status == "accepted", result
    return offer_id
