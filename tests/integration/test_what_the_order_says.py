"""Product types, offer types and complements through the API: an admin declares what an offer is
and goes with, a decision reads the order's titles, explain mode says which rule kept what out."""

import pytest

from afterglow.models import PartnerCreate, RetailerCreate
from afterglow.services import partners, retailers
from afterglow.services.keys import create_platform_key
from tests.utils import http_event, invoke

PET_COVER = {
    "category": "insurance",
    "offer_type": "insurance",
    "complements": {"categories": ["pets"]},
    "creative": {"title": "Pet cover from €4 a month"},
    "payout": {"type": "fixed", "currency": "EUR", "amounts": {"signup": 3_000}},
}
BIKE_COVER = {
    "category": "insurance",
    "offer_type": "insurance",
    "complements": {"product_types": ["bicycle"]},
    "creative": {"title": "Bike theft cover"},
    "payout": {"type": "fixed", "currency": "EUR", "amounts": {"signup": 1_000}},
}
BIKE_SUBSCRIPTION = {
    "category": "cycling",
    "offer_type": "subscription",
    "product_type": "bicycle",
    "creative": {"title": "A new bike every year, by subscription"},
    "payout": {"type": "fixed", "currency": "EUR", "amounts": {"signup": 2_000}},
}


@pytest.fixture
def api(stores, function_module):
    admin, decide = function_module("AdminFunction"), function_module("DecideFunction")
    platform = create_platform_key(stores)

    def call(module, method, path, key, body=None, query=""):
        headers = {"authorization": f"Bearer {key}"}
        return invoke(module, http_event(method, path, body=body, headers=headers, query=query))

    shop = retailers.create_retailer(
        stores, RetailerCreate(name="Bikes", currency="EUR", experiment={"holdout": 0, "mixed": 100})
    )
    partner_id = partners.create_partner(stores, PartnerCreate(name="Cover Co")).partner.partner_id
    created = {}
    for name, offer in {"pet": PET_COVER, "bike": BIKE_COVER, "subscription": BIKE_SUBSCRIPTION}.items():
        body = {**offer, "partner_id": partner_id, "landing_url": f"https://cover.example/{name}"}
        status, _, view = call(admin, "POST", "/v1/admin/offers", platform, body)
        assert status in (200, 201), view
        created[name] = view
    return call, admin, decide, platform, shop, created


def _bike_order(order_id, **fields):
    return {
        "order_id": order_id,
        "order_value_minor": 89_900,
        "currency": "EUR",
        "line_items": [
            {
                "sku": "GZ-MEDEO",
                "title": "Gazelle Medeo city bike",
                "category": "cycling",
                "price_minor": 89_900,
            }
        ],
        **fields,
    }


def test_an_offer_says_what_it_is_and_goes_with_and_reads_it_back(api):
    _, _, _, _, _, created = api
    assert created["pet"]["offer_type"] == "insurance"
    assert created["pet"]["complements"] == {"categories": ["pets"], "product_types": []}
    assert (
        created["subscription"]["product_type"] == "bicycle" and created["subscription"]["giftable"] is False
    )


def test_an_unknown_product_type_or_empty_complements_is_a_422_naming_the_field(api):
    call, admin, _, platform, _, created = api
    partner_id = created["pet"]["partner_id"]
    body = {**BIKE_COVER, "partner_id": partner_id, "landing_url": "https://cover.example/x"}
    status, _, error = call(
        admin, "POST", "/v1/admin/offers", platform, {**body, "complements": {"product_types": ["unicycle"]}}
    )
    assert status == 422 and "complements.product_types" in error["error"]["field"]
    status, _, error = call(admin, "POST", "/v1/admin/offers", platform, {**body, "complements": {}})
    assert status == 422 and "complements" in error["error"]["field"]
    status, _, error = call(admin, "POST", "/v1/admin/offers", platform, {**body, "offer_type": "gadget"})
    assert status == 422 and error["error"]["field"] == "offer_type"


def test_after_a_bike_only_the_bike_cover_shows_and_explain_says_why_the_others_do_not(api):
    call, _, decide, _, shop, created = api
    # When a bicycle is ordered (the title says so)
    status, _, decision = call(decide, "POST", "/v1/decisions", shop.publishable_key, _bike_order("b-1"))
    # Then only the bike cover is offered: no pet cover, no second bicycle
    assert status == 200 and [o["offer_id"] for o in decision["offers"]] == [created["bike"]["offer_id"]]
    # And explain mode names the rule that kept each of the others out
    status, _, explained = call(
        decide, "POST", "/v1/decisions", shop.secret_key, _bike_order("b-2"), query="explain=true"
    )
    verdicts = {c["offer_id"]: c["verdicts"] for c in explained["candidates"]}
    assert verdicts[created["pet"]["offer_id"]]["complements_what_was_bought"] == "complements_nothing_bought"
    subscription = verdicts[created["subscription"]["offer_id"]]
    assert subscription["not_the_product_type_just_bought"] == "already_bought_product_type"
    relevance = {c["offer_id"]: c["relevance"] for c in explained["candidates"]}
    assert relevance[created["bike"]["offer_id"]] == 1.0


def test_a_customer_whose_answer_names_pets_may_be_offered_pet_cover(api):
    call, _, decide, _, shop, created = api
    order = _bike_order("b-3", survey={"goal": "pets"})
    _, _, explained = call(decide, "POST", "/v1/decisions", shop.secret_key, order, query="explain=true")
    pet = next(c for c in explained["candidates"] if c["offer_id"] == created["pet"]["offer_id"])
    assert pet["eligible"]
