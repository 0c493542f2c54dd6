"""A small demo catalog: one retailer, a few partners and offers across categories."""

from dataclasses import dataclass

from afterglow.models import (
    Creative,
    ExperimentSplit,
    FixedPayout,
    OfferCreate,
    PartnerCreate,
    PercentPayout,
    RetailerCreate,
)
from afterglow.services import admin
from afterglow.store import CatalogStore


@dataclass(frozen=True)
class DemoCatalog:
    retailer_id: str
    publishable_key: str
    secret_key: str
    partner_secrets: dict[str, str]  # partner name -> whsec_
    partner_ids: dict[str, str]


DEMO_OFFERS = [
    # partner, category, title, body, payout
    (
        "TrailMix Box",
        "meal_kits",
        "Trail meals, delivered",
        "Six dehydrated camp dinners, 30% off your first box.",
        FixedPayout(currency="EUR", amounts={"signup": 400, "first_purchase": 1200}),
    ),
    (
        "Summit Cover",
        "insurance",
        "Insure your new gear",
        "Theft and damage cover from €2.99 a month.",
        FixedPayout(currency="EUR", amounts={"signup": 800, "subscription": 2500}),
    ),
    (
        "Pace Club",
        "fitness",
        "Free month of coached runs",
        "Personal training plans for your new shoes.",
        FixedPayout(currency="EUR", amounts={"signup": 600}),
    ),
    (
        "BeanPost",
        "coffee",
        "Fresh beans every fortnight",
        "Roasted to order. First bag free.",
        PercentPayout(bps=1500, actions=["first_purchase", "subscription"]),
    ),
    (
        "Bloom & Co",
        "flowers",
        "Add flowers to the gift",
        "Hand-tied bouquets, next-day delivery.",
        FixedPayout(currency="EUR", amounts={"first_purchase": 500}),
    ),
]


def seed_demo(catalog: CatalogStore) -> DemoCatalog:
    """Create the demo retailer (no holdout, so every demo order shows offers), partners and offers."""
    created = admin.create_retailer(
        catalog,
        RetailerCreate(
            name="Northwind Outfitters",
            currency="EUR",
            revenue_share_bps=5_000,
            allowed_origins=["https://shop.example"],
            experiment=ExperimentSplit(holdout=0, mixed=100),
        ),
    )
    secrets: dict[str, str] = {}
    partner_ids: dict[str, str] = {}
    for partner_name, category, title, body, payout in DEMO_OFFERS:
        partner = admin.create_partner(catalog, PartnerCreate(name=partner_name))
        secrets[partner_name] = partner.webhook_secret
        partner_ids[partner_name] = partner.partner.partner_id
        slug = partner_name.lower().replace(" ", "-").replace("&", "and")
        admin.create_offer(
            catalog,
            OfferCreate(
                partner_id=partner.partner.partner_id,
                category=category,
                creative=Creative(title=title, body=body, cta="Claim offer", exclusive_minutes=15),
                landing_url=f"https://{slug}.example/welcome?utm_source=afterglow",
                payout=payout,
            ),
        )
    return DemoCatalog(
        created.retailer.retailer_id, created.publishable_key, created.secret_key, secrets, partner_ids
    )
