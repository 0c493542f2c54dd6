"""The in-memory catalog: only showable offers, found by category and its related categories."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afterglow.catalog import CatalogIndex, CatalogPayouts, catalog_payout
from afterglow.learning import HierarchicalThompson
from afterglow.models import FixedPayout, Offer, PercentPayout
from afterglow.taxonomy import CATEGORIES, RELATIONS
from tests.unit.builders import make_first_party_offer, make_offer, make_partner, make_retailer


def test_paused_offers_are_not_in_the_catalog():
    index = CatalogIndex.build(
        [make_offer("live"), make_offer("paused", status="paused")], [make_partner("par_1")]
    )
    assert set(index.offers) == {"live"}
    assert [o.offer_id for o in index.candidates_for({"coffee"})] == ["live"]


def test_offers_of_a_paused_partner_are_not_in_the_catalog():
    index = CatalogIndex.build(
        [make_offer("active_partner", partner_id="par_1"), make_offer("paused_partner", partner_id="par_2")],
        [make_partner("par_1"), make_partner("par_2", status="paused")],
    )
    assert set(index.offers) == {"active_partner"}
    assert [o.offer_id for o in index.candidates_for({"coffee"})] == ["active_partner"]


def test_offers_of_an_unknown_partner_are_not_in_the_catalog():
    index = CatalogIndex.build([make_offer("orphan", partner_id="par_gone")], [make_partner("par_1")])
    assert index.offers == {}


def test_a_retailers_own_offers_need_no_partner():
    index = CatalogIndex.build([make_first_party_offer("own")], [])
    assert set(index.offers) == {"own"}


def test_a_paused_first_party_offer_is_not_in_the_catalog():
    index = CatalogIndex.build([make_first_party_offer("own", status="paused")], [])
    assert index.offers == {}


def test_candidates_include_the_categories_related_to_the_purchase():
    # Given offers in kitchen, the categories related to it, and an unrelated one
    index = CatalogIndex.build(
        [
            make_offer("kitchen", category="kitchen"),
            make_offer("coffee", category="coffee"),
            make_offer("grocery", category="grocery"),
            make_offer("meal_kits", category="meal_kits"),
            make_offer("pets", category="pets"),
        ],
        [make_partner("par_1")],
    )
    # When a kitchen item was bought
    candidates = {o.offer_id for o in index.candidates_for({"kitchen"})}
    # Then the related categories are candidates, the unrelated one is not
    assert candidates == {"kitchen", "coffee", "grocery", "meal_kits"}
    assert set(RELATIONS["kitchen"]) == {"coffee", "grocery", "meal_kits"}


def test_within_a_category_the_best_paying_offer_comes_first():
    index = CatalogIndex.build(
        [
            make_offer("low", signup_payout=100),
            make_offer("high", signup_payout=900),
            make_offer("percent", payout=PercentPayout(bps=500)),
            make_offer("mid", payout=FixedPayout(currency="EUR", amounts={"signup": 50, "lead": 600})),
        ],
        [make_partner("par_1")],
    )
    assert [o.offer_id for o in index.candidates_for({"coffee"})] == ["high", "mid", "percent", "low"]


@settings(max_examples=200)
@given(
    offer_categories=st.lists(st.sampled_from(CATEGORIES), max_size=12),
    purchased=st.sets(st.sampled_from(CATEGORIES), min_size=1, max_size=4),
)
def test_candidates_are_each_offer_of_a_purchased_or_related_category_exactly_once(
    offer_categories, purchased
):
    offers = [make_offer(f"o{n}", category=category) for n, category in enumerate(offer_categories)]
    index = CatalogIndex.build(offers, [make_partner("par_1")])

    candidates = [o.offer_id for o in index.candidates_for(purchased)]

    wanted = set(purchased).union(*(RELATIONS[category] for category in purchased))
    assert len(candidates) == len(set(candidates))
    assert set(candidates) == {o.offer_id for o in offers if o.category in wanted}


def test_all_origins_are_every_retailers_allowed_origins():
    index = CatalogIndex.build([], [], [make_retailer()])
    assert index.all_origins() == {"https://shop.example"}


def test_what_one_conversion_should_pay_comes_from_the_offers_terms():
    two_actions = FixedPayout(currency="EUR", amounts={"signup": 400, "first_purchase": 1_600})
    assert catalog_payout(make_offer(signup_payout=700)) == 700
    assert catalog_payout(make_offer(payout=two_actions)) == pytest.approx(800)  # geometric mean
    assert catalog_payout(make_offer(payout=PercentPayout(bps=500))) is None  # of an unknown amount
    assert catalog_payout(make_first_party_offer()) == 900  # the add-on's price
    assert catalog_payout(make_offer(kind="first_party", partner_id="ret_1")) is None  # no price


class CountingOffers(dict[str, Offer]):
    def __init__(self, offers: dict[str, Offer]) -> None:
        super().__init__(offers)
        self.read: list[str] = []

    def __getitem__(self, offer_id: str) -> Offer:
        self.read.append(offer_id)
        return super().__getitem__(offer_id)


def test_a_policy_reads_the_payouts_of_the_offers_it_ranks_and_no_others():
    # Given a catalog of 30 offers, one paying by percentage
    offers = [make_offer(f"off_{n:02d}", signup_payout=100 * (n + 1)) for n in range(29)]
    offers.append(make_offer("off_pct", payout=PercentPayout(bps=500)))
    index = CatalogIndex.build(offers, [make_partner("par_1")])
    counting = CountingOffers(dict(index.offers))
    index.offers = counting
    payouts = CatalogPayouts(index)
    assert len(payouts) == 30 and "off_pct" not in payouts and payouts["off_04"] == 500
    counting.read.clear()
    # When the policy ranks three of them
    policy = HierarchicalThompson(index.offer_categories, offer_payouts=payouts, seed=1)
    ranked = policy.rank({"purchase_category": "coffee"}, ["off_02", "off_28", "off_pct"], 3)
    # Then it read those three offers only, and with nothing learned the best paying comes first
    assert sorted(set(counting.read)) == ["off_02", "off_28", "off_pct"]
    assert ranked[0] == "off_28"
