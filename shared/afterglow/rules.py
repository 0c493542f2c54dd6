"""Eligibility rules: each a small pure function that says why an offer may not be shown.

A rule returns None when the offer passes, else a stable reason code. `ELIGIBILITY_RULES` is the
order they run in; explain mode reports every verdict, the hot path stops at the first refusal.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from afterglow import warm
from afterglow.models import Arm, DecisionRequest, Offer, Retailer
from afterglow.product_types import CATEGORY_OF, product_type_of
from afterglow.taxonomy import CATEGORIES

Reason = str | None

# Offers that go with something the customer owns: shown only after what they complement.
ATTACHED_OFFER_TYPES = frozenset({"accessory", "insurance", "service", "refill"})
# Offers that are, or renew, a product: never the product type just bought.
SAME_THING_OFFER_TYPES = frozenset({"product", "subscription", "refill"})
# Placements that are not the confirmation page: the follow-up e-mail 24-48 h later.
FOLLOWUP_PLACEMENT_PREFIXES = ("followup", "follow_up", "follow-up", "email")
# Words of an offer title that sells something around a product, not the product itself.
_SERVICE_WORDS = re.compile(
    r"\b(insurance|insure|cover|warranty|service|repair|fitting|hire|rental|class|lesson|club|"
    r"membership|booking|pass|app|plan|analysis)\b",
    re.IGNORECASE,
)


def is_followup_placement(placement: str) -> bool:
    """Whether a placement is a follow-up (an e-mail a day or two later), not the confirmation page."""
    return placement.startswith(FOLLOWUP_PLACEMENT_PREFIXES)


def is_email_placement(placement: str) -> bool:
    """Whether a placement is an e-mail (the confirmation e-mail or a follow-up): its decision
    comes with the slate rendered as an e-mail."""
    return "email" in placement or is_followup_placement(placement)


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
    # What the order says beyond categories: the line items' product types (afterglow.product_types),
    # and the categories the customer's context names (bought, their types', a survey `goal`).
    purchased_types: frozenset[str] = frozenset()
    context_categories: frozenset[str] = frozenset()

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
        categories = frozenset(item.category for item in request.line_items)
        types = frozenset(
            found
            for item in request.line_items
            if (found := product_type_of(item.title, item.sku, item.brand, item.category)) is not None
        )
        goal = request.survey.get("goal")
        named = {goal} if isinstance(goal, str) and goal in CATEGORIES else set()
        return cls(
            request=request,
            retailer=retailer,
            arm=arm,
            now=now,
            purchased_categories=categories,
            purchased_skus=frozenset(item.sku.strip().lower() for item in request.line_items),
            offers_seen_by_customer=offers_seen_by_customer or {},
            exhausted_partners=exhausted_partners,
            paced_partners=paced_partners,
            purchased_types=types,
            context_categories=categories | {CATEGORY_OF[name] for name in types} | named,
        )

    @property
    def is_gift(self) -> bool:
        return self.request.survey.get("is_gift") is True

    @property
    def is_followup(self) -> bool:
        return is_followup_placement(self.request.placement)


def offer_product_type(offer: Offer) -> str | None:
    """What an offer itself is: its declared product type, else the type its title or SKU names
    when that type is of the offer's own category and the offer is a product, refill or
    subscription (a "bike insurance" names a bicycle but is not one)."""
    if offer.product_type is not None:
        return offer.product_type
    if offer.offer_type is not None and offer.offer_type not in SAME_THING_OFFER_TYPES:
        return None
    key = (offer.offer_id, offer.version)
    if key not in _INFERRED_TYPES:
        if len(_INFERRED_TYPES) >= _MAX_INFERRED:
            _INFERRED_TYPES.clear()  # a catalog's worth; a bigger one only re-reads titles
        _INFERRED_TYPES[key] = _read_product_type(offer)
    return _INFERRED_TYPES[key]


# An offer's type read from its title, per offer id and version (a warm decide scans the same
# offers again and again; reading a title takes ~10 µs).
_INFERRED_TYPES: dict[tuple[str, int], str | None] = warm.keep("offer product types", {})
_MAX_INFERRED = 100_000


def _read_product_type(offer: Offer) -> str | None:
    if offer.offer_type is None and _SERVICE_WORDS.search(offer.creative.title):
        return None  # an older offer that names a product but sells cover, a service, a pass …
    found = product_type_of(offer.creative.title, offer.sku, None, offer.category)
    return found if found is not None and CATEGORY_OF[found] == offer.category else None


def complements_match(offer: Offer, ctx: DecisionContext) -> str | None:
    """How an offer's declared complements meet this order: `product_type` (it goes with a type
    just bought), `category` (with a category of the customer's context), else None."""
    complements = offer.complements
    if complements is None:
        return None
    if ctx.purchased_types.intersection(complements.product_types):
        return "product_type"
    if ctx.context_categories.intersection(complements.categories):
        return "category"
    return None


def is_refill_or_subscription(offer: Offer) -> bool:
    """A refill or subscription: by its declared type, else by its tags (older offers)."""
    if offer.offer_type is not None:
        return offer.offer_type in ("refill", "subscription")
    return bool({"refill", "subscription"} & set(offer.tags))


def is_giftable(offer: Offer) -> bool:
    return offer.giftable or "gift" in offer.tags


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


def not_the_product_type_just_bought(offer: Offer, ctx: DecisionContext) -> Reason:
    """Never the product type just bought (a coffee-beans subscription right after coffee beans);
    a refill of it is what a follow-up e-mail is for."""
    if not ctx.purchased_types:
        return None
    if offer.offer_type == "refill" and ctx.is_followup:
        return None
    return "already_bought_product_type" if offer_product_type(offer) in ctx.purchased_types else None


def complements_what_was_bought(offer: Offer, ctx: DecisionContext) -> Reason:
    """An accessory, insurance, service or refill that declares what it goes with shows only after
    it: no pet cover after a bicycle (unless the customer's context names pets), no gadget cover
    after a tent."""
    if offer.complements is None or offer.offer_type not in ATTACHED_OFFER_TYPES:
        return None
    return None if complements_match(offer, ctx) is not None else "complements_nothing_bought"


def offer_fits_placement(offer: Offer, ctx: DecisionContext) -> Reason:
    """Refills are for the follow-up e-mail (the customer has not used anything up yet), accessories
    for the confirmation page (the product is still on their mind)."""
    if offer.offer_type == "refill" and not ctx.is_followup:
        return "refill_is_for_followups"
    if offer.offer_type == "accessory" and ctx.is_followup:
        return "accessory_is_for_confirmation"
    return None


def price_anchoring(offer: Offer, ctx: DecisionContext) -> Reason:
    """An add-on must cost well below what was just spent, or it reads as a second checkout."""
    price = offer.creative.price_minor
    limit = ctx.request.order_value_minor * ctx.retailer.rules.addon_price_max_pct // 100
    return "price_above_anchor" if price is not None and price > limit else None


def gift_suppresses_refills(offer: Offer, ctx: DecisionContext) -> Reason:
    """A gift's buyer will not use the refill or subscription, own-brand or a partner's: do not
    offer it to them, unless it is one to give (`giftable`, or tagged `gift`)."""
    if ctx.is_gift and is_refill_or_subscription(offer) and not is_giftable(offer):
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
    not_the_product_type_just_bought,
    complements_what_was_bought,
    offer_fits_placement,
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
