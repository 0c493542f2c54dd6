"""The decision pipeline's pure stages: arm assignment, eligibility, relevance, and the slate."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Protocol, TypeVar

from afterglow.catalog import CatalogIndex
from afterglow.models import Arm, ExperimentSplit, FixedPayout, Offer
from afterglow.models.fields import TIERS
from afterglow.money import percent_of
from afterglow.rules import (
    DecisionContext,
    all_verdicts,
    complements_match,
    first_refusal,
    own_first_party_only,
)
from afterglow.taxonomy import CATEGORIES, relevance

ARM_ORDER = (Arm.HOLDOUT, Arm.FIRST_PARTY_ONLY, Arm.PARTNER_ONLY, Arm.MIXED)
GIFT_CATEGORIES = frozenset({"gifts", "flowers", "charity"})
SURVEY_BOOST = 1.5


def assign_arm(salt: str, subject: str, split: ExperimentSplit) -> Arm:
    """Deterministic experiment arm: the same customer of the same retailer always lands in one arm."""
    bucket = int.from_bytes(hashlib.sha256(f"{salt}:arm:{subject}".encode()).digest()[:8], "big") % 100
    threshold = 0
    for arm in ARM_ORDER:
        threshold += getattr(split, arm.value)
        if bucket < threshold:
            return arm
    return Arm.MIXED  # unreachable while the split sums to 100


def expected_payout(offer: Offer, order_value_minor: int) -> int:
    """What one conversion of this offer is worth, in minor units (its best paying action)."""
    if offer.kind == "first_party":
        return offer.creative.price_minor or 0  # own-brand revenue of an add-to-order
    if isinstance(offer.payout, FixedPayout):
        return max(offer.payout.amounts.values())
    # Percentage payouts: assume the partner's basket is about the price shown, else the order's value.
    basis = offer.creative.price_minor or order_value_minor
    return percent_of(basis, offer.payout.bps)


GIFT_RELEVANCE = 0.6  # a gift buyer is open to gift services whatever the gift was


def candidate_categories(index: CatalogIndex, ctx: DecisionContext) -> list[str]:
    """Categories to draw offers from: bought, related, and gift services when it is a gift."""
    categories = index.categories_for(set(ctx.purchased_categories))
    if ctx.is_gift:
        categories += sorted(GIFT_CATEGORIES.difference(categories))
    return categories


def category_relevance(category: str, ctx: DecisionContext) -> float:
    """Relevance of an offer category to this basket (0..1), gift services included for gifts."""
    score = max(relevance(purchased, category) for purchased in ctx.purchased_categories)
    if ctx.is_gift and category in GIFT_CATEGORIES:
        score = max(score, GIFT_RELEVANCE)
    return score


def survey_boost(offer: Offer, ctx: DecisionContext) -> float:
    """Micro-survey answers re-weight categories: gifts favour gift services; a goal its category."""
    boost = 1.0
    if ctx.is_gift and (offer.category in GIFT_CATEGORIES or "gift" in offer.tags):
        boost *= SURVEY_BOOST
    goal = ctx.request.survey.get("goal")
    if isinstance(goal, str) and goal in CATEGORIES and relevance(goal, offer.category) > 0:
        boost *= SURVEY_BOOST
    return boost


# Relevance of an offer by what it declares it complements (`Offer.complements`): the very product
# type bought beats its category; an offer that declares what it goes with and meets none of it is
# worth less than its category suggests (the attached kinds are refused outright by the rules).
COMPLEMENTS_TYPE_RELEVANCE = 1.0
COMPLEMENTS_CATEGORY_RELEVANCE = 0.9
COMPLEMENTS_UNMET_FACTOR = 0.5


def offer_relevance(offer: Offer, ctx: DecisionContext, category_score: float) -> float:
    """Relevance of one offer (0..1): its category's (`category_score`), moved by its complements."""
    if offer.complements is None:
        return category_score
    match = complements_match(offer, ctx)
    if match == "product_type":
        return COMPLEMENTS_TYPE_RELEVANCE
    if match == "category":
        return max(category_score, COMPLEMENTS_CATEGORY_RELEVANCE)
    return category_score * COMPLEMENTS_UNMET_FACTOR


def relevance_to_basket(offer: Offer, ctx: DecisionContext) -> float:
    """Catalog relevance of the offer to this basket (0..1): its category's relation to the best
    matching purchased category, moved by what the offer declares it complements."""
    return offer_relevance(offer, ctx, category_relevance(offer.category, ctx))


@dataclass(frozen=True)
class Candidate:
    """An offer that passed every rule, with the parts of its prior score."""

    offer: Offer
    relevance: float
    boost: float
    payout_minor: int

    @property
    def prior_score(self) -> float:
        return self.relevance * self.boost * self.payout_minor


ELIGIBLE_PER_CATEGORY = 8  # enough choice for ranking and diversity; the rest are worse paid
COMPLEMENTING_SCANNED = 32  # offers looked at per thing bought, found by what they complement


def eligible_candidates(
    index: CatalogIndex, ctx: DecisionContext, refusals: list[tuple[str, str]] | None = None
) -> list[Candidate]:
    """Candidates that pass every rule and the retailer's minimum relevance; with `refusals`,
    every offer scanned and refused is appended to it as (offer id, reason) (a decision trace).

    Each category's offers are scanned best paying first and the scan stops after
    `ELIGIBLE_PER_CATEGORY` eligible ones: a 20,000-offer catalog costs a few dozen rule checks,
    while an offer refused by a rule never hides the ones behind it. A retailer that allows only
    some partners has only their offers (and its own) scanned: every other offer would be refused
    by the partner rules, and a large catalog has thousands of them in each category (a trace would
    list them all; explain mode still gives every offer's verdicts).
    """
    owners = _allowed_owners(ctx)
    candidates: list[Candidate] = []
    scanned: set[str] = set()
    for category in candidate_categories(index, ctx):
        score = category_relevance(category, ctx)
        if score < ctx.retailer.min_relevance or score == 0.0:
            continue
        scanned.add(category)
        _scan(index.by_category.get(category, ()), ctx, owners, candidates, refusals, score)
    # Offers filed under a category the order does not reach, found by what they complement (a
    # bounded look: a popular product type is complemented by hundreds of offers, most targeted
    # elsewhere).
    for offers in index.complementing_offers(ctx.context_categories, ctx.purchased_types, skip=scanned):
        _scan(islice(offers, COMPLEMENTING_SCANNED), ctx, owners, candidates, refusals)
    return candidates


def _scan(
    offers: Iterable[Offer],
    ctx: DecisionContext,
    owners: frozenset[str] | None,
    candidates: list[Candidate],
    refusals: list[tuple[str, str]] | None,
    category_score: float | None = None,
) -> None:
    """Append to `candidates` the first `ELIGIBLE_PER_CATEGORY` of `offers` (best paying first)
    that pass every rule and the minimum relevance; the refused ones to `refusals`, if given.
    `category_score`: the relevance of the category all `offers` are in, when they share one."""
    found = 0
    for offer in offers:
        if found == ELIGIBLE_PER_CATEGORY:
            break
        if owners is not None and offer.partner_id not in owners:
            continue
        reason = first_refusal(offer, ctx)
        offer_score = 0.0
        if reason is None:
            score = category_relevance(offer.category, ctx) if category_score is None else category_score
            offer_score = offer_relevance(offer, ctx, score)
        if reason is None and offer_score < ctx.retailer.min_relevance:
            reason = "below_min_relevance"
        if reason is None:
            payout = expected_payout(offer, ctx.request.order_value_minor)
            candidates.append(Candidate(offer, offer_score, survey_boost(offer, ctx), payout))
            found += 1
        elif refusals is not None:
            refusals.append((offer.offer_id, reason))


def _allowed_owners(ctx: DecisionContext) -> frozenset[str] | None:
    """Whose offers can pass the partner rules: the allowed partners and the retailer itself (its
    own brand); None when the retailer allows every partner."""
    allowed = ctx.retailer.rules.allowed_partners
    return frozenset([*allowed, ctx.retailer.retailer_id]) if allowed else None


def explain_candidates(index: CatalogIndex, ctx: DecisionContext) -> list[dict[str, object]]:
    """Every candidate with each rule's verdict and its score parts (explain mode)."""
    rows: list[dict[str, object]] = []
    categories = candidate_categories(index, ctx)
    in_categories = [o for category in categories for o in index.by_category.get(category, ())]
    found_by_complements = [
        offer
        for offers in index.complementing_offers(
            ctx.context_categories, ctx.purchased_types, skip=set(categories)
        )
        for offer in offers
    ]
    for offer in [*in_categories, *found_by_complements]:
        if own_first_party_only(offer, ctx) is not None:
            continue  # another retailer's own brand: not even its existence is shown
        verdicts = all_verdicts(offer, ctx)
        score = relevance_to_basket(offer, ctx)
        if score < ctx.retailer.min_relevance or score == 0.0:
            verdicts["min_relevance"] = "below_min_relevance"
        else:
            verdicts["min_relevance"] = None
        rows.append(
            {
                "offer_id": offer.offer_id,
                "partner_id": offer.partner_id,
                "category": offer.category,
                "eligible": all(reason is None for reason in verdicts.values()),
                "verdicts": verdicts,
                "relevance": score,
                "survey_boost": survey_boost(offer, ctx),
                "expected_payout_minor": expected_payout(offer, ctx.request.order_value_minor),
                "tier": offer.slate_tier,
            }
        )
    return rows


TIER_ORDER = {tier: place for place, tier in enumerate(TIERS)}  # a tiered slate, highest value first


class SlateOffer(Protocol):
    """What the slate rule reads of an offer (an `Offer`, or a logged candidate when evaluating)."""

    @property
    def partner_id(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def slate_tier(self) -> str | None: ...


Shown = TypeVar("Shown", bound=SlateOffer)


def choose_slate(ranked: Iterable[Shown], limit: int, layout: str = "ranked") -> list[Shown]:
    """The offers to show, at most `limit`, at most one per partner.

    `ranked`: best first; a second offer from a category already on the slate is taken only when no
    other category can fill the place (diversity). `tiered`: the best offer of each tier (bundle,
    accessory, low-friction), the best-ranked of them when the slate cannot hold all three; any place
    left is filled as `ranked` would; the slate is then ordered by tier, untiered offers last.
    """
    ranked = list(ranked)
    if layout != "tiered":
        return _fill(ranked, limit, [])
    best_of_tier: dict[str, Shown] = {}
    partners: set[str] = set()
    for offer in ranked:  # best of each tier, each from a partner not already chosen for a tier
        tier = offer.slate_tier
        if tier in TIER_ORDER and tier not in best_of_tier and offer.partner_id not in partners:
            best_of_tier[tier] = offer
            partners.add(offer.partner_id)
    position = {id(offer): i for i, offer in enumerate(ranked)}
    tiered = sorted(best_of_tier.values(), key=lambda offer: position[id(offer)])[:limit]
    slate = _fill(ranked, limit, tiered)
    return sorted(slate, key=lambda offer: (TIER_ORDER.get(offer.slate_tier or "", 3), position[id(offer)]))


def _fill(ranked: list[Shown], limit: int, slate: list[Shown]) -> list[Shown]:
    """`slate` topped up from `ranked` (best first) to `limit`: partners once each, new categories first."""
    slate = list(slate)
    partners = {offer.partner_id for offer in slate}
    for distinct_categories in (True, False):
        for offer in ranked:
            if len(slate) == limit:
                return slate
            if offer.partner_id in partners:  # also skips offers already chosen
                continue
            if distinct_categories and any(chosen.category == offer.category for chosen in slate):
                continue
            partners.add(offer.partner_id)
            slate.append(offer)
    return slate
