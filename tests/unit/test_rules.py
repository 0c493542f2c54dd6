"""Each eligibility rule on its own, then the slate: named reasons a retailer can read."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from afterglow import rules
from afterglow.decisioning import choose_slate
from afterglow.models import (
    Arm,
    AuditSuppression,
    Creative,
    DecisionRequest,
    FixedPayout,
    Offer,
    Retailer,
    RetailerRules,
    Targeting,
)
from tests.unit.builders import make_retailer

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def offer(
    offer_id="off_1",
    *,
    partner_id="par_1",
    kind="partner",
    category="coffee",
    price=None,
    tags=(),
    title="Offer",
    **fields,
):
    return Offer(
        offer_id=offer_id,
        partner_id=partner_id,
        kind=kind,
        category=category,
        creative=Creative(title=title, price_minor=price),
        landing_url="https://x.example",
        payout=FixedPayout(currency="EUR", amounts={"signup": 100}),
        attribution_window_days=30,
        lock_days=30,
        created_at=NOW,
        tags=list(tags),
        **fields,
    )


def context(
    *,
    arm=Arm.MIXED,
    seen=None,
    exhausted=frozenset(),
    survey=None,
    country="DE",
    device="mobile",
    value=10_000,
    categories=("kitchen",),
    skus=("ESPRESSO-1",),
    **rule_fields,
):
    retailer = Retailer(
        retailer_id="ret_1",
        name="Shop",
        currency="EUR",
        revenue_share_bps=5000,
        allowed_origins=[],
        max_offers=3,
        min_relevance=0.0,
        experiment={"holdout": 0, "mixed": 100},
        created_at=NOW,
        rules=RetailerRules(**rule_fields),
    )
    request = DecisionRequest(
        order_id="o-1",
        order_value_minor=value,
        currency="EUR",
        line_items=[
            {"sku": sku, "category": cat, "price_minor": 100}
            for sku, cat in zip(skus, categories, strict=False)
        ],
        customer={"id": "c-1", "country": country},
        device=device,
        survey=survey or {},
    )
    return rules.DecisionContext.of(request, retailer, arm, NOW, seen, exhausted)


@pytest.mark.parametrize(
    ("arm", "kind", "reason"),
    [
        (Arm.HOLDOUT, "partner", "arm_holdout_excludes_partner"),
        (Arm.FIRST_PARTY_ONLY, "partner", "arm_first_party_only_excludes_partner"),
        (Arm.PARTNER_ONLY, "first_party", "arm_partner_only_excludes_first_party"),
        (Arm.MIXED, "first_party", None),
    ],
)
def test_experiment_arm_decides_which_kinds_may_show(arm, kind, reason):
    assert rules.arm_allows_kind(offer(kind=kind), context(arm=arm)) == reason


def test_retailer_blocked_and_allowed_categories():
    assert (
        rules.retailer_category_rules(offer(category="finance"), context(blocked_categories=["finance"]))
        == "category_blocked_by_retailer"
    )
    assert (
        rules.retailer_category_rules(offer(category="coffee"), context(allowed_categories=["flowers"]))
        == "category_not_allowed_by_retailer"
    )
    assert (
        rules.retailer_category_rules(offer(category="coffee"), context(allowed_categories=["coffee"]))
        is None
    )


def test_fashion_shop_keeps_apparel_for_its_own_offers():
    ctx = context(partner_blocked_categories=["apparel"])
    assert rules.category_suppression(offer(category="apparel"), ctx) == "category_reserved_for_first_party"
    assert rules.category_suppression(offer(category="apparel", kind="first_party"), ctx) is None


def test_retailer_blocked_and_allowed_partners():
    assert (
        rules.retailer_partner_rules(offer(partner_id="par_x"), context(blocked_partners=["par_x"]))
        == "partner_blocked_by_retailer"
    )
    assert (
        rules.retailer_partner_rules(offer(partner_id="par_x"), context(allowed_partners=["par_y"]))
        == "partner_not_allowed_by_retailer"
    )


def test_audit_suppression_applies_to_the_purchase_category_it_was_marked_for():
    ctx = context(audit_suppressions=[AuditSuppression(purchase_category="kitchen", offer_id="off_1")])
    assert rules.audit_suppression(offer("off_1"), ctx) == "suppressed_by_relevance_audit"
    assert rules.audit_suppression(offer("off_1"), context(categories=("camping",))) is None


def test_targeting_country_value_category_device_and_schedule():
    assert (
        rules.targeting_country(offer(targeting=Targeting(countries=["FR"])), context(country="DE"))
        == "targeting_country"
    )
    assert (
        rules.targeting_order_value(offer(targeting=Targeting(min_order_minor=20_000)), context())
        == "targeting_order_value_too_low"
    )
    assert (
        rules.targeting_order_value(offer(targeting=Targeting(max_order_minor=5_000)), context())
        == "targeting_order_value_too_high"
    )
    assert (
        rules.targeting_purchase_category(offer(targeting=Targeting(purchase_categories=["pets"])), context())
        == "targeting_purchase_category"
    )
    assert (
        rules.targeting_device(offer(targeting=Targeting(devices=["desktop"])), context(device="mobile"))
        == "targeting_device"
    )
    assert (
        rules.schedule(offer(targeting=Targeting(starts_at=NOW + timedelta(hours=1))), context())
        == "not_started"
    )
    assert rules.schedule(offer(targeting=Targeting(ends_at=NOW)), context()) == "ended"
    assert all(rule(offer(), context()) is None for rule in rules.ELIGIBILITY_RULES)


def test_budget_and_frequency_cap():
    assert (
        rules.partner_budget(offer(), context(exhausted=frozenset({"par_1"}))) == "partner_budget_exhausted"
    )
    assert rules.frequency_cap(offer(frequency_cap=2), context(seen={"off_1": 2})) == "frequency_cap_reached"
    assert rules.frequency_cap(offer(frequency_cap=2), context(seen={"off_1": 1})) is None


def test_a_partner_ahead_of_its_daily_pace_sits_out_the_decisions_it_was_paced_out_of():
    paced = replace(context(), paced_partners=frozenset({"par_1"}))
    assert rules.partner_pacing(offer(), paced) == "partner_ahead_of_pace"
    assert rules.partner_pacing(offer(), context()) is None


def test_never_offers_what_was_just_bought():
    assert (
        rules.not_already_bought(offer(sku="espresso-1", kind="first_party"), context()) == "already_bought"
    )
    assert rules.not_already_bought(offer("ESPRESSO-1"), context()) == "already_bought"


def test_price_anchoring_keeps_add_ons_well_below_the_order():
    assert rules.price_anchoring(offer(price=6_000), context(value=10_000)) == "price_above_anchor"
    assert rules.price_anchoring(offer(price=5_000), context(value=10_000)) is None
    assert rules.price_anchoring(offer(price=9_000), context(value=10_000, addon_price_max_pct=90)) is None


def test_gift_suppresses_first_party_refills_and_subscriptions():
    refill = offer(kind="first_party", tags=["refill"])
    assert (
        rules.gift_suppresses_refills(refill, context(survey={"is_gift": True})) == "gift_suppresses_refills"
    )
    assert rules.gift_suppresses_refills(refill, context(survey={"is_gift": False})) is None


# --- what the order says: product types, complements, gifts, placements -------------------------


def bought(*titles, survey=None, placement="order_confirmation", categories=None):
    """A decision context for an order of these titled items (each in its own category)."""
    retailer = make_retailer()
    cats = categories or ["camping"] * len(titles)
    request = DecisionRequest(
        order_id="o-1",
        order_value_minor=50_000,
        currency="EUR",
        line_items=[
            {"sku": f"SKU-{n}", "title": title, "category": cat, "price_minor": 100}
            for n, (title, cat) in enumerate(zip(titles, cats, strict=True))
        ],
        customer={"id": "c-1", "country": "DE"},
        survey=survey or {},
        placement=placement,
    )
    return rules.DecisionContext.of(request, retailer, Arm.MIXED, NOW)


def test_the_order_says_its_product_types_and_the_categories_of_its_context():
    ctx = bought(
        "Gravel bike", "Dog food 12 kg", categories=["cycling", "grocery"], survey={"goal": "fitness"}
    )
    assert ctx.purchased_types == {"bicycle", "dog_food"}
    # pets: the dog food's own category, whatever the shop filed it under; fitness: the survey's goal
    assert ctx.context_categories == {"cycling", "grocery", "pets", "fitness"}


def test_never_the_product_type_just_bought_declared_or_read_from_the_offer_title():
    beans = bought("Ethiopia coffee beans 1 kg", categories=["coffee"])
    declared = offer(offer_type="subscription", product_type="coffee_beans")
    from_title = offer(title="Subscribe to espresso blend: 20% off")
    assert rules.not_the_product_type_just_bought(declared, beans) == "already_bought_product_type"
    assert rules.not_the_product_type_just_bought(from_title, beans) == "already_bought_product_type"
    # Something else of the same category is fine: a grinder after beans
    grinder = offer(category="kitchen", product_type="coffee_grinder")
    assert rules.not_the_product_type_just_bought(grinder, beans) is None
    # An order whose titles name no type refuses nothing
    assert rules.not_the_product_type_just_bought(declared, context()) is None


def test_an_offer_that_only_names_a_product_is_not_taken_for_it():
    bike = bought("Gravel bike", categories=["cycling"])
    # "bike insurance" names a bicycle but is insurance; "bike service" in cycling, declared a service
    insurance = offer(category="insurance", title="Bike insurance from €3")
    service = offer(category="cycling", offer_type="service", title="Bike service at home")
    assert rules.not_the_product_type_just_bought(insurance, bike) is None
    assert rules.not_the_product_type_just_bought(service, bike) is None
    # An older offer that declares nothing, in the bicycle's own category, named by a "Velo" brand
    legacy = offer(category="cycling", title="Northern Velo cycling insurance: 20% off")
    assert rules.not_the_product_type_just_bought(legacy, bike) is None


def test_a_refill_of_what_was_bought_is_for_the_follow_up_email():
    refill = offer(offer_type="refill", product_type="coffee_beans", complements={"categories": ["coffee"]})
    confirmation = bought("Coffee beans", categories=["coffee"])
    followup = bought("Coffee beans", categories=["coffee"], placement="followup_email")
    assert rules.not_the_product_type_just_bought(refill, confirmation) == "already_bought_product_type"
    assert rules.offer_fits_placement(refill, confirmation) == "refill_is_for_followups"
    assert rules.not_the_product_type_just_bought(refill, followup) is None
    assert rules.offer_fits_placement(refill, followup) is None


def test_accessories_are_for_the_confirmation_page():
    lock = offer(category="cycling", offer_type="accessory", complements={"product_types": ["bicycle"]})
    assert rules.offer_fits_placement(lock, bought("Gravel bike", categories=["cycling"])) is None
    followup = bought("Gravel bike", categories=["cycling"], placement="email_day2")
    assert rules.offer_fits_placement(lock, followup) == "accessory_is_for_confirmation"
    # Offers that say nothing of their type are shown wherever they were before
    assert rules.offer_fits_placement(offer(), followup) is None


PET_COVER = {"offer_type": "insurance", "complements": {"categories": ["pets"]}}
GADGET_COVER = {
    "offer_type": "insurance",
    "complements": {"categories": ["electronics", "mobile", "computing", "audio", "gaming"]},
}


def test_pet_insurance_only_with_pets_in_the_customers_context():
    cover = offer(category="insurance", **PET_COVER)
    assert (
        rules.complements_what_was_bought(cover, bought("Gravel bike", categories=["cycling"]))
        == "complements_nothing_bought"
    )
    assert rules.complements_what_was_bought(cover, bought("Cat food", categories=["pets"])) is None
    # The customer's own answer counts: a bicycle bought by someone whose goal is their pets
    with_pets = bought("Gravel bike", categories=["cycling"], survey={"goal": "pets"})
    assert rules.complements_what_was_bought(cover, with_pets) is None


def test_gadget_insurance_only_after_gadgets():
    cover = offer(category="insurance", **GADGET_COVER)
    assert rules.complements_what_was_bought(cover, bought("Trailhead tent")) == "complements_nothing_bought"
    assert rules.complements_what_was_bought(cover, bought("Headphones", categories=["audio"])) is None


def test_complements_by_product_type_and_offers_without_complements_unchanged():
    bike_cover = offer(
        category="insurance", offer_type="insurance", complements={"product_types": ["bicycle"]}
    )
    assert (
        rules.complements_what_was_bought(bike_cover, bought("Gravel bike", categories=["cycling"])) is None
    )
    assert rules.complements_what_was_bought(bike_cover, bought("Bike helmet", categories=["cycling"])) == (
        "complements_nothing_bought"
    )
    # An old offer that declares nothing, or a product that merely goes well with something
    assert rules.complements_what_was_bought(offer(category="insurance"), bought("Tent")) is None
    meals = offer(category="meal_kits", offer_type="product", complements={"categories": ["kitchen"]})
    assert rules.complements_what_was_bought(meals, bought("Tent")) is None


def test_gift_orders_suppress_partner_subscriptions_and_refills_unless_giftable():
    gift, not_gift = bought("Tent", survey={"is_gift": True}), bought("Tent", survey={"is_gift": False})
    by_tag = offer(tags=["subscription"])
    by_type = offer(offer_type="refill")
    assert rules.gift_suppresses_refills(by_tag, gift) == "gift_suppresses_refills"
    assert rules.gift_suppresses_refills(by_type, gift) == "gift_suppresses_refills"
    assert rules.gift_suppresses_refills(by_tag, not_gift) is None
    # A subscription to give (a gift subscription of flowers) stays
    assert rules.gift_suppresses_refills(offer(offer_type="subscription", giftable=True), gift) is None
    assert rules.gift_suppresses_refills(offer(tags=["subscription", "gift"]), gift) is None
    assert rules.gift_suppresses_refills(offer(offer_type="accessory"), gift) is None
    # A declared type says more than an older tag: a baby monitor tagged like its whole brand
    assert rules.gift_suppresses_refills(offer(offer_type="product", tags=["refill"]), gift) is None


def test_explain_reports_every_rule():
    verdicts = rules.all_verdicts(offer(category="finance"), context(blocked_categories=["finance"]))
    assert set(verdicts) == {rule.__name__ for rule in rules.ELIGIBILITY_RULES}
    assert verdicts["retailer_category_rules"] == "category_blocked_by_retailer"


def test_slate_has_one_offer_per_partner_prefers_distinct_categories_and_respects_the_limit():
    ranked = [
        offer("a", partner_id="p1", category="coffee"),
        offer("b", partner_id="p1", category="flowers"),
        offer("c", partner_id="p2", category="coffee"),
        offer("d", partner_id="p3", category="flowers"),
        offer("e", partner_id="p4", category="coffee"),
    ]
    assert [o.offer_id for o in choose_slate(ranked, 3)] == ["a", "d", "c"]
    assert [o.offer_id for o in choose_slate(ranked, 1)] == ["a"]


def test_a_retailers_own_products_never_show_on_another_retailers_page():
    theirs = offer(kind="first_party", partner_id="ret_other")
    ours = offer(kind="first_party", partner_id="ret_1")
    assert rules.own_first_party_only(theirs, context()) == "first_party_of_another_retailer"
    assert rules.own_first_party_only(ours, context()) is None
