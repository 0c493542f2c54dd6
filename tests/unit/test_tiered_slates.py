"""Tiered slates: the best bundle, accessory and low-friction offer, highest value first, under every rule."""

from hypothesis import given, settings
from hypothesis import strategies as st

from afterglow.decisioning import TIER_ORDER, choose_slate
from afterglow.models import Offer, RetailerRules
from tests.unit.builders import context, index_of, make_offer, make_request, make_retailer, slate_for


def ids(offers: list[Offer]) -> list[str]:
    return [offer.offer_id for offer in offers]


def test_a_tiered_slate_shows_bundle_then_accessory_then_low_friction_whatever_their_rank():
    # Given offers ranked low-friction first, bundle last
    ranked = [
        make_offer("warranty", partner_id="p1", category="insurance", tier="low_friction"),
        make_offer("lantern", partner_id="p2", category="outdoor", tier="accessory"),
        make_offer("camp_kit", partner_id="p3", category="camping", tier="bundle"),
    ]
    # Then the tiered slate presents them highest value first; a ranked slate keeps the ranking
    assert ids(choose_slate(ranked, 3, "tiered")) == ["camp_kit", "lantern", "warranty"]
    assert ids(choose_slate(ranked, 3)) == ["warranty", "lantern", "camp_kit"]


def test_a_tiered_slate_takes_the_best_offer_of_each_tier_not_two_of_one():
    ranked = [
        make_offer("lantern", partner_id="p1", category="outdoor", tier="accessory"),
        make_offer("stakes", partner_id="p2", category="camping", tier="accessory"),
        make_offer("warranty", partner_id="p3", category="insurance", tier="low_friction"),
    ]
    assert ids(choose_slate(ranked, 2, "tiered")) == ["lantern", "warranty"]
    assert ids(choose_slate(ranked, 2)) == ["lantern", "stakes"]


def test_a_short_tiered_slate_keeps_the_best_ranked_tiers():
    ranked = [
        make_offer("warranty", partner_id="p1", category="insurance", tier="low_friction"),
        make_offer("lantern", partner_id="p2", category="outdoor", tier="accessory"),
        make_offer("camp_kit", partner_id="p3", category="camping", tier="bundle"),
    ]
    # k=1: the policy's favourite tier, not a bundle it ranks last
    assert ids(choose_slate(ranked, 1, "tiered")) == ["warranty"]
    assert ids(choose_slate(ranked, 2, "tiered")) == ["lantern", "warranty"]


def test_untiered_offers_fill_the_places_tiers_leave_and_come_last():
    ranked = [
        make_offer("coffee", partner_id="p1", category="coffee"),
        make_offer("warranty", partner_id="p2", category="insurance", tier="low_friction"),
        make_offer("kit", partner_id="p3", category="camping", tier="bundle"),
        make_offer("tea", partner_id="p4", category="grocery"),
    ]
    assert ids(choose_slate(ranked, 3, "tiered")) == ["kit", "warranty", "coffee"]


def test_an_offer_without_a_tier_takes_the_one_its_offer_type_implies():
    assert make_offer("a", offer_type="accessory").slate_tier == "accessory"
    for offer_type in ("insurance", "service", "refill", "subscription", "membership", "donation"):
        assert make_offer("b", offer_type=offer_type).slate_tier == "low_friction"
    assert make_offer("c", offer_type="product").slate_tier is None
    assert make_offer("d", offer_type="insurance", tier="bundle").slate_tier == "bundle"  # declared wins


def test_a_tiered_slate_still_obeys_the_retailers_rules():
    # Given a retailer that blocks camping and lays its slates out in tiers
    retailer = make_retailer(slate_layout="tiered", rules=RetailerRules(blocked_categories=["camping"]))
    index = index_of(
        make_offer("camp_kit", partner_id="p1", category="camping", tier="bundle", signup_payout=5_000),
        make_offer("mug", partner_id="p2", category="kitchen", tier="accessory"),
        make_offer("beans_sub", partner_id="p3", category="coffee", tier="low_friction"),
    )
    request = make_request(categories=("kitchen", "coffee"))
    # Then the blocked bundle never shows, however well it pays; the rest keep their tier order
    assert ids(slate_for(index, context(request, retailer=retailer))) == ["mug", "beans_sub"]


_tiered_offers = st.lists(
    st.tuples(
        st.sampled_from(["p1", "p2", "p3", "p4"]),
        st.sampled_from(["coffee", "grocery", "kitchen"]),
        st.sampled_from([None, "bundle", "accessory", "low_friction"]),
    ),
    max_size=10,
).map(
    lambda rows: [
        make_offer(f"o{n}", partner_id=partner, category=category, tier=tier)
        for n, (partner, category, tier) in enumerate(rows)
    ]
)


@settings(max_examples=300)
@given(ranked=_tiered_offers, limit=st.integers(min_value=1, max_value=3))
def test_a_tiered_slate_is_as_full_as_a_ranked_one_one_per_partner_in_tier_order(ranked, limit):
    slate = choose_slate(ranked, limit, "tiered")
    partners = [offer.partner_id for offer in slate]
    assert len(partners) == len(set(partners))
    assert len(slate) == len(choose_slate(ranked, limit))  # tiers never cost the slate a place
    assert all(offer in ranked for offer in slate)
    order = [TIER_ORDER.get(offer.slate_tier or "", 3) for offer in slate]
    assert order == sorted(order)
    tiered = [offer for offer in ranked if offer.slate_tier]
    if tiered:
        assert tiered[0] in slate  # the policy's favourite tiered offer always shows
