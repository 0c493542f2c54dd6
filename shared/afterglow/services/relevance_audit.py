"""A relevance audit you can read: thirty realistic orders, the slate each would get from a catalog,
and why (relevance, what the offer complements, the rules that kept others out). Pure.

`afterglow audit --sample` prints it for the current catalog (or a catalog file); a test runs it on
the generated 4,600-partner catalog and checks `misfits` finds none of the obvious failures: pet
insurance after a bicycle (unless the customer's context names pets), gadget insurance after a
tent, a partner's refill or subscription on a gift order, the very product type just bought.
`misfits` reads offer titles, not the fields the rules use, so it checks the rules rather than
repeating them. Nothing here reads or writes a store: callers hand in the catalog (and a policy).
"""

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from afterglow.catalog import CatalogIndex
from afterglow.decisioning import Candidate, choose_slate, eligible_candidates
from afterglow.feedback import policy_context
from afterglow.learning import HierarchicalThompson
from afterglow.models import (
    Arm,
    DecisionRequest,
    ExperimentSplit,
    FixedPayout,
    Offer,
    OfferCreate,
    Partner,
    Retailer,
)
from afterglow.rules import DecisionContext, is_giftable, is_refill_or_subscription, offer_product_type
from afterglow.services.decisions import learning_context
from afterglow.services.ranking import rank_candidates

SLATE_SIZE: Final = 3
# Rule verdicts about relevance (as opposed to targeting, budgets, …): the ones an audit shows.
RELEVANCE_REASONS: Final = frozenset(
    {
        "already_bought",
        "already_bought_product_type",
        "complements_nothing_bought",
        "gift_suppresses_refills",
        "refill_is_for_followups",
        "accessory_is_for_confirmation",
        "below_min_relevance",
        "suppressed_by_relevance_audit",
    }
)
GADGET_CATEGORIES: Final = frozenset({"electronics", "mobile", "computing", "audio", "gaming"})


@dataclass(frozen=True)
class SampleOrder:
    """A realistic order: (title, category, price in minor units) per item, and who bought it."""

    items: tuple[tuple[str, str, int], ...]
    country: str = "DE"
    segment: str | None = None
    gift: bool | None = None
    goal: str | None = None  # a survey answer naming a category ("what is it for?")

    def request(self, number: int, currency: str) -> DecisionRequest:
        """The decision request the shop's confirmation page would send."""
        survey: dict[str, bool | str] = {}
        if self.gift is not None:
            survey["is_gift"] = self.gift
        if self.goal is not None:
            survey["goal"] = self.goal
        return DecisionRequest.model_validate(
            {
                "order_id": f"audit-{number:02d}",
                "order_value_minor": sum(price for _, _, price in self.items),
                "currency": currency,
                "line_items": [
                    {
                        "sku": f"AUDIT-{number:02d}-{n}",
                        "title": title,
                        "category": category,
                        "price_minor": price,
                    }
                    for n, (title, category, price) in enumerate(self.items, start=1)
                ],
                "customer": {
                    "id": f"audit-customer-{number}",
                    "country": self.country,
                    "segment": self.segment,
                },
                "survey": survey,
                "device": "mobile",
            }
        )


S = SampleOrder
# fmt: off
SAMPLE_ORDERS: Final[tuple[SampleOrder, ...]] = (
    S((("Gazelle Medeo city bike", "cycling", 89_900),), segment="returning"),
    S((("Gravel bike Grail CF 7", "cycling", 249_900), ("Bike lights set", "cycling", 4_900)), country="NL"),
    S((("Kids' bike 20 inch", "cycling", 32_900),), gift=True, country="FR"),
    S((("E-Bike Cargo Family", "cycling", 379_900),), goal="pets", segment="vip"),
    S((("Trailhead 2-person tent", "camping", 24_900), ("Down sleeping bag", "camping", 18_900))),
    S((("Ultralight tent 1P", "camping", 39_900),), gift=True, country="AT"),
    S((("Backpacking stove", "camping", 5_900), ("Sleeping pad", "camping", 7_900)), country="GB"),
    S((("Ethiopia Yirgacheffe coffee beans 1 kg", "coffee", 2_890),), segment="returning"),
    S((("Barista Duo espresso machine", "kitchen", 64_900),)),
    S((("Burr grinder Pro", "kitchen", 14_900), ("Espresso blend 500 g", "coffee", 1_490)), gift=False),
    S((("Quiet Comfort headphones", "audio", 29_900),), country="IE"),
    S((("Bluetooth speaker Boom 3", "audio", 12_900),), gift=True),
    S((("Smartphone X 128 GB", "mobile", 79_900),), segment="new"),
    S((("Laptop Air 13", "computing", 119_900),), country="US"),
    S((("Game console Series S", "gaming", 29_900),), gift=True, country="GB"),
    S((("Stride Pro road running shoes", "running", 13_900), ("Merino running socks", "apparel", 1_900))),
    S((("Yoga mat 6 mm", "fitness", 3_900),), segment="new"),
    S((("Grain-free dog food 12 kg", "pets", 5_490),), segment="returning"),
    S((("Clumping cat litter 10 l", "pets", 1_290), ("Cat food, 24 pouches", "pets", 1_890)), country="NL"),
    S((("Nappies size 3, 96 pack", "baby", 3_490),)),
    S((("Pram Urban 3-in-1", "baby", 69_900),), gift=True),
    S((("Board game: Harbour Lights", "toys", 3_990),), gift=True),
    S((("Crime novel, paperback", "books", 1_299), ("Cookbook: One Pan", "books", 2_499))),
    S((("Kindle Paperwhite", "books", 14_999),), gift=True, country="FR"),
    S((("Cabin suitcase 55 cm", "travel", 17_900),), country="ES"),
    S((("Three-seater sofa Linden", "home", 89_900),)),
    S((("Hydrating face serum", "beauty", 3_400),), gift=True, segment="vip"),
    S((("Electric toothbrush", "personal_care", 8_900),)),
    S((("Chef's knife 20 cm", "kitchen", 12_900),), country="IT"),
    S((("Rain jacket Storm", "apparel", 14_900), ("Hiking boots Ridge", "footwear", 17_900)), country="CH"),
)
# fmt: on


@dataclass(frozen=True)
class ShownOffer:
    """One offer on an audited slate, with the parts of its score."""

    offer: Offer
    relevance: float
    survey_boost: float
    payout_minor: int


@dataclass
class AuditedOrder:
    """An order, the slate it gets, and why the others did not make it."""

    number: int
    order: SampleOrder
    context: DecisionContext
    shown: list[ShownOffer]
    eligible: list[Offer] = field(default_factory=list)  # every candidate the slate was ranked from
    refusals: Counter[str] = field(default_factory=Counter)
    notable_refusals: list[tuple[Offer, str]] = field(default_factory=list)


def audit_retailer(currency: str = "EUR") -> Retailer:
    """The platform's view: a shop with default rules that allows every partner, no holdout."""
    return Retailer(
        retailer_id="ret_audit",
        name="Relevance audit",
        currency=currency,
        revenue_share_bps=5_000,
        allowed_origins=[],
        max_offers=SLATE_SIZE,
        min_relevance=0.0,
        experiment=ExperimentSplit(holdout=0, mixed=100),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def audit_sample(
    index: CatalogIndex,
    retailer: Retailer | None = None,
    *,
    orders: Iterable[SampleOrder] = SAMPLE_ORDERS,
    policy: HierarchicalThompson | None = None,
    now: datetime | None = None,
) -> list[AuditedOrder]:
    """Each sample order's slate from this catalog, as the mixed arm would get it (ranked by the
    catalog prior, or by `policy` with a seed per order, so the audit reproduces)."""
    retailer = retailer or audit_retailer()
    now = now or datetime.now(UTC)
    audited = []
    for number, order in enumerate(orders, start=1):
        ctx = DecisionContext.of(order.request(number, retailer.currency), retailer, Arm.MIXED, now)
        refusals: list[tuple[str, str]] = []
        candidates = eligible_candidates(index, ctx, refusals)
        by_id: Mapping[str, Candidate] = {c.offer.offer_id: c for c in candidates}
        context = policy_context(learning_context(ctx.request, retailer), retailer.retailer_id)
        ranked = rank_candidates(candidates, context, policy, seed=number)
        slate = choose_slate(ranked, retailer.max_offers, retailer.slate_layout)
        shown = [
            ShownOffer(
                offer,
                by_id[offer.offer_id].relevance,
                by_id[offer.offer_id].boost,
                by_id[offer.offer_id].payout_minor,
            )
            for offer in slate
        ]
        notable = [
            (index.offers[offer_id], reason) for offer_id, reason in refusals if reason in RELEVANCE_REASONS
        ]
        eligible = [c.offer for c in candidates]
        reasons = Counter(reason for _, reason in refusals)
        audited.append(AuditedOrder(number, order, ctx, shown, eligible, reasons, notable))
    return audited


# --- the obvious misfits, read from titles ------------------------------------------------------

_PET_WORDS: Final = re.compile(r"\b(pet|pets|dog|dogs|cat|cats|puppy|kitten|vet)\b", re.IGNORECASE)
_GADGET_WORDS: Final = re.compile(r"\b(gadget|phone|laptop|device|warranty|screen)\b", re.IGNORECASE)
_INSURANCE_WORDS: Final = re.compile(r"\b(insurance|insure|cover|warranty|protection)\b", re.IGNORECASE)


def _text(offer: Offer) -> str:
    return f"{offer.creative.title} {offer.creative.body}"


def misfits(audited: Iterable[AuditedOrder], *, among_eligible: bool = False) -> list[str]:
    """The obvious failures on the audited slates (or, `among_eligible`, among every offer a slate
    could have been ranked from: a learning policy may put any of them first), one line each."""
    found = []
    for item in audited:
        ctx = item.context
        for offer in item.eligible if among_eligible else [shown.offer for shown in item.shown]:
            text = _text(offer)
            where = f"order {item.number} ({', '.join(t for t, _, _ in item.order.items)})"
            insurance = offer.category == "insurance" or bool(_INSURANCE_WORDS.search(text))
            if insurance and _PET_WORDS.search(text) and "pets" not in ctx.context_categories:
                found.append(f"{where}: pet insurance {offer.offer_id} without pets in the context")
            if insurance and _GADGET_WORDS.search(text) and not GADGET_CATEGORIES & ctx.context_categories:
                found.append(f"{where}: gadget insurance {offer.offer_id} after no gadget")
            if (
                ctx.is_gift
                and offer.kind == "partner"
                and is_refill_or_subscription(offer)
                and not is_giftable(offer)
            ):
                found.append(f"{where}: partner refill or subscription {offer.offer_id} on a gift order")
            if offer_product_type(offer) in ctx.purchased_types:
                found.append(f"{where}: {offer.offer_id} is the product type just bought")
    return found


# --- reading it ---------------------------------------------------------------------------------


def _money(minor: int) -> str:
    return f"{minor // 100:,}.{minor % 100:02d}"


def _why(shown: ShownOffer, ctx: DecisionContext) -> str:
    offer = shown.offer
    parts = [f"relevance {shown.relevance:.2f}"]
    complements = offer.complements
    if complements is not None:
        met = sorted(ctx.purchased_types.intersection(complements.product_types)) or sorted(
            ctx.context_categories.intersection(complements.categories)
        )
        parts.append(f"complements {', '.join(met)}" if met else "complements nothing bought")
    if shown.survey_boost != 1.0:
        parts.append(f"survey ×{shown.survey_boost:g}")
    payout = offer.payout
    currency = payout.currency if isinstance(payout, FixedPayout) else ctx.request.currency
    parts.append(f"expected payout {_money(shown.payout_minor)} {currency}")
    return "; ".join(parts)


def render(audited: list[AuditedOrder]) -> str:
    """The audit as text: per order what was bought, the slate and why, then the misfits."""
    lines = []
    for item in audited:
        ctx, order = item.context, item.order
        bought = "; ".join(f"{title} ({category})" for title, category, _ in order.items)
        types = ", ".join(sorted(ctx.purchased_types)) or "no known type"
        gift = {True: "gift", False: "not a gift", None: "gift not asked"}[order.gift]
        who = ", ".join(
            part
            for part in (
                order.country,
                f"segment {order.segment}" if order.segment else "",
                gift,
                f"goal {order.goal}" if order.goal else "",
            )
            if part
        )
        value = _money(ctx.request.order_value_minor)
        lines.append(f"{item.number:2d}. {bought} — {types} · {value} {ctx.request.currency} · {who}")
        if not item.shown:
            lines.append("    shown: nothing (no eligible offer)")
        for n, shown in enumerate(item.shown, start=1):
            offer = shown.offer
            kind = offer.offer_type or offer.kind
            lines.append(f"    {n}. {offer.creative.title} [{offer.category} · {kind}] {offer.offer_id}")
            lines.append(f"       why: {_why(shown, ctx)}")
        seen: set[str] = set()
        for offer, reason in item.notable_refusals:
            if reason in seen:
                continue
            seen.add(reason)
            lines.append(f"    not shown: {offer.creative.title} [{offer.category}] — {reason}")
        if item.refusals:
            counts = ", ".join(f"{reason} {n}" for reason, n in item.refusals.most_common(5))
            lines.append(f"    refused while scanning: {counts}")
    found = misfits(audited)
    lines.append("")
    lines.append(f"obvious misfits: {len(found)}" + ("" if found else " (none)"))
    lines.extend(f"  - {line}" for line in found)
    return "\n".join(lines)


# --- a catalog file as an index -----------------------------------------------------------------


def index_from_catalog_lines(lines: Iterable[str], retailer: Retailer | None = None) -> CatalogIndex:
    """The in-memory catalog of a catalog JSONL file (`afterglow catalog generate`'s format),
    partners first; offers take their partner's default windows, as an import gives them."""
    now = datetime.now(UTC)
    partners: dict[str, Partner] = {}
    offers: list[Offer] = []
    for line in lines:
        if not line.strip():
            continue
        record: dict[str, Any] = json.loads(line)
        kind = record.pop("type")
        if kind == "partner":
            partner_id = record.pop("partner_id")
            partners[partner_id] = Partner(partner_id=partner_id, created_at=now, **record)
            continue
        offer_id = record.pop("offer_id")
        fields = OfferCreate.model_validate(record).model_dump(mode="json")
        owner = partners[fields["partner_id"]]
        fields["attribution_window_days"] = (
            fields["attribution_window_days"] or owner.default_attribution_window_days
        )
        if fields["lock_days"] is None:
            fields["lock_days"] = owner.default_lock_days
        offers.append(Offer(offer_id=offer_id, created_at=now, **fields))
    return CatalogIndex.build(offers, list(partners.values()), [retailer or audit_retailer()])
