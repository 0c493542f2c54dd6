"""`POST /v1/decisions` on moto: rules hold on adversarial orders, explain, degradation, round trips."""

from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError

from afterglow.models import (
    Creative,
    FixedPayout,
    Offer,
    OfferCreate,
    PartnerCreate,
    RetailerCreate,
    RetailerUpdate,
)
from afterglow.services import keys, offers, partners, retailers
from tests.utils import http_event, invoke


@pytest.fixture
def shop(stores):
    """A retailer with rules, and partner offers in many categories (two from one partner)."""
    created = retailers.create_retailer(
        stores,
        RetailerCreate(
            name="Shop",
            currency="EUR",
            experiment={"holdout": 0, "mixed": 100},
            rules={"blocked_categories": ["grocery"]},
        ),
    )
    partner_ids = [
        partners.create_partner(stores, PartnerCreate(name=f"P{i}")).partner.partner_id for i in range(4)
    ]
    for i, category in enumerate(["coffee", "meal_kits", "grocery", "insurance", "coffee"]):
        offers.create_offer(
            stores,
            OfferCreate(
                partner_id=partner_ids[min(i, 3)],
                category=category,
                creative=Creative(title=f"{category} {i}", exclusive_minutes=5),
                landing_url=f"https://p{i}.example",
                payout=FixedPayout(currency="EUR", amounts={"signup": 100 * (i + 1)}),
            ),
        )
    first_party = {
        "refill": Offer(
            offer_id="off_refill",
            partner_id=created.retailer.retailer_id,
            kind="first_party",
            category="coffee",
            tags=["refill"],
            creative=Creative(title="Beans refill", price_minor=900),
            landing_url="https://shop.example/refill",
            payout=FixedPayout(currency="EUR", amounts={"signup": 0}),
            attribution_window_days=1,
            lock_days=0,
            created_at=datetime.now(UTC),
        ),
    }
    for item in first_party.values():
        stores.catalog.create("OFFER", item.offer_id, item.model_dump(mode="json"))
    return created


def _decide(function_module, key, body, query=""):
    event = http_event(
        "POST", "/v1/decisions", body=body, headers={"authorization": f"Bearer {key}"}, query=query
    )
    return invoke(function_module("DecideFunction"), event)


def _order(order_id, **fields):
    return {
        "order_id": order_id,
        "order_value_minor": 30_000,
        "currency": "EUR",
        "line_items": [{"sku": "ESPRESSO-1", "category": "kitchen", "price_minor": 30_000}],
        "customer": {"email": f"{order_id}@example.com"},
        **fields,
    }


def test_rules_hold_on_adversarial_orders(stores, function_module, shop):
    for n in range(12):
        status, _, decision = _decide(function_module, shop.publishable_key, _order(f"adv-{n}", k=3))
        assert status == 200
        offers = decision["offers"]
        assert len(offers) <= 3
        assert all(o["category"] != "grocery" for o in offers)  # blocked by the retailer
        assert len({o["partner_id"] for o in offers}) == len(offers)  # one per partner


def test_gift_answer_suppresses_refills(stores, function_module, shop):
    # Which of the eligible coffee offers wins its slot is the learner's (random) choice, so this
    # asks the explain mode whether the refill may be shown at all.
    def refill_eligible(order):
        _, _, body = _decide(function_module, shop.secret_key, order, "explain=true")
        return next(c for c in body["candidates"] if c["offer_id"] == "off_refill")["eligible"]

    assert refill_eligible(_order("g-1"))
    assert not refill_eligible(_order("g-2", survey={"is_gift": True}))
    _, _, gift = _decide(function_module, shop.publishable_key, _order("g-3", survey={"is_gift": True}))
    assert gift["offers"] and "off_refill" not in {o["offer_id"] for o in gift["offers"]}


def test_explain_shows_each_refusal_reason_and_records_nothing(stores, function_module, shop):
    status, _, body = _decide(
        function_module, shop.secret_key, _order("e-1", survey={"is_gift": True}), "explain=true"
    )
    assert status == 200
    blocked = next(c for c in body["candidates"] if c["category"] == "grocery")
    assert blocked["verdicts"]["retailer_category_rules"] == "category_blocked_by_retailer"
    refill = next(c for c in body["candidates"] if c["offer_id"] == "off_refill")
    assert (
        refill["verdicts"]["gift_suppresses_refills"] == "gift_suppresses_refills" and not refill["eligible"]
    )
    day = datetime.now(UTC).date().isoformat()
    assert list(stores.ledger.read_day(day)) == []


def test_explain_needs_a_secret_key_of_that_retailer(stores, function_module, shop):
    assert _decide(function_module, shop.publishable_key, _order("e-2"), "explain=true")[0] == 403
    other = retailers.create_retailer(stores, RetailerCreate(name="Other", currency="EUR"))
    status, _, _ = _decide(
        function_module,
        other.secret_key,
        _order("e-3"),
        f"explain=true&retailer_id={shop.retailer.retailer_id}",
    )
    assert status == 404  # another tenant's key learns nothing, not even that the retailer exists
    platform = keys.create_platform_key(stores)
    assert (
        _decide(
            function_module, platform, _order("e-4"), f"explain=true&retailer_id={shop.retailer.retailer_id}"
        )[0]
        == 200
    )


@pytest.mark.parametrize("kind", ["retailer secret key", "platform key", "partner key"])
def test_a_secret_key_in_the_url_is_refused_and_never_used(stores, function_module, shop, kind):
    """Only publishable keys may travel in a URL (`?key=`, for sendBeacon): URLs end up in access
    logs, browser histories and Referer headers. Any other key there is 401, not used."""
    partner = partners.create_partner(stores, PartnerCreate(name="Keyed")).partner.partner_id
    key = {
        "retailer secret key": shop.secret_key,
        "platform key": keys.create_platform_key(stores),
        "partner key": keys.create_partner_key(stores, partner).api_key,
    }[kind]
    calls = [
        ("DecideFunction", "/v1/decisions", _order("u-1"), f"key={key}"),
        (
            "DecideFunction",
            "/v1/decisions",
            _order("u-2"),
            f"explain=true&retailer_id={shop.retailer.retailer_id}&key={key}",
        ),
        ("TrackFunction", "/v1/events", {"events": []}, f"key={key}"),
    ]
    for function, path, body, query in calls:
        for headers in ({}, {"authorization": f"Bearer {shop.publishable_key}"}):
            event = http_event("POST", path, body=body, headers=headers, query=query)
            status, _, answer = invoke(function_module(function), event)
            assert status == 401, (path, query, answer)
            assert "Authorization header" in answer["error"]["message"] and key not in str(answer)
            assert answer["error"]["field"] == "key"
    day = datetime.now(UTC).date().isoformat()
    assert list(stores.ledger.read_day(day)) == []


def test_a_publishable_key_in_the_url_still_decides(stores, function_module, shop):
    event = http_event("POST", "/v1/decisions", body=_order("u-3"), query=f"key={shop.publishable_key}")
    status, _, decision = invoke(function_module("DecideFunction"), event)
    assert status == 200 and decision["offers"]


def test_frequency_cap_counts_decisions_per_customer_not_reloads(stores, function_module, shop):
    capped = offers.create_offer(
        stores,
        OfferCreate(
            partner_id=partners.create_partner(stores, PartnerCreate(name="Capped")).partner.partner_id,
            category="kitchen",
            creative=Creative(title="Once only"),
            landing_url="https://cap.example",
            payout=FixedPayout(currency="EUR", amounts={"signup": 90_000}),
            frequency_cap=1,
        ),
    )
    same_customer = {"email": "loyal@example.com"}
    _, _, first = _decide(function_module, shop.publishable_key, _order("f-1", customer=same_customer))
    _, _, reload = _decide(function_module, shop.publishable_key, _order("f-1", customer=same_customer))
    _, _, second = _decide(function_module, shop.publishable_key, _order("f-2", customer=same_customer))
    assert capped.offer_id in {o["offer_id"] for o in first["offers"]}
    assert reload == first
    assert capped.offer_id not in {o["offer_id"] for o in second["offers"]}


def test_store_outage_degrades_to_no_offers_never_a_500(stores, function_module, shop, monkeypatch):
    def outage(*args, **kwargs):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            "BatchGetItem",
        )

    monkeypatch.setattr(stores.decisions, "read_state", outage)
    status, _, body = _decide(function_module, shop.publishable_key, _order("d-1"))
    assert status == 200 and body["degraded"] is True and body["offers"] == []


def test_a_blown_deadline_degrades(stores, function_module, shop, monkeypatch):
    monkeypatch.setenv("DECISION_DEADLINE_MS", "10")
    from afterglow.settings import get_settings

    get_settings.cache_clear()
    clock = iter([0.0])  # the decision starts at 0 s, and every later reading says 5 s
    monkeypatch.setattr("afterglow.services.decisions.monotonic", lambda: next(clock, 5.0))
    status, _, body = _decide(function_module, shop.publishable_key, _order("d-2"))
    assert status == 200 and body["degraded"] is True


def test_a_warm_decision_makes_two_aws_round_trips(stores, function_module, shop):
    _decide(function_module, shop.publishable_key, _order("warm-0"))  # warm the caches
    calls = []
    for client in (stores.catalog._ddb, stores.decisions._ddb):  # every DynamoDB client there is
        client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    _decide(function_module, shop.publishable_key, _order("warm-1"))
    assert calls == ["BatchGetItem", "TransactWriteItems"]


def test_no_decision_state_in_other_tables_leaks_raw_customer_ids(stores, function_module, shop):
    _decide(
        function_module,
        shop.publishable_key,
        _order("pii-1", customer={"email": "Secret.Person@example.com"}),
    )
    dump = str(boto3.client("dynamodb").scan(TableName=stores.learning._table)["Items"])
    assert "secret.person" not in dump.lower()


def test_one_address_flooding_decisions_gets_429_with_retry_after(stores, function_module, shop, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_PER_IP_PER_S", "2")
    from afterglow.settings import get_settings

    get_settings.cache_clear()
    statuses = [_decide(function_module, shop.publishable_key, _order(f"flood-{i}"))[:2] for i in range(8)]
    limited = [(status, headers) for status, headers in statuses if status == 429]
    assert limited and all(int(headers["retry-after"]) >= 1 for _, headers in limited)
    assert statuses[0][0] == 200  # the first requests of the burst pass


def test_a_shops_server_with_its_secret_key_is_limited_by_its_key_not_its_address(
    stores, function_module, shop, monkeypatch
):
    # Given a per-address limit of 2 requests/s, and a shop's mailer asking for the decisions of
    # many confirmation e-mails from its one address with the shop's secret key
    monkeypatch.setenv("RATE_LIMIT_PER_IP_PER_S", "2")
    from afterglow.settings import get_settings

    get_settings.cache_clear()
    mailer = [
        _decide(function_module, shop.secret_key, _order(f"mail-{i}", placement="confirmation_email"))[0]
        for i in range(12)
    ]
    # Then none is turned away: once its key is known, the key's own limit is the one that counts
    assert mailer == [200] * 12
    # And the secret key decides e-mails only: the confirmation page still takes the publishable key
    assert _decide(function_module, shop.secret_key, _order("page-1"))[0] == 403
    # And a made-up secret key from another address is limited by that address, like anyone
    forged = http_event(
        "POST", "/v1/decisions", body=_order("forged"), headers={"authorization": "Bearer sk_made_up_key_x"}
    )
    forged["requestContext"]["http"]["sourceIp"] = "198.51.100.7"
    statuses = [invoke(function_module("DecideFunction"), forged)[0] for _ in range(8)]
    assert 401 in statuses and 429 in statuses


def _one_slot_shop_with_coffee_offers(stores, payouts: dict[str, int]):
    """A retailer showing one offer, and per name a partner with one coffee offer paying that much
    per sign-up; the retailer and each name's offer id."""
    created = retailers.create_retailer(
        stores,
        RetailerCreate(name="Learner", currency="EUR", experiment={"holdout": 0, "mixed": 100}, max_offers=1),
    )
    ids = {}
    for name, payout in payouts.items():
        partner = partners.create_partner(stores, PartnerCreate(name=name)).partner.partner_id
        ids[name] = offers.create_offer(
            stores,
            OfferCreate(
                partner_id=partner,
                category="coffee",
                creative=Creative(title=name),
                landing_url=f"https://{name}.example",
                payout=FixedPayout(currency="EUR", amounts={"signup": payout}),
            ),
        ).offer_id
    return created, ids


def test_feedback_from_conversions_reaches_the_ranking(stores, function_module, learning_loop):
    # Given two coffee offers where the catalog prior prefers A (it pays more per conversion)
    created, ids = _one_slot_shop_with_coffee_offers(stores, {"A": 900, "B": 800})
    first = [
        _decide(function_module, created.publishable_key, _order(f"l-{i}", k=1))[2]["offers"][0]["offer_id"]
        for i in range(5)
    ]
    # When the ledger holds 200 exposures of each after kitchen orders, B converting 60 times, A never
    retailer_id, now = created.retailer.retailer_id, datetime.now(UTC)
    context = {"purchase_category": "kitchen"}
    for n in range(200):
        for name in ("A", "B"):
            body = {"retailer_id": retailer_id, "offer_ids": [ids[name]], "context": context}
            stores.ledger.record_once(f"DECISION#test#{name}{n}", "decision", now, body)
    for n in range(60):
        body = {"retailer_id": retailer_id, "offer_id": ids["B"], "context": context, "payout_minor": 800}
        stores.ledger.record_once(f"CONVERSION#test#{n}", "conversion", now, body)
    learning_loop.run_once()  # aggregated from the ledger's stream, published as a model
    # Then decisions for kitchen orders now put B first
    later = [
        _decide(function_module, created.publishable_key, _order(f"m-{i}", k=1))[2]["offers"][0]["offer_id"]
        for i in range(10)
    ]
    assert first.count(ids["A"]) >= 1
    assert later.count(ids["B"]) >= 9


def test_the_learned_ranking_knows_from_the_catalog_what_each_offer_pays(
    stores, function_module, learning_loop
):
    # Given two coffee offers alike in everything the ledger holds (200 exposures each, no
    # conversion yet), one paying ten times the other
    created, ids = _one_slot_shop_with_coffee_offers(stores, {"rich": 5_000, "poor": 500})
    retailer_id, now = created.retailer.retailer_id, datetime.now(UTC)
    for n in range(200):
        for name in ("rich", "poor"):
            body = {
                "retailer_id": retailer_id,
                "offer_ids": [ids[name]],
                "context": {"purchase_category": "kitchen"},
            }
            stores.ledger.record_once(f"DECISION#pay#{name}{n}", "decision", now, body)
    learning_loop.run_once()
    # When the learned model ranks them for 20 orders
    shown = [
        _decide(function_module, created.publishable_key, _order(f"p-{i}", k=1))[2]["offers"][0]["offer_id"]
        for i in range(20)
    ]
    # Then the one the catalog says pays more comes first every time (without the catalog's payouts
    # the two would be a coin toss)
    assert shown == [ids["rich"]] * 20


def test_a_tiered_shop_gets_its_offers_highest_value_first_and_explain_shows_each_tier(
    stores, function_module
):
    # Given a retailer asking for tiered slates, and one offer per tier (plus one that pays most)
    shop = retailers.create_retailer(
        stores, RetailerCreate(name="Tiers", currency="EUR", experiment={"holdout": 0, "mixed": 100})
    )
    layout = RetailerUpdate(version=shop.retailer.version, slate_layout="tiered")
    retailers.update_retailer(stores, shop.retailer.retailer_id, layout, platform=False)
    tiers = {"coffee": "low_friction", "meal_kits": "accessory", "kitchen": "bundle", "grocery": None}
    for i, (category, tier) in enumerate(tiers.items()):
        partner = partners.create_partner(stores, PartnerCreate(name=f"T{i}")).partner.partner_id
        offers.create_offer(
            stores,
            OfferCreate(
                partner_id=partner,
                category=category,
                tier=tier,
                creative=Creative(title=f"{category} offer"),
                landing_url=f"https://t{i}.example",
                payout=FixedPayout(currency="EUR", amounts={"signup": 5_000 if tier is None else 100}),
            ),
        )
    order = _order("tier-1", line_items=[{"sku": "S-1", "category": "kitchen", "price_minor": 30_000}])

    # When a customer checks out
    status, _, decision = _decide(function_module, shop.publishable_key, order)

    # Then the slate is bundle, accessory, low-friction: the best-paying untiered offer waits its turn
    assert status == 200
    assert [offer["tier"] for offer in decision["offers"]] == ["bundle", "accessory", "low_friction"]
    _, _, explained = _decide(function_module, shop.secret_key, order, "explain=true")
    assert explained["slate_layout"] == "tiered"
    assert {c["category"]: c["tier"] for c in explained["candidates"]} == tiers
