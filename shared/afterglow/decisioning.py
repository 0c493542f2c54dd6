"""The decision pipeline's pure stages: arm assignment, eligibility, scoring and the slate.

TODO(issue 5): every eligibility rule of DESIGN.md with named reasons, Thompson sampling over
learned posteriors, survey rules. The skeleton ranks by relevance prior × expected payout.
"""

import hashlib
from dataclasses import dataclass

from afterglow.models import Arm, DecisionRequest, ExperimentSplit, FixedPayout, Offer, Retailer
from afterglow.money import percent_of
from afterglow.taxonomy import relevance

ARM_ORDER = (Arm.HOLDOUT, Arm.FIRST_PARTY_ONLY, Arm.PARTNER_ONLY, Arm.MIXED)


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
    """What one conversion of this offer is worth, in minor units (best paying action)."""
    if isinstance(offer.payout, FixedPayout):
        return max(offer.payout.amounts.values())
    # Percentage payouts: assume the partner's basket is about the price shown, else the order's value.
    basis = offer.creative.price_minor or order_value_minor
    return percent_of(basis, offer.payout.bps)


@dataclass(frozen=True)
class ScoredOffer:
    offer: Offer
    relevance: float
    score: float


def score_offers(request: DecisionRequest, candidates: list[Offer]) -> list[ScoredOffer]:
    """Relevance prior to the basket (best matching line item) times expected payout."""
    purchased = {item.category for item in request.line_items}
    bought_skus = {item.sku for item in request.line_items}
    scored = []
    for offer in candidates:
        if offer.offer_id in bought_skus:  # never offer what was just bought
            continue
        prior = max(relevance(category, offer.category) for category in purchased)
        scored.append(ScoredOffer(offer, prior, prior * expected_payout(offer, request.order_value_minor)))
    return scored


def choose_slate(retailer: Retailer, arm: Arm, scored: list[ScoredOffer], k: int) -> list[Offer]:
    """Best offers first, at most one per partner, none below the retailer's minimum relevance."""
    if arm is Arm.HOLDOUT:
        return []
    allowed_kinds = {
        Arm.FIRST_PARTY_ONLY: {"first_party"},
        Arm.PARTNER_ONLY: {"partner"},
        Arm.MIXED: {"partner", "first_party"},
    }[arm]
    slate: list[Offer] = []
    partners: set[str] = set()
    limit = min(k, retailer.max_offers)
    for candidate in sorted(scored, key=lambda s: (-s.score, s.offer.offer_id)):
        offer = candidate.offer
        if len(slate) == limit:
            break
        if offer.kind not in allowed_kinds or candidate.relevance < retailer.min_relevance:
            continue
        if offer.partner_id in partners:
            continue
        partners.add(offer.partner_id)
        slate.append(offer)
    return slate
