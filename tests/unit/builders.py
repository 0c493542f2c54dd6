"""Small builders of domain models for the unit tests: valid by default, one override away from a case."""

from datetime import UTC, datetime
from typing import Any

from afterglow.catalog import CatalogIndex
from afterglow.decisioning import choose_slate, eligible_candidates
from afterglow.models import (
    Arm,
    Creative,
    DecisionRequest,
    ExperimentSplit,
    FixedPayout,
    Offer,
    Partner,
    Payout,
    Retailer,
    RetailerRules,
)
from afterglow.rules import DecisionContext
from afterglow.services.ranking import rank_candidates

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
RETAILER_ID = "ret_1"


def make_offer(
    offer_id: str = "off_1",
    *,
    partner_id: str = "par_1",
    category: str = "coffee",
    kind: str = "partner",
    signup_payout: int = 700,
    payout: Payout | None = None,
    price_minor: int | None = None,
    **fields: Any,
) -> Offer:
    return Offer(
        offer_id=offer_id,
        partner_id=partner_id,
        kind=kind,
        category=category,
        creative=Creative(title=f"Offer {offer_id}", price_minor=price_minor),
        landing_url="https://partner.example/welcome",
        payout=payout or FixedPayout(currency="EUR", amounts={"signup": signup_payout}),
        attribution_window_days=30,
        lock_days=30,
        created_at=NOW,
        **fields,
    )


def make_first_party_offer(offer_id: str = "own_1", *, category: str = "coffee", **fields: Any) -> Offer:
    """A retailer's own product: its `partner_id` is the retailer's id."""
    return make_offer(
        offer_id, partner_id=RETAILER_ID, kind="first_party", category=category, price_minor=900, **fields
    )


def make_partner(partner_id: str = "par_1", *, status: str = "active") -> Partner:
    return Partner(
        partner_id=partner_id,
        name=f"Partner {partner_id}",
        status=status,
        default_attribution_window_days=30,
        default_lock_days=30,
        created_at=NOW,
    )


def make_retailer(
    *,
    max_offers: int = 3,
    min_relevance: float = 0.0,
    experiment: ExperimentSplit | None = None,
    rules: RetailerRules | None = None,
    slate_layout: str = "ranked",
) -> Retailer:
    return Retailer(
        retailer_id=RETAILER_ID,
        name="Shop",
        currency="EUR",
        revenue_share_bps=5_000,
        allowed_origins=["https://shop.example"],
        max_offers=max_offers,
        min_relevance=min_relevance,
        experiment=experiment or ExperimentSplit(holdout=0, mixed=100),
        rules=rules or RetailerRules(),
        slate_layout=slate_layout,
        salt="salt-1",
        created_at=NOW,
    )


def make_request(
    *,
    categories: tuple[str, ...] = ("kitchen",),
    skus: tuple[str, ...] | None = None,
    titles: tuple[str, ...] | None = None,
    k: int = 3,
    **fields: Any,
) -> DecisionRequest:
    """An order of one line item per category (SKUs default to SKU-0, SKU-1, …; titles to none)."""
    skus = skus or tuple(f"SKU-{n}" for n in range(len(categories)))
    titles = titles or (None,) * len(categories)
    return DecisionRequest(
        order_id="o-1",
        order_value_minor=20_000,
        currency="EUR",
        line_items=[
            {"sku": sku, "category": category, "price_minor": 1_000, "title": title}
            for sku, category, title in zip(skus, categories, titles, strict=True)
        ],
        **{"customer": {"id": "c-1", "country": "DE"}, "device": "mobile", "k": k, **fields},
    )


def index_of(*offers: Offer) -> CatalogIndex:
    partners = [make_partner(p) for p in {o.partner_id for o in offers if o.kind == "partner"}]
    return CatalogIndex.build(offers, partners)


def context(
    request: DecisionRequest | None = None, *, retailer: Retailer | None = None, arm: Arm = Arm.MIXED
) -> DecisionContext:
    return DecisionContext.of(request or make_request(), retailer or make_retailer(), arm, NOW)


def slate_for(index: CatalogIndex, ctx: DecisionContext, limit: int = 3) -> list[Offer]:
    """Eligibility, ranking and slate, as the decide use case chains them."""
    ranked = rank_candidates(eligible_candidates(index, ctx), {}, None)
    return choose_slate(ranked, limit, ctx.retailer.slate_layout)
