"""`POST /v1/decisions`: the decision pipeline, from authenticated retailer to recorded slate."""

import hashlib
import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from afterglow.catalog import CatalogIndex
from afterglow.decisioning import assign_arm, choose_slate, score_offers
from afterglow.errors import InvalidInput
from afterglow.models import Arm, DecisionRequest, DecisionResponse, Offer, OfferView, Retailer
from afterglow.observability import logger
from afterglow.settings import get_settings
from afterglow.signing import TokenSigner, TrackingClaims, hash_customer, new_id
from afterglow.store import LedgerStore


@lru_cache(maxsize=4)
def _signer(token_keys: str, ttl_seconds: int) -> TokenSigner:
    return TokenSigner.from_setting(token_keys, ttl_seconds)


def signer() -> TokenSigner:
    """The tracking-token signer for the current settings (parsed once per key set)."""
    settings = get_settings()
    return _signer(settings.token_keys, settings.token_ttl_seconds)


def decision_key(
    retailer_id: str, order_id: str, placement: str, survey: dict[str, Any] | None = None
) -> str:
    """The ledger key that makes a page reload return the same decision.

    Survey answers are part of it: answering the survey is new information and gets fresh offers.
    """
    key = f"DECISION#{retailer_id}#{quote(order_id, safe='')}#{placement}"
    if survey:
        answers = json.dumps(survey, sort_keys=True, separators=(",", ":"))
        key += "#" + hashlib.sha256(answers.encode()).hexdigest()[:16]
    return key


def learning_context(request: DecisionRequest) -> dict[str, str]:
    """The few context features feedback is counted under (carried in the tracking token)."""
    main_item = max(request.line_items, key=lambda item: item.price_minor * item.quantity)
    context = {"category": main_item.category}
    if request.customer.segment:
        context["segment"] = request.customer.segment
    if request.survey.get("is_gift") is True:
        context["gift"] = "yes"
    return context


def _offer_view(offer: Offer, token: str, now: datetime, api_url: str) -> OfferView:
    minutes = offer.creative.exclusive_minutes
    return OfferView(
        offer_id=offer.offer_id,
        partner_id=offer.partner_id,
        kind=offer.kind,
        category=offer.category,
        title=offer.creative.title,
        body=offer.creative.body,
        image_url=str(offer.creative.image_url) if offer.creative.image_url else None,
        cta=offer.creative.cta,
        price_minor=offer.creative.price_minor,
        discount_pct=offer.creative.discount_pct,
        expires_at=now + timedelta(minutes=minutes) if minutes else None,
        tracking_token=token,
        click_url=f"{api_url}/v1/c/{token}",
    )


def decide(
    index: CatalogIndex, ledger: LedgerStore, retailer: Retailer, request: DecisionRequest, api_url: str
) -> DecisionResponse:
    """Choose, sign and record the offers for one transaction; the same order gets the same answer."""
    if request.currency != retailer.currency:
        raise InvalidInput(f"currency must be the retailer's ({retailer.currency})", field="currency")
    customer_ref = request.customer.id or request.customer.email or request.order_id
    customer_hash = hash_customer(retailer.salt, customer_ref)
    arm = assign_arm(retailer.salt, customer_hash, retailer.experiment)

    candidates = index.candidates_for({item.category for item in request.line_items})
    slate = choose_slate(retailer, arm, score_offers(request, candidates), request.k)

    now = datetime.now(UTC).replace(microsecond=0)
    decision_id = new_id("dec")
    tokens = signer()
    context = learning_context(request)

    def token(offer_id: str) -> str:
        claims = TrackingClaims(
            retailer.retailer_id, decision_id, offer_id, arm.value, int(now.timestamp()), context
        )
        return tokens.sign(claims)

    views = [_offer_view(offer, token(offer.offer_id), now, api_url) for offer in slate]
    survey = retailer.survey if retailer.survey and retailer.survey.key not in request.survey else None
    response = DecisionResponse(
        decision_id=decision_id,
        arm=arm,
        offers=views,
        created_at=now,
        decision_token=token(""),
        survey=survey,
    )
    existing = ledger.record_once(
        decision_key(retailer.retailer_id, request.order_id, request.placement, request.survey),
        "decision",
        now,
        {
            "decision_id": decision_id,
            "retailer_id": retailer.retailer_id,
            "arm": arm.value,
            "customer_hash": customer_hash,
            "order_value_minor": request.order_value_minor,
            "currency": request.currency,
            "offer_ids": [offer.offer_id for offer in slate],
            "response": response.model_dump(mode="json"),
        },
    )
    if existing is not None:  # a reload of the same order: same offers, no new impression
        logger.info("decision replayed", extra={"decision_id": existing.get("decision_id")})
        return DecisionResponse.model_validate(existing["response"])
    return response


__all__ = ["Arm", "decide", "decision_key", "signer"]
