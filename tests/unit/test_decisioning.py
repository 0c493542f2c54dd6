"""The decision pipeline's pure stages: which arm, which candidates, which slate."""

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afterglow import decisioning
from afterglow.decisioning import assign_arm, choose_slate, eligible_candidates
from afterglow.models import Arm, ExperimentSplit, Offer, RetailerRules
from tests.unit.builders import (
    context,
    index_of,
    make_first_party_offer,
    make_offer,
    make_request,
    make_retailer,
    slate_for,
)

SUBJECTS = [f"customer-{n}" for n in range(10_000)]


def ids(offers: list[Offer]) -> list[str]:
    return [offer.offer_id for offer in offers]


# --- experiment arms -----------------------------------------------------------------------------


@settings(max_examples=200)
@given(salt=st.text(max_size=20), subject=st.text(max_size=40))
def test_the_same_customer_of_the_same_retailer_always_lands_in_the_same_arm(salt, subject):
    split = ExperimentSplit(holdout=25, first_party_only=25, partner_only=25, mixed=25)
    assert assign_arm(salt, subject, split) == assign_arm(salt, subject, split)


@pytest.mark.parametrize(
    ("split", "arm"),
    [
        (ExperimentSplit(holdout=100, mixed=0), Arm.HOLDOUT),
        (ExperimentSplit(holdout=0, first_party_only=100, mixed=0), Arm.FIRST_PARTY_ONLY),
        (ExperimentSplit(holdout=0, partner_only=100, mixed=0), Arm.PARTNER_ONLY),
        (ExperimentSplit(holdout=0, mixed=100), Arm.MIXED),
    ],
)
def test_a_hundred_percent_arm_takes_every_customer(split, arm):
    assert {assign_arm("salt", subject, split) for subject in SUBJECTS[:1_000]} == {arm}


def test_a_twenty_percent_holdout_holds_out_about_a_fifth_of_customers():
    split = ExperimentSplit(holdout=20, mixed=80)
    arms = Counter(assign_arm("salt", subject, split) for subject in SUBJECTS)
    assert 1_700 <= arms[Arm.HOLDOUT] <= 2_300
    assert arms[Arm.HOLDOUT] + arms[Arm.MIXED] == len(SUBJECTS)


def test_every_arm_gets_roughly_its_share_of_customers():
    split = ExperimentSplit(holdout=10, first_party_only=20, partner_only=30, mixed=40)
    arms = Counter(assign_arm("salt", subject, split) for subject in SUBJECTS)
    for arm, percent in [
        (Arm.HOLDOUT, 10),
        (Arm.FIRST_PARTY_ONLY, 20),
        (Arm.PARTNER_ONLY, 30),
        (Arm.MIXED, 40),
    ]:
        assert abs(arms[arm] - percent * 100) <= 300, (arm, arms[arm])


def test_a_retailers_salt_reshuffles_who_is_held_out():
    split = ExperimentSplit(holdout=50, mixed=50)
    held_out_a = {s for s in SUBJECTS[:1_000] if assign_arm("salt-a", s, split) is Arm.HOLDOUT}
    held_out_b = {s for s in SUBJECTS[:1_000] if assign_arm("salt-b", s, split) is Arm.HOLDOUT}
    assert held_out_a != held_out_b


# --- candidates ----------------------------------------------------------------------------------


def test_a_held_out_customer_is_offered_nothing():
    index = index_of(make_offer("partner_coffee"), make_first_party_offer("own_coffee"))
    assert eligible_candidates(index, context(arm=Arm.HOLDOUT)) == []
    assert slate_for(index, context(arm=Arm.HOLDOUT)) == []


def test_partner_only_arm_never_shows_first_party_offers():
    index = index_of(make_offer("partner_coffee"), make_first_party_offer("own_coffee"))
    assert ids(slate_for(index, context(arm=Arm.PARTNER_ONLY))) == ["partner_coffee"]


def test_first_party_only_arm_never_shows_partner_offers():
    index = index_of(make_offer("partner_coffee"), make_first_party_offer("own_coffee"))
    assert ids(slate_for(index, context(arm=Arm.FIRST_PARTY_ONLY))) == ["own_coffee"]


def test_mixed_arm_shows_both_kinds():
    index = index_of(make_offer("partner_coffee"), make_first_party_offer("own_coffee"))
    assert set(ids(slate_for(index, context(arm=Arm.MIXED)))) == {"partner_coffee", "own_coffee"}


def test_offers_less_relevant_than_the_retailers_minimum_are_dropped():
    # Given a kitchen purchase and offers in the same (1.0), complementary (0.8), refill (0.7)
    # and extending (0.6) categories
    index = index_of(
        make_offer("same", partner_id="p1", category="kitchen"),
        make_offer("complements", partner_id="p2", category="coffee"),
        make_offer("refills", partner_id="p3", category="grocery"),
        make_offer("extends", partner_id="p4", category="meal_kits"),
    )
    # When the retailer wants a relevance of at least 0.75
    ctx = context(retailer=make_retailer(min_relevance=0.75))
    # Then only the same and complementary categories remain
    assert {c.offer.offer_id for c in eligible_candidates(index, ctx)} == {"same", "complements"}


def test_without_a_minimum_relevance_every_related_category_is_a_candidate():
    index = index_of(
        make_offer("complements", partner_id="p2", category="coffee"),
        make_offer("extends", partner_id="p4", category="meal_kits"),
        make_offer("unrelated", partner_id="p5", category="insurance"),
    )
    assert {c.offer.offer_id for c in eligible_candidates(index, context())} == {"complements", "extends"}


_sku_ids = st.text(alphabet="abcAB-1", min_size=1, max_size=3)


@settings(max_examples=200)
@given(
    offer_ids=st.lists(_sku_ids, min_size=1, max_size=6, unique=True),
    purchased=st.lists(_sku_ids, min_size=1, max_size=3),
)
def test_an_offer_named_after_a_purchased_sku_is_never_scored(offer_ids, purchased):
    # Given offers whose ids may equal (in any case) the SKUs just bought
    offers = [make_offer(f"{oid}", partner_id=f"p{n}", category="coffee") for n, oid in enumerate(offer_ids)]
    request = make_request(categories=("kitchen",) * len(purchased), skus=tuple(purchased))
    # When candidates are scored
    scored = {c.offer.offer_id for c in eligible_candidates(index_of(*offers), context(request))}
    # Then none is a bought SKU, and every other offer is a candidate
    bought = {sku.lower() for sku in purchased}
    assert {oid for oid in scored if oid.lower() in bought} == set()
    assert scored == {oid for oid in offer_ids if oid.lower() not in bought}


def test_an_offer_whose_sku_was_just_bought_is_never_scored():
    index = index_of(make_offer("grinder", category="kitchen", sku="GRINDER-9"), make_offer("beans"))
    request = make_request(categories=("kitchen",), skus=("grinder-9",))
    assert {c.offer.offer_id for c in eligible_candidates(index, context(request))} == {"beans"}


def test_an_ineligible_best_paying_offer_does_not_hide_the_ones_behind_it():
    # Given ten blocked best-paying offers in a category, then one eligible lower-paying one
    blocked = [make_offer(f"b{n}", partner_id="blocked", signup_payout=5_000) for n in range(10)]
    eligible = make_offer("ok", partner_id="fine", signup_payout=100)
    retailer = make_retailer(rules=RetailerRules(blocked_partners=["blocked"]))
    # Then the eligible one is still found
    assert ids(slate_for(index_of(*blocked, eligible), context(retailer=retailer))) == ["ok"]


def test_a_retailer_allowing_a_few_partners_has_only_their_offers_scanned(monkeypatch):
    # Given a large category of better-paying offers of partners the retailer does not allow, and
    # behind them the offers of the two it allows (and its own brand)
    others = [make_offer(f"x{n}", partner_id=f"other{n % 50}", signup_payout=9_000) for n in range(2_000)]
    mine = [make_offer(f"a{n}", partner_id="allowed_a", signup_payout=100 + n) for n in range(3)]
    mine += [make_offer("b", partner_id="allowed_b", signup_payout=50), make_first_party_offer("own")]
    retailer = make_retailer(rules=RetailerRules(allowed_partners=["allowed_a", "allowed_b"]))
    checked = Counter()
    real_check = decisioning.first_refusal
    monkeypatch.setattr(
        decisioning,
        "first_refusal",
        lambda offer, ctx: checked.update([offer.offer_id]) or real_check(offer, ctx),
    )
    # When it decides, keeping a trace
    refusals: list[tuple[str, str]] = []
    found = eligible_candidates(index_of(*others, *mine), context(retailer=retailer), refusals)
    # Then its offers are found, best paying first (its own brand by its price), after five checks
    assert [c.offer.offer_id for c in found] == ["own", "a2", "a1", "a0", "b"]
    assert sum(checked.values()) == 5 and refusals == []


# --- the slate -----------------------------------------------------------------------------------


_ranked_offers = st.lists(
    st.tuples(st.sampled_from(["p1", "p2", "p3", "p4"]), st.sampled_from(["coffee", "grocery", "kitchen"])),
    max_size=10,
).map(
    lambda rows: [
        make_offer(f"o{n}", partner_id=partner, category=category)
        for n, (partner, category) in enumerate(rows)
    ]
)


@settings(max_examples=200)
@given(ranked=_ranked_offers, limit=st.integers(min_value=1, max_value=3))
def test_a_slate_has_at_most_one_offer_per_partner_and_fills_up_to_its_limit(ranked, limit):
    slate = choose_slate(ranked, limit)
    partners = [offer.partner_id for offer in slate]
    assert len(partners) == len(set(partners))
    assert len(slate) == min(limit, len({offer.partner_id for offer in ranked}))
    assert all(offer in ranked for offer in slate)
    if ranked:
        assert slate[0] == ranked[0]  # the best offer always leads


def test_a_slate_prefers_a_new_category_over_a_better_ranked_repeat():
    ranked = [
        make_offer("coffee_1", partner_id="p1", category="coffee"),
        make_offer("coffee_2", partner_id="p2", category="coffee"),
        make_offer("grocery_1", partner_id="p3", category="grocery"),
    ]
    assert ids(choose_slate(ranked, 2)) == ["coffee_1", "grocery_1"]


def test_the_slate_is_ranked_by_relevance_times_payout():
    index = index_of(
        make_offer("kitchen_low", partner_id="p1", category="kitchen", signup_payout=100),
        make_offer("coffee_high", partner_id="p2", category="coffee", signup_payout=1_000),
    )
    assert ids(slate_for(index, context())) == ["coffee_high", "kitchen_low"]


@pytest.mark.parametrize(("k", "max_offers", "shown"), [(3, 3, 3), (1, 3, 1), (3, 2, 2), (2, 1, 1)])
def test_a_decision_shows_no_more_offers_than_asked_for_or_the_retailer_allows(k, max_offers, shown):
    """The limit is the smaller of the request's `k` and the retailer's `max_offers`."""
    from afterglow.services.decisions import _choose  # the use case that applies both limits

    # Given five eligible offers from five partners
    index = index_of(
        *(
            make_offer(f"o{n}", partner_id=f"p{n}", category=category)
            for n, category in enumerate(["kitchen", "coffee", "grocery", "meal_kits", "kitchen"])
        )
    )
    # When a decision is made
    response, offer_ids, *_ = _choose(
        index, make_retailer(max_offers=max_offers), make_request(k=k), "customer-hash", {}, "https://api"
    )
    # Then it shows the smaller number
    assert len(response.offers) == len(offer_ids) == shown


# --- relevance by what offers complement ---------------------------------------------------------


def test_an_offer_complementing_the_product_type_bought_outranks_a_better_paid_neighbour():
    # Given a bicycle bought, and two outdoor offers (a category related to cycling, relevance 0.8):
    # a bike lock that declares it goes with bicycles, and a better-paid one that declares nothing
    lock = make_offer(
        "lock",
        partner_id="p1",
        category="outdoor",
        signup_payout=800,
        offer_type="accessory",
        complements={"product_types": ["bicycle"]},
    )
    plain = make_offer("plain", partner_id="p2", category="outdoor", signup_payout=900)
    ctx = context(make_request(categories=("cycling",), titles=("Gravel bike Grail",)))
    # Then the lock is fully relevant (1.0 × 800 > 0.8 × 900) and ranks first
    scores = {c.offer.offer_id: c.relevance for c in eligible_candidates(index_of(lock, plain), ctx)}
    assert scores == {"lock": 1.0, "plain": 0.8}
    assert ids(slate_for(index_of(lock, plain), ctx)) == ["lock", "plain"]


def test_an_offer_that_declares_what_it_goes_with_and_meets_none_of_it_is_worth_half():
    after_a_tent = context(make_request(categories=("cycling",), titles=("Trailhead tent",)))
    meals = make_offer(
        "meals", category="cycling", offer_type="product", complements={"product_types": ["bicycle"]}
    )
    assert [c.relevance for c in eligible_candidates(index_of(meals), after_a_tent)] == [0.5]


def test_an_offer_complementing_a_category_of_the_basket_counts_as_closely_related():
    # Given coffee bought, and an offer in a merely "refills" category that declares it goes with coffee
    pantry = make_offer("pantry", category="grocery", complements={"categories": ["coffee"]})
    ctx = context(make_request(categories=("coffee",)))
    assert [c.relevance for c in eligible_candidates(index_of(pantry), ctx)] == [0.9]


def test_an_offer_is_found_by_what_it_complements_though_its_category_is_unrelated():
    # Given a cycling jersey filed under apparel (unrelated to cycling) that declares it goes with
    # bicycles, a kitchen gadget that declares it goes with coffee, and a plain apparel offer
    jersey = make_offer(
        "jersey",
        partner_id="p1",
        category="apparel",
        offer_type="accessory",
        complements={"product_types": ["bicycle"]},
    )
    rack = make_offer("rack", partner_id="p2", category="home", complements={"categories": ["cycling"]})
    plain = make_offer("plain_apparel", partner_id="p3", category="apparel")
    index = index_of(jersey, rack, plain)
    after_bike = context(make_request(categories=("cycling",), titles=("Gravel bike Grail",)))
    # Then after a bicycle both complements are candidates, fully and closely relevant; the plain one is not
    scores = {c.offer.offer_id: c.relevance for c in eligible_candidates(index, after_bike)}
    assert scores == {"jersey": 1.0, "rack": 0.9}
    # And explain mode lists them with that relevance
    explained = {row["offer_id"]: row for row in decisioning.explain_candidates(index, after_bike)}
    assert explained["jersey"]["eligible"] and explained["jersey"]["relevance"] == 1.0
    assert "plain_apparel" not in explained
    # And after coffee none of them is
    assert eligible_candidates(index, context(make_request(categories=("coffee",)))) == []


def test_an_offer_found_by_its_complements_still_obeys_the_retailers_rules():
    jersey = make_offer(
        "jersey", partner_id="p1", category="apparel", complements={"categories": ["cycling"]}
    )
    after_bike = make_request(categories=("cycling",))
    blocked = make_retailer(rules=RetailerRules(blocked_categories=["apparel"]))
    refusals: list[tuple[str, str]] = []
    assert eligible_candidates(index_of(jersey), context(after_bike, retailer=blocked), refusals) == []
    assert [offer_id for offer_id, _ in refusals] == ["jersey"]
    picky = make_retailer(rules=RetailerRules(allowed_partners=["p2"]))
    assert eligible_candidates(index_of(jersey), context(after_bike, retailer=picky)) == []
    demanding = make_retailer(min_relevance=0.95)  # closely related (0.9) is not enough for it
    assert eligible_candidates(index_of(jersey), context(after_bike, retailer=demanding)) == []


def test_the_look_at_offers_found_by_their_complements_is_bounded():
    # Given 40 well-paid offers complementing bicycles, all targeted at another country, and a
    # worse-paid one that could show
    elsewhere = [
        make_offer(
            f"fr_{n:02d}",
            partner_id=f"p{n}",
            category="apparel",
            signup_payout=2_000 - n,
            targeting={"countries": ["FR"]},
            complements={"categories": ["cycling"]},
        )
        for n in range(40)
    ]
    last = make_offer(
        "de",
        partner_id="p_de",
        category="apparel",
        signup_payout=100,
        complements={"categories": ["cycling"]},
    )
    refusals: list[tuple[str, str]] = []
    ctx = context(make_request(categories=("cycling",)))
    # Then a decision looks at the best paying 32 and no further
    assert eligible_candidates(index_of(*elsewhere, last), ctx, refusals) == []
    assert len(refusals) == decisioning.COMPLEMENTING_SCANNED == 32


def test_an_offer_complementing_several_things_bought_is_a_candidate_once():
    both = make_offer("both", category="apparel", complements={"categories": ["cycling", "coffee"]})
    ctx = context(make_request(categories=("cycling", "coffee")))
    assert [c.offer.offer_id for c in eligible_candidates(index_of(both), ctx)] == ["both"]


def test_pet_cover_never_shows_after_a_bicycle_and_bike_cover_does():
    # Given insurance offers that declare what they cover, the pet cover paying best
    pet = make_offer(
        "pet_cover",
        partner_id="p1",
        category="insurance",
        signup_payout=3_000,
        offer_type="insurance",
        complements={"categories": ["pets"]},
    )
    bike = make_offer(
        "bike_cover",
        partner_id="p2",
        category="insurance",
        signup_payout=1_000,
        offer_type="insurance",
        complements={"product_types": ["bicycle"], "categories": ["cycling"]},
    )
    gadget = make_offer(
        "gadget_cover",
        partner_id="p3",
        category="insurance",
        signup_payout=2_000,
        offer_type="insurance",
        complements={"categories": ["electronics", "mobile", "audio"]},
    )
    index = index_of(pet, bike, gadget)
    refusals: list[tuple[str, str]] = []
    after_bike = context(make_request(categories=("cycling",), titles=("City bike",)))
    # When a bicycle is bought, Then only the bike cover is a candidate, and the trace says why not
    assert ids(slate_for(index, after_bike)) == ["bike_cover"]
    eligible_candidates(index, after_bike, refusals)
    assert dict(refusals) == {
        "pet_cover": "complements_nothing_bought",
        "gadget_cover": "complements_nothing_bought",
    }
    # And with pets in the customer's context (their answer to the survey), the pet cover may show
    with_pets = context(make_request(categories=("cycling",), titles=("City bike",), survey={"goal": "pets"}))
    assert "pet_cover" in ids(slate_for(index, with_pets))


def test_an_offer_whose_relevance_falls_below_the_minimum_is_refused_with_a_reason():
    unmet = make_offer(
        "unmet", category="kitchen", offer_type="product", complements={"product_types": ["espresso_machine"]}
    )
    ctx = context(
        make_request(categories=("kitchen",), titles=("Chef's knife",)),
        retailer=make_retailer(min_relevance=0.6),
    )
    refusals: list[tuple[str, str]] = []
    assert eligible_candidates(index_of(unmet), ctx, refusals) == []
    assert refusals == [("unmet", "below_min_relevance")]
