"""A small demo catalog: one retailer, a few partners and offers across categories."""

from collections.abc import Mapping
from dataclasses import dataclass

from afterglow.models import (
    Complements,
    Creative,
    ExperimentSplit,
    FixedPayout,
    OfferCreate,
    PartnerCreate,
    PercentPayout,
    RetailerCreate,
    RulesUpdate,
    SatisfactionQuestion,
    SurveyOption,
    SurveyQuestion,
)
from afterglow.services import catalog_entities, offers, partners, retailers
from afterglow.store import Stores


@dataclass(frozen=True)
class DemoCatalog:
    retailer_id: str
    publishable_key: str
    secret_key: str
    partner_secrets: dict[str, str]  # partner name -> whsec_
    partner_ids: dict[str, str]


DEMO_SALT = "northwind-demo"  # a demo's customers hash the same on every start (see seed_demo)
# The sample customers (demo shop, README tour, tests) seed_demo promises offers to: not held out.
SAMPLE_CUSTOMERS = ("ada@example.com", "grace@example.com", "linus@example.com", "katherine@example.com")

DEMO_OFFERS = [
    # partner, category, title, body, payout, what it is and goes with
    (
        "TrailMix Box",
        "meal_kits",
        "Trail meals, delivered",
        "Six dehydrated camp dinners, 30% off your first box.",
        FixedPayout(currency="EUR", amounts={"signup": 400, "first_purchase": 1200}),
        {
            "offer_type": "product",
            "tier": "bundle",  # a tiered slate leads with it
            "complements": Complements(categories=["camping", "outdoor"]),
        },
    ),
    (
        "Summit Cover",
        "insurance",
        "Insure your new gear",
        "Theft and damage cover from €2.99 a month.",
        FixedPayout(currency="EUR", amounts={"signup": 800, "subscription": 2500}),
        # outdoor gear cover: after a tent or a bicycle, never after a coffee machine
        {
            "offer_type": "insurance",
            "complements": Complements(
                categories=["camping", "outdoor", "cycling"], product_types=["tent", "bicycle", "backpack"]
            ),
        },
    ),
    (
        "Pace Club",
        "fitness",
        "Free month of coached runs",
        "Personal training plans for your new shoes.",
        FixedPayout(currency="EUR", amounts={"signup": 600}),
        {
            "offer_type": "membership",
            "complements": Complements(categories=["running", "fitness"], product_types=["running_shoes"]),
        },
    ),
    (
        "BeanPost",
        "coffee",
        "Fresh beans every fortnight",
        "Roasted to order. First bag free.",
        PercentPayout(bps=1500, actions=["first_purchase", "subscription"]),
        # beans for a new machine or grinder: never right after beans, never on a gift order
        {
            "offer_type": "subscription",
            "product_type": "coffee_beans",
            "complements": Complements(
                categories=["coffee", "kitchen"], product_types=["espresso_machine", "coffee_grinder"]
            ),
        },
    ),
    (
        "Bloom & Co",
        "flowers",
        "Add flowers to the gift",
        "Hand-tied bouquets, next-day delivery.",
        FixedPayout(currency="EUR", amounts={"first_purchase": 500}),
        {"offer_type": "product", "product_type": "bouquet", "giftable": True},
    ),
]


def partner_terms(
    partner_ids: Mapping[str, str], secrets: Mapping[str, str]
) -> dict[str, tuple[str, str, bool]]:
    """Demo partner id -> (its webhook secret, an action its offer pays for, whether the webhook
    names an amount: a share of the basket), for the demo partners named (by name) in both."""
    terms: dict[str, tuple[str, str, bool]] = {}
    for name, _, _, _, payout, _ in DEMO_OFFERS:
        partner_id, secret = partner_ids.get(name), secrets.get(name)
        if not (partner_id and secret):
            continue
        if isinstance(payout, FixedPayout):
            terms[partner_id] = (secret, sorted(payout.amounts)[0], False)
        elif isinstance(payout, PercentPayout):
            terms[partner_id] = (secret, payout.actions[0], True)
    return terms


def seed_demo(stores: Stores, shop_url: str | None = None) -> DemoCatalog:
    """Create the demo retailer (10% of its customers held out, as a shop measuring lift would;
    its fixed salt puts the demo shop's and the README's sample customers among the 90% who see
    offers), partners, offers and one first-party add-on. With the demo shop's URL, partner landing
    pages are the shop's fake partner pages and the shop's origin may call the storefront API."""
    origins = ["https://shop.example"]
    if shop_url:
        port = shop_url.rsplit(":", 1)[-1]
        origins += [shop_url, f"http://localhost:{port}"]
    created = retailers.create_retailer(
        stores,
        RetailerCreate(
            name="Northwind Outfitters",
            currency="EUR",
            revenue_share_bps=5_000,
            allowed_origins=origins,
            experiment=ExperimentSplit(holdout=10, mixed=90),
            segments=["new", "returning", "vip"],
            survey=SurveyQuestion(
                key="is_gift",
                question="Is this a gift?",
                options=[
                    SurveyOption(value=True, label="Yes, it's a gift"),
                    SurveyOption(value=False, label="No"),
                ],
            ),
            satisfaction=SatisfactionQuestion(
                scale="nps",
                question="How likely are you to recommend Northwind Outfitters to a friend?",
                low_label="Not likely",
                high_label="Very likely",
            ),
        ),
        salt=DEMO_SALT,
    )
    secrets: dict[str, str] = {}
    partner_ids: dict[str, str] = {}
    for partner_name, category, title, body, payout, role in DEMO_OFFERS:
        partner = partners.create_partner(stores, PartnerCreate(name=partner_name))
        secrets[partner_name] = partner.webhook_secret
        partner_ids[partner_name] = partner.partner.partner_id
        slug = partner_name.lower().replace(" ", "-").replace("&", "and")
        partner_id = partner.partner.partner_id
        landing = (
            f"{shop_url}/partner/{partner_id}/welcome?utm_source=afterglow"
            if shop_url
            else f"https://{slug}.example/welcome?utm_source=afterglow"
        )
        offers.create_offer(
            stores,
            OfferCreate(
                partner_id=partner_id,
                category=category,
                creative=Creative(title=title, body=body, cta="Claim offer", exclusive_minutes=15),
                landing_url=landing,
                payout=payout,
                **role,
            ),
        )
    # Only its own partners on its pages: a catalog imported later (the README tour's step 5, a
    # load test) is the platform's, not this shop's, and its pages stay as seeded.
    current = catalog_entities.load_retailer(stores.catalog, created.retailer.retailer_id)
    retailers.update_rules(
        stores,
        created.retailer.retailer_id,
        RulesUpdate(
            version=current.version,
            rules=current.rules.model_copy(update={"allowed_partners": sorted(partner_ids.values())}),
        ),
    )
    offers.create_first_party_offer(
        stores,
        created.retailer.retailer_id,
        OfferCreate(
            partner_id=created.retailer.retailer_id,
            category="kitchen",
            creative=Creative(
                title="Descaling kit, 3 months",
                body="Keeps the machine brewing like day one.",
                cta="Add to order",
                price_minor=1_490,
                discount_pct=20,
            ),
            landing_url=f"{shop_url or 'https://shop.example'}/products/descaler",
            payout=FixedPayout(currency="EUR", amounts={"first_purchase": 0}),
            tags=["refill"],
            # bought with the machine, on the confirmation page: an accessory of it, not a refill
            offer_type="accessory",
            complements=Complements(
                categories=["coffee"], product_types=["espresso_machine", "coffee_grinder"]
            ),
        ),
    )
    return DemoCatalog(
        created.retailer.retailer_id, created.publishable_key, created.secret_key, secrets, partner_ids
    )
