"""Eligibility rules: each a small pure function that says why an offer may not be shown.

A rule returns None when the offer passes, else a stable reason code. `ELIGIBILITY_RULES` is the
order they run in; explain mode reports every verdict, the hot path stops at the first refusal.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from afterglow.models import Arm, DecisionRequest, Offer, Retailer

Reason = str | None


@dataclass(frozen=True)
class DecisionContext:
    """Everything the rules may look at for one transaction."""

    request: DecisionRequest
    retailer: Retailer
    arm: Arm
    now: datetime
    purchased_categories: frozenset[str]
    purchased_skus: frozenset[str]
    offers_seen_by_customer: Mapping[str, int] = field(default_factory=dict)
    exhausted_partners: frozenset[str] = frozenset()
    paced_partners: frozenset[str] = frozenset()  # ahead of their daily pace, left out this time

    @classmethod
    def of(
        cls,
        request: DecisionRequest,
        retailer: Retailer,
        arm: Arm,
        now: datetime,
        offers_seen_by_customer: Mapping[str, int] | None = None,
        exhausted_partners: frozenset[str] = frozenset(),
        paced_partners: frozenset[str] = frozenset(),
    ) -> "DecisionContext":
        return cls(
            request=request,
            retailer=retailer,
            arm=arm,
            now=now,
            purchased_categories=frozenset(item.category for item in request.line_items),
            purchased_skus=frozenset(item.sku.strip().lower() for item in request.line_items),
            offers_seen_by_customer=offers_seen_by_customer or {},
            exhausted_partners=exhausted_partners,
            paced_partners=paced_partners,
        )

    @property
    def is_gift(self) -> bool:
        return self.request.survey.get("is_gift") is True


def own_first_party_only(offer: Offer, ctx: DecisionContext) -> Reason:
    """A retailer's own products are offered on its own pages only, never on another tenant's."""
    if offer.kind == "first_party" and offer.partner_id != ctx.retailer.retailer_id:
        return "first_party_of_another_retailer"
    return None


def arm_allows_kind(offer: Offer, ctx: DecisionContext) -> Reason:
    """The experiment arm decides which kinds of offer may show at all."""
    allowed = {
        Arm.HOLDOUT: set(),
        Arm.FIRST_PARTY_ONLY: {"first_party"},
        Arm.PARTNER_ONLY: {"partner"},
        Arm.MIXED: {"partner", "first_party"},
    }[ctx.arm]
    return None if offer.kind in allowed else f"arm_{ctx.arm.value}_excludes_{offer.kind}"


def retailer_category_rules(offer: Offer, ctx: DecisionContext) -> Reason:
    rules = ctx.retailer.rules
    if offer.category in rules.blocked_categories:
        return "category_blocked_by_retailer"
    if rules.allowed_categories and offer.category not in rules.allowed_categories:
        return "category_not_allowed_by_retailer"
    return None


def category_suppression(offer: Offer, ctx: DecisionContext) -> Reason:
    """A fashion shop keeps apparel to itself: partner offers in these categories never show."""
    if offer.kind == "partner" and offer.category in ctx.retailer.rules.partner_blocked_categories:
        return "category_reserved_for_first_party"
    return None


def retailer_partner_rules(offer: Offer, ctx: DecisionContext) -> Reason:
    if offer.kind != "partner":
        return None
    rules = ctx.retailer.rules
    if offer.partner_id in rules.blocked_partners:
        return "partner_blocked_by_retailer"
    if rules.allowed_partners and offer.partner_id not in rules.allowed_partners:
        return "partner_not_allowed_by_retailer"
    return None


def audit_suppression(offer: Offer, ctx: DecisionContext) -> Reason:
    """A reviewer marked this offer irrelevant after purchases in one of these categories."""
    for suppression in ctx.retailer.rules.audit_suppressions:
        if (
            suppression.offer_id == offer.offer_id
            and suppression.purchase_category in ctx.purchased_categories
        ):
            return "suppressed_by_relevance_audit"
    return None


def targeting_country(offer: Offer, ctx: DecisionContext) -> Reason:
    countries = offer.targeting.countries
    if countries and ctx.request.customer.country not in countries:
        return "targeting_country"
    return None


def targeting_order_value(offer: Offer, ctx: DecisionContext) -> Reason:
    value, targeting = ctx.request.order_value_minor, offer.targeting
    if targeting.min_order_minor is not None and value < targeting.min_order_minor:
        return "targeting_order_value_too_low"
    if targeting.max_order_minor is not None and value > targeting.max_order_minor:
        return "targeting_order_value_too_high"
    return None


def targeting_purchase_category(offer: Offer, ctx: DecisionContext) -> Reason:
    wanted = offer.targeting.purchase_categories
    if wanted and not ctx.purchased_categories.intersection(wanted):
        return "targeting_purchase_category"
    return None


def targeting_device(offer: Offer, ctx: DecisionContext) -> Reason:
    devices = offer.targeting.devices
    if devices and ctx.request.device not in devices:
        return "targeting_device"
    return None


def schedule(offer: Offer, ctx: DecisionContext) -> Reason:
    if offer.targeting.starts_at and ctx.now < offer.targeting.starts_at:
        return "not_started"
    if offer.targeting.ends_at and ctx.now >= offer.targeting.ends_at:
        return "ended"
    return None


def partner_budget(offer: Offer, ctx: DecisionContext) -> Reason:
    return "partner_budget_exhausted" if offer.partner_id in ctx.exhausted_partners else None


def partner_pacing(offer: Offer, ctx: DecisionContext) -> Reason:
    """A partner ahead of its daily pace sits out some decisions (`afterglow.pacing`)."""
    return "partner_ahead_of_pace" if offer.partner_id in ctx.paced_partners else None


def frequency_cap(offer: Offer, ctx: DecisionContext) -> Reason:
    """Keyed on the hashed customer id/e-mail, never on a cookie."""
    if (
        offer.frequency_cap is not None
        and ctx.offers_seen_by_customer.get(offer.offer_id, 0) >= offer.frequency_cap
    ):
        return "frequency_cap_reached"
    return None


def not_already_bought(offer: Offer, ctx: DecisionContext) -> Reason:
    """Never offer the very thing just bought (its SKU, or an offer id equal to a bought SKU)."""
    bought = ctx.purchased_skus
    if offer.offer_id.lower() in bought or (offer.sku and offer.sku.strip().lower() in bought):
        return "already_bought"
    return None


def price_anchoring(offer: Offer, ctx: DecisionContext) -> Reason:
    """An add-on must cost well below what was just spent, or it reads as a second checkout."""
    price = offer.creative.price_minor
    limit = ctx.request.order_value_minor * ctx.retailer.rules.addon_price_max_pct // 100
    return "price_above_anchor" if price is not None and price > limit else None


def gift_suppresses_refills(offer: Offer, ctx: DecisionContext) -> Reason:
    """A gift's buyer will not use the refill or subscription: do not offer it to them."""
    if ctx.is_gift and offer.kind == "first_party" and {"refill", "subscription"} & set(offer.tags):
        return "gift_suppresses_refills"
    return None


Rule = Callable[[Offer, DecisionContext], Reason]

ELIGIBILITY_RULES: tuple[Rule, ...] = (
    own_first_party_only,
    arm_allows_kind,
    retailer_category_rules,
    category_suppression,
    retailer_partner_rules,
    audit_suppression,
    targeting_country,
    targeting_order_value,
    targeting_purchase_category,
    targeting_device,
    schedule,
    partner_budget,
    partner_pacing,
    frequency_cap,
    not_already_bought,
    price_anchoring,
    gift_suppresses_refills,
)


def first_refusal(offer: Offer, ctx: DecisionContext) -> Reason:
    """The first rule that refuses the offer, or None when it is eligible (the hot path)."""
    for rule in ELIGIBILITY_RULES:
        reason = rule(offer, ctx)
        if reason is not None:
            return reason
    return None


def all_verdicts(offer: Offer, ctx: DecisionContext) -> dict[str, Reason]:
    """Every rule's verdict for one offer (explain mode)."""
    return {rule.__name__: rule(offer, ctx) for rule in ELIGIBILITY_RULES}
