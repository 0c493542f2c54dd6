"""Outside-audit findings on the decision path (issue "Outside audit"): each test failed before."""

import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ReadTimeoutError

from afterglow.errors import StoreUnavailable
from afterglow.models import Creative, FixedPayout, Offer, RetailerCreate, RetailerUpdate, SurveyQuestion
from afterglow.services import catalog_entities, retailers
from tests.utils import http_event, invoke, order, seed_catalog, signed_headers


@pytest.fixture
def shop(stores):
    return seed_catalog(stores, category="coffee")


def _decide(function_module, key, body, *, query="", headers=None):
    event = http_event(
        "POST",
        "/v1/decisions",
        body=body,
        headers={"authorization": f"Bearer {key}", **(headers or {})},
        query=query,
    )
    return invoke(function_module("DecideFunction"), event)


# --- H1: no counter state and no internal error ever answers 5xx --------------------------------


def test_conversions_recorded_without_impressions_never_break_decisions(
    stores, function_module, shop, learning_loop
):
    # Given an offer clicked and converted twice with no impression event (the README tour sends none)
    _, _, first = _decide(function_module, shop.publishable_key, order("h1-0"))
    click = http_event("GET", f"/v1/c/{first['offers'][0]['tracking_token']}", route_path="/v1/c/{token}")
    click_id = invoke(function_module("TrackFunction"), click)[1]["location"].rsplit("click_id=", 1)[1]
    for action in ("signup", "first_purchase"):
        raw = json.dumps(
            {"click_id": click_id, "conversion_id": f"h1-{action}", "action": action,
             "occurred_at": datetime.now(UTC).isoformat()}
        ).encode()  # fmt: skip
        headers = signed_headers(shop.webhook_secret, raw, msg_id=f"msg_{action}")
        event = http_event("POST", "/v1/webhooks/conversions", raw=raw, headers=headers)
        assert invoke(function_module("WebhooksFunction"), event)[2]["status"] == "recorded"
    learning_loop.run_once()  # aggregated and published: decide loads the model
    # When a shopper's order considers that offer
    status, _, decision = _decide(function_module, shop.publishable_key, order("h1-1"))
    # Then the page gets the offer, not a 500 and not a degraded answer
    assert status == 200, decision
    assert decision["degraded"] is False
    assert [offer["offer_id"] for offer in decision["offers"]] == [shop.offer_id]


def test_an_unexpected_error_after_authentication_answers_200_with_no_offers(
    stores, function_module, shop, monkeypatch
):
    # Given a bug somewhere in choosing the slate
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("afterglow.services.decisions._choose", broken)
    # When a decision is asked for, Then the confirmation page gets 200, no offers, degraded
    status, _, decision = _decide(function_module, shop.publishable_key, order("h1-2"))
    assert (status, decision["offers"], decision["degraded"]) == (200, [], True)


def test_a_failing_learned_ranking_falls_back_to_the_catalog_prior(
    stores, function_module, shop, monkeypatch
):
    # Given a learned policy that fails whenever it ranks
    def broken(self, context, arm_ids, k):
        raise ValueError("math domain error")

    monkeypatch.setattr("afterglow.learning.HierarchicalThompson.rank", broken)
    # When a decision is asked for, Then the offers still come, ranked by the catalog prior
    status, _, decision = _decide(function_module, shop.publishable_key, order("h1-3"))
    assert status == 200 and decision["degraded"] is False
    assert [offer["offer_id"] for offer in decision["offers"]] == [shop.offer_id]


# --- H2: declared vocabularies --------------------------------------------------------------------


def _clicked_context(function_module, shop, body):
    from afterglow.services.decisions import signer

    _, _, decision = _decide(function_module, shop.publishable_key, body)
    return (
        signer()
        .verify(decision["offers"][0]["tracking_token"], now=int(datetime.now(UTC).timestamp()))
        .context
    )


def test_undeclared_customer_segments_are_learned_as_other(stores, function_module, shop):
    # Given a retailer that declares the segments vip and new
    retailer = catalog_entities.load_retailer(stores.catalog, shop.retailer_id)
    retailers.update_retailer(
        stores,
        shop.retailer_id,
        RetailerUpdate(version=retailer.version, segments=["vip", "new"]),
        platform=True,
    )
    # When orders come with a declared segment and with free text
    declared = _clicked_context(function_module, shop, order("h2-1", customer={"segment": "VIP"}))
    free_text = _clicked_context(
        function_module, shop, order("h2-2", customer={"segment": "bought-on-a-tuesday-9f8e"})
    )
    # Then feedback is counted under the declared value, or under `other`
    assert declared["segment"] == "vip"
    assert free_text["segment"] == "other"


def test_a_survey_answer_outside_the_retailers_options_is_refused_422(stores, function_module):
    created = retailers.create_retailer(
        stores,
        RetailerCreate(
            name="Gifts",
            currency="EUR",
            survey=SurveyQuestion(
                key="is_gift",
                question="Is this a gift?",
                options=[{"value": True, "label": "Yes"}, {"value": False, "label": "No"}],
            ),
        ),
    )
    answer = "someone@example.com " + "x" * 40
    status, _, body = _decide(
        function_module, created.publishable_key, order("h2-3", survey={"is_gift": answer})
    )
    assert status == 422 and body["error"]["field"] == "survey.is_gift"
    status, _, _ = _decide(function_module, created.publishable_key, order("h2-4", survey={"is_gift": True}))
    assert status == 200


# --- M1: replays are bound to the request, links to the configured URL --------------------------


def test_an_order_id_posted_in_advance_never_serves_its_slate_to_the_real_shopper(
    stores, function_module, shop
):
    # Given someone with the publishable key posts an order id the shop will use later
    forged = order("2026-000123", customer={"email": "attacker@example.com"})
    _, _, planted = _decide(function_module, shop.publishable_key, forged)
    # When the real shopper's confirmation page asks for that order
    real = order("2026-000123", customer={"email": "shopper@example.com"})
    status, _, decision = _decide(function_module, shop.publishable_key, real)
    # Then the shopper gets a decision of their own, and a reload of their page gets it again
    assert status == 200 and decision["decision_id"] != planted["decision_id"]
    assert _decide(function_module, shop.publishable_key, real)[2] == decision


def test_click_links_never_point_at_the_requests_host(stores, function_module, shop, monkeypatch):
    monkeypatch.setenv("PUBLIC_API_URL", "https://offers.shop.example")
    from afterglow.settings import get_settings

    get_settings.cache_clear()
    _, _, decision = _decide(
        function_module, shop.publishable_key, order("m1-3"), headers={"host": "evil.example"}
    )
    assert decision["offers"][0]["click_url"].startswith("https://offers.shop.example/v1/c/")
    # And without a configured URL, the link is the API's own, never the Host header's
    monkeypatch.delenv("PUBLIC_API_URL")
    get_settings.cache_clear()
    _, _, decision = _decide(
        function_module, shop.publishable_key, order("m1-4"), headers={"host": "evil.example"}
    )
    assert "evil.example" not in decision["offers"][0]["click_url"]
    assert ".execute-api." in decision["offers"][0]["click_url"]


# --- L1: another retailer's own brand is invisible ----------------------------------------------


def _own_brand_offer(stores, retailer_id):
    offer = Offer(
        offer_id=f"off_own_{retailer_id[-6:]}",
        partner_id=retailer_id,
        kind="first_party",
        category="coffee",
        creative=Creative(title="House beans", price_minor=1234),
        landing_url="https://shop.example/beans",
        payout=FixedPayout(currency="EUR", amounts={"signup": 0}),
        attribution_window_days=1,
        lock_days=0,
        created_at=datetime.now(UTC),
    )
    stores.catalog.create("OFFER", offer.offer_id, offer.model_dump(mode="json"))
    return offer.offer_id


def test_explain_never_lists_another_retailers_own_brand_offers(stores, function_module, shop):
    other = retailers.create_retailer(stores, RetailerCreate(name="Other", currency="EUR"))
    theirs = _own_brand_offer(stores, other.retailer.retailer_id)
    status, _, body = _decide(function_module, shop.secret_key, order("l1-1"), query="explain=true")
    assert status == 200
    listed = {candidate["offer_id"] for candidate in body["candidates"]}
    assert shop.offer_id in listed and theirs not in listed


def test_suppressing_another_retailers_own_brand_offer_is_not_found_like_an_unknown_id(
    stores, function_module, shop
):
    other = retailers.create_retailer(stores, RetailerCreate(name="Other", currency="EUR"))
    theirs = _own_brand_offer(stores, other.retailer.retailer_id)

    def suppress(offer_id):
        path = f"/v1/admin/retailers/{shop.retailer_id}/audit/suppressions"
        event = http_event(
            "POST",
            path,
            route_path="/v1/admin/retailers/{retailer_id}/audit/suppressions",
            body={"purchase_category": "kitchen", "offer_id": offer_id},
            headers={"authorization": f"Bearer {shop.secret_key}"},
        )
        return invoke(function_module("AdminFunction"), event)

    (theirs_status, _, theirs_body), (unknown_status, _, unknown_body) = (
        suppress(theirs),
        suppress("off_nope"),
    )
    assert theirs_status == unknown_status == 404
    assert theirs_body["error"]["code"] == unknown_body["error"]["code"]


# --- L4: keys are bounded in bytes ----------------------------------------------------------------


def test_a_long_non_ascii_order_id_is_refused_422_not_degraded(stores, function_module, shop):
    status, _, body = _decide(function_module, shop.publishable_key, order("ü" * 100))
    assert status == 422 and body["error"]["field"] == "order_id"
    status, _, decision = _decide(function_module, shop.publishable_key, order("ü" * 64))
    assert status == 200 and decision["degraded"] is False


# --- Money: a decision is recorded if and only if it was answered with its offers ----------------


def test_a_decision_whose_write_answer_was_lost_is_answered_as_recorded_not_degraded(
    stores, function_module, shop, monkeypatch
):
    # Given the decision's write lands but its answer never comes back (a timeout)
    real_record = stores.decisions.record_decision

    def lands_then_times_out(*args, **kwargs):
        real_record(*args, **kwargs)
        raise StoreUnavailable("ReadTimeoutError; retry later") from ReadTimeoutError(
            endpoint_url="https://dynamodb"
        )

    monkeypatch.setattr(stores.decisions, "record_decision", lands_then_times_out)
    status, _, decision = _decide(function_module, shop.publishable_key, order("money-1"))
    # Then the page gets the recorded offers, not a degraded answer that would count unseen offers
    assert status == 200 and decision["degraded"] is False
    day = datetime.now(UTC).date().isoformat()
    recorded = [r for r in stores.ledger.read_day(day) if r["kind"] == "decision"]
    assert [r["decision_id"] for r in recorded] == [decision["decision_id"]]


def test_a_decision_whose_write_failed_is_degraded_and_recorded_nowhere(
    stores, function_module, shop, monkeypatch
):
    def times_out(*args, **kwargs):
        raise StoreUnavailable("ReadTimeoutError; retry later") from ReadTimeoutError(
            endpoint_url="https://dynamodb"
        )

    monkeypatch.setattr(stores.decisions, "record_decision", times_out)
    status, _, decision = _decide(function_module, shop.publishable_key, order("money-2"))
    assert status == 200 and decision["degraded"] is True
    day = datetime.now(UTC).date().isoformat()
    assert [r for r in stores.ledger.read_day(day) if r["kind"] == "decision"] == []
