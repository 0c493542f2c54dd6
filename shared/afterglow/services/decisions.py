"""`POST /v1/decisions`: from authenticated retailer to a recorded, signed slate.

Warm path: the catalog is in memory; one BatchGetItem (catalog version + the customer's exposure
counts) and one TransactWriteItems (decision + exposures). A store failure or a blown deadline
degrades to "no offers" — the confirmation page must never break because of us.
"""

import hashlib
import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from time import monotonic
from typing import Any

from afterglow.catalog import CatalogIndex
from afterglow.decisioning import assign_arm, choose_slate, eligible_candidates, explain_candidates
from afterglow.errors import InvalidInput, StoreUnavailable
from afterglow.feedback import country_value, declared_segment, order_value_bucket, policy_context
from afterglow.learning import HierarchicalThompson
from afterglow.models import (
    Arm,
    DecisionRequest,
    DecisionResponse,
    DecisionTrace,
    Offer,
    OfferView,
    Retailer,
    TracedCandidate,
)
from afterglow.observability import logger, metrics
from afterglow.pacing import paced_out
from afterglow.product_types import product_type_of
from afterglow.rules import DecisionContext, is_email_placement
from afterglow.services.catalog_cache import catalog_cache
from afterglow.services.decision_log import evaluation_log
from afterglow.services.ranking import policy_cache, rank_candidates
from afterglow.settings import get_settings
from afterglow.signing import TokenSigner, TrackingClaims, hash_customer, new_id
from afterglow.store import Stores
from afterglow.store.decisions import DecisionKey


@lru_cache(maxsize=4)
def _signer(token_keys: str, ttl_seconds: int) -> TokenSigner:
    return TokenSigner.from_setting(token_keys, ttl_seconds)


def signer() -> TokenSigner:
    """The tracking-token signer for the current settings (parsed once per key set)."""
    settings = get_settings()
    return _signer(settings.token_keys, settings.token_ttl_seconds)


def request_digest(request: DecisionRequest) -> str:
    """What makes a page reload return the same decision: the request's whole content (customer,
    items, survey answers …). A reload sends the same request and gets the same slate, while a
    different request under the same order id (say, one posted in advance by someone else) gets a
    decision of its own."""
    content = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(content.encode()).hexdigest()[:32]


def learning_context(request: DecisionRequest, retailer: Retailer) -> dict[str, str]:
    """The few context features feedback is counted under (kept with the decision, carried in the
    tracking token). Every value comes from a bounded vocabulary: categories from the taxonomy,
    the main item's product type from `afterglow.product_types`, the order value's bucket, the
    country (`feedback.COUNTRIES` or `other`), segments from the retailer's declared list (anything
    else is `other`), the gift answer as yes.
    """
    main_item = max(request.line_items, key=lambda item: item.price_minor * item.quantity)
    context = {
        "purchase_category": main_item.category,
        "order_value": order_value_bucket(request.order_value_minor),
    }
    product_type = main_product_type(request)
    if product_type is not None:
        context["product_type"] = product_type
    country = country_value(request.customer.country)
    if country is not None:
        context["country"] = country
    segment = declared_segment(request.customer.segment, retailer.segments)
    if segment is not None:
        context["segment"] = segment
    if request.survey.get("is_gift") is True:
        context["gift"] = "yes"
    return context


def main_product_type(request: DecisionRequest) -> str | None:
    """The product type of the most valuable line item the vocabulary recognises, if any."""
    typed = [
        (item.price_minor * item.quantity, found)
        for item in request.line_items
        if (found := product_type_of(item.title, item.sku, item.brand, item.category)) is not None
    ]
    return max(typed)[1] if typed else None


def check_survey_answer(retailer: Retailer, request: DecisionRequest) -> None:
    """An answer to the retailer's own survey question must be one of its options (422 if not)."""
    question = retailer.survey
    if question is None or question.key not in request.survey:
        return
    answer = request.survey[question.key]
    if not any(type(answer) is type(option.value) and answer == option.value for option in question.options):
        raise InvalidInput(
            f"survey.{question.key}: not one of the survey's options", field=f"survey.{question.key}"
        )


def customer_hash_of(retailer: Retailer, request: DecisionRequest) -> str:
    """The customer's pseudonymous id: their id or e-mail, salted per retailer (the order id if neither)."""
    return hash_customer(
        retailer.salt, request.customer.id or request.customer.email or f"order:{request.order_id}"
    )


def click_url(api_url: str, token: str) -> str:
    """An offer's tracked link: `GET` records the click and redirects to the partner."""
    return f"{api_url}/v1/c/{token}"


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
        click_url=click_url(api_url, token),
        tier=offer.slate_tier,
    )


def _no_offers(*, degraded: bool = False) -> DecisionResponse:
    """An answer with nothing to show, recorded nowhere."""
    return DecisionResponse(
        decision_id=new_id("dec"), arm=Arm.HOLDOUT, offers=[], degraded=degraded, created_at=datetime.now(UTC)
    )


def _degraded(reason: str) -> DecisionResponse:
    logger.warning("decision degraded", extra={"reason": reason})
    metrics.add_metric(name="DecisionDegraded", unit="Count", value=1)
    return _no_offers(degraded=True)


def decide(stores: Stores, retailer: Retailer, request: DecisionRequest, api_url: str) -> DecisionResponse:
    """Choose, sign and record the offers for one transaction; the same request gets the same answer.
    An e-mail placement's answer also has the slate rendered as an e-mail (`services.email`).

    Past validation, nothing here fails the confirmation page: a store failure, a blown deadline
    or any unexpected error answers 200 with no offers and `degraded: true` (logged and counted).
    """
    if request.currency != retailer.currency:
        raise InvalidInput(f"currency must be the retailer's ({retailer.currency})", field="currency")
    check_survey_answer(retailer, request)
    try:
        response = _decide(stores, retailer, request, api_url)
    except StoreUnavailable as error:
        response = _degraded(type(error.__cause__ or error).__name__)
    except Exception:
        logger.exception("decision failed; answering no offers")
        response = _degraded("internal_error")
    if not is_email_placement(request.placement):
        return response
    # Imported here: the confirmation page's path never loads the e-mail renderer.
    from afterglow.services.email import with_email

    return with_email(response, retailer, request, api_url)


def _decide(stores: Stores, retailer: Retailer, request: DecisionRequest, api_url: str) -> DecisionResponse:
    started = monotonic()
    deadline = get_settings().decision_deadline_ms / 1000
    customer_hash = customer_hash_of(retailer, request)
    state = stores.decisions.read_state(retailer.retailer_id, customer_hash)
    index = catalog_cache.refresh_to(stores.catalog, state.catalog_version)
    retailer = index.retailers.get(retailer.retailer_id, retailer)
    if retailer.status == "paused":  # the retailer switched Afterglow off: not degraded
        return _no_offers()
    policy = _policy(stores, index, state.model)
    response, offer_ids, trace, evaluation = _choose(
        index, retailer, request, customer_hash, state.exposures, api_url, policy
    )
    if monotonic() - started > deadline:
        return _degraded("deadline")
    key = DecisionKey(retailer.retailer_id, request.order_id, request.placement, request_digest(request))
    record = {
        "decision_id": response.decision_id,
        "retailer_id": retailer.retailer_id,
        "arm": response.arm.value,
        "customer_hash": customer_hash,
        "order_id": request.order_id,
        "order_value_minor": request.order_value_minor,
        "purchased_categories": sorted({item.category for item in request.line_items}),
        "context": learning_context(request, retailer),  # what learning counts its offers under
        "currency": request.currency,
        "offer_ids": offer_ids,
        "response": response.model_dump(mode="json"),
        "trace": trace.model_dump(mode="json", exclude_none=True) if trace else None,
        "evaluation": evaluation,  # propensities and shortlist, for `afterglow evaluate`
    }
    try:
        existing = stores.decisions.record_decision(
            key,
            response.created_at,
            record,
            retailer_id=retailer.retailer_id,
            customer_hash=customer_hash,
            offer_ids=offer_ids,
        )
    except StoreUnavailable as error:
        # The write may have landed before its answer was lost: answer what the ledger holds, so a
        # recorded decision is never answered "degraded" (its offers would count, unseen).
        existing = stores.decisions.recorded_decision(key)
        if existing is None:
            return _degraded(type(error.__cause__ or error).__name__)
        if existing.get("decision_id") == response.decision_id:
            existing = None  # ours: answer it as made
    if existing is not None:  # a reload of the same order: same offers, no new exposure
        logger.info("decision replayed", extra={"decision_id": existing.get("decision_id")})
        return DecisionResponse.model_validate(existing["response"])
    metrics.add_metric(name="DecisionOffers", unit="Count", value=len(offer_ids))
    return response


def _policy(stores: Stores, index: CatalogIndex, model: dict[str, Any] | None) -> HierarchicalThompson | None:
    """The learned policy, or None (rank by the catalog prior) when it cannot be had right now."""
    try:
        return policy_cache.get(stores.learning, index, model)
    except Exception:
        logger.exception("learned policy unavailable; ranking by the catalog prior")
        metrics.add_metric(name="PolicyFallback", unit="Count", value=1)
        return None


def _choose(
    index: CatalogIndex,
    retailer: Retailer,
    request: DecisionRequest,
    customer_hash: str,
    exposures: dict[str, int],
    api_url: str,
    policy: HierarchicalThompson | None = None,
) -> tuple[DecisionResponse, list[str], DecisionTrace | None, dict[str, Any]]:
    now = datetime.now(UTC).replace(microsecond=0)
    decision_id = new_id("dec")
    arm = assign_arm(retailer.salt, customer_hash, retailer.experiment)
    paced = paced_out(policy_cache.pacing, policy_cache.budget_day, now, decision_id)
    ctx = DecisionContext.of(request, retailer, arm, now, exposures, policy_cache.exhausted_partners, paced)
    context = learning_context(request, retailer)
    limit = min(request.k, retailer.max_offers)
    refusals: list[tuple[str, str]] | None = [] if _traced(decision_id) else None
    candidates = eligible_candidates(index, ctx, refusals)
    ranking_context = policy_context(context, retailer.retailer_id)
    ranked = rank_candidates(candidates, ranking_context, policy, seed=_draw_seed(decision_id))
    slate = choose_slate(ranked, limit, retailer.slate_layout)
    evaluation: dict[str, Any] = {"logging": "not_sampled"}
    if _sampled(decision_id, "evaluation", get_settings().evaluation_log_share):
        evaluation = evaluation_log(
            candidates, slate, limit, policy, ranking_context, decision_id, arm, retailer.slate_layout
        )
    trace = None
    if refusals is not None:
        trace = DecisionTrace(
            candidates=[
                *(
                    TracedCandidate(
                        offer_id=c.offer.offer_id,
                        relevance=round(c.relevance, 4),
                        survey_boost=round(c.boost, 4),
                        expected_payout_minor=c.payout_minor,
                    )
                    for c in candidates
                ),
                *(TracedCandidate(offer_id=offer_id, refused=reason) for offer_id, reason in refusals),
            ],
            ranked=[offer.offer_id for offer in ranked],
            shown=[offer.offer_id for offer in slate],
        )
    tokens = signer()

    def token(offer_id: str) -> str:
        claims = TrackingClaims(
            retailer.retailer_id, decision_id, offer_id, arm.value, int(now.timestamp()), context
        )
        return tokens.sign(claims)

    survey = retailer.survey if retailer.survey and retailer.survey.key not in request.survey else None
    response = DecisionResponse(
        decision_id=decision_id,
        arm=arm,
        offers=[_offer_view(offer, token(offer.offer_id), now, api_url) for offer in slate],
        created_at=now,
        decision_token=token(""),
        survey=survey,
        satisfaction=retailer.satisfaction,  # asked in every arm: the holdout's is the baseline
    )
    return response, [offer.offer_id for offer in slate], trace, evaluation


def _draw_seed(decision_id: str) -> int:
    """The seed of a decision's Thompson draws: its id's hash, so a decision can be replayed."""
    return int.from_bytes(hashlib.sha256(decision_id.encode()).digest()[:8], "big")


def _traced(decision_id: str) -> bool:
    """Whether this decision keeps a trace: a share TRACE_SAMPLE_RATE of them."""
    return _sampled(decision_id, "", get_settings().trace_sample_rate)


def _sampled(decision_id: str, purpose: str, share: float) -> bool:
    """Whether this decision is in a `share` of decisions for `purpose`, chosen by a hash of its id
    (no randomness to seed, the same answer for the same id; purposes chosen independently)."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{decision_id}:{purpose}".encode() if purpose else decision_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") < share * 2**32


def explain(stores: Stores, retailer: Retailer, request: DecisionRequest) -> dict[str, Any]:
    """Why each candidate would or would not show for this transaction. Records nothing."""
    customer_hash = customer_hash_of(retailer, request)
    state = stores.decisions.read_state(retailer.retailer_id, customer_hash)
    index = catalog_cache.refresh_to(stores.catalog, state.catalog_version)
    arm = assign_arm(retailer.salt, customer_hash, retailer.experiment)
    policy_cache.get(stores.learning, index, state.model)  # partner budgets as last published
    now = datetime.now(UTC)
    paced = paced_out(policy_cache.pacing, policy_cache.budget_day, now, "explain")  # as one decision
    ctx = DecisionContext.of(
        request, retailer, arm, now, state.exposures, policy_cache.exhausted_partners, paced
    )
    return {
        "arm": arm.value,
        "slate_layout": retailer.slate_layout,
        "candidates": explain_candidates(index, ctx),
    }
