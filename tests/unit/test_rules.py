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

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def offer(
    offer_id="off_1", *, partner_id="par_1", kind="partner", category="coffee", price=None, tags=(), **fields
):
    return Offer(
        offer_id=offer_id,
        partner_id=partner_id,
        kind=kind,
        category=category,
        creative=Creative(title="Offer", price_minor=price),
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
