"""Partner conversion webhooks: Standard Webhooks verification, attribution, once-only money."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from afterglow.errors import InvalidInput
from afterglow.models import Creative, OfferCreate, PartnerCreate, PercentPayout
from afterglow.services import keys, offers, partners
from afterglow.services.conversions import ConversionDesk
from afterglow.services.tracking import record_click
from afterglow.signing import new_webhook_secret
from afterglow.store.dynamo import serialize
from tests.utils import http_event, invoke, seed_catalog, signed_headers


@pytest.fixture
def world(stores, function_module):
    """A seeded catalog and a real click on its offer."""
    seeded = seed_catalog(stores, category="coffee")
    event = http_event(
        "POST", "/v1/decisions", body=_order(), headers={"authorization": f"Bearer {seeded.publishable_key}"}
    )
    _, _, decision = invoke(function_module("DecideFunction"), event)
    token = decision["offers"][0]["tracking_token"]
    location = record_click(stores, token)
    return seeded, location.rsplit("click_id=", 1)[1], token


def _order(order_id="o-1"):
    return {
        "order_id": order_id,
        "order_value_minor": 9900,
        "currency": "EUR",
        "line_items": [{"sku": "GRINDER", "category": "kitchen", "price_minor": 9900}],
        "customer": {"id": "cust-1", "segment": "vip"},
    }


def _deliver(stores, secret, payload, msg_id="msg_1", **extra_headers):
    raw = json.dumps(payload).encode()
    headers = {**signed_headers(secret, raw, msg_id=msg_id), **extra_headers}
    return ConversionDesk(stores).receive(headers, raw)


def _conversion(click_id, conversion_id="c-1", **fields):
    return {
        "click_id": click_id,
        "conversion_id": conversion_id,
        "action": "signup",
        "occurred_at": datetime.now(UTC).isoformat(),
        **fields,
    }


def test_unknown_fields_are_refused_so_partners_cannot_smuggle_a_payout(stores, world, invoke_webhook):
    seeded, click_id, _ = world
    raw = json.dumps(_conversion(click_id, payout_minor=999_999)).encode()
    status, _, body = invoke_webhook(seeded.webhook_secret, raw)
    assert (status, body["error"]["field"]) == (422, "payout_minor")


@pytest.fixture
def invoke_webhook(function_module):
    def call(secret, raw, **headers):
        event = http_event(
            "POST", "/v1/webhooks/conversions", raw=raw, headers={**signed_headers(secret, raw), **headers}
        )
        return invoke(function_module("WebhooksFunction"), event)

    return call


def test_concurrent_duplicate_deliveries_record_exactly_once(moto_server_stores):
    stores = moto_server_stores
    seeded = seed_catalog(stores, category="coffee")
    from afterglow.services.decisions import signer
    from afterglow.signing import TrackingClaims

    claims = TrackingClaims(
        seeded.retailer_id, "dec_c", seeded.offer_id, "mixed", int(datetime.now(UTC).timestamp())
    )
    click_id = record_click(stores, signer().sign(claims)).rsplit("=", 1)[1]
    payload = _conversion(click_id, "c-race")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda i: _deliver(stores, seeded.webhook_secret, payload, f"msg_{i}"), range(16))
        )
    assert sorted(r.status for r in results).count("recorded") == 1
    assert {r.status for r in results} == {"recorded", "duplicate"}
    day = datetime.now(UTC).date().isoformat()
    conversions = [r for r in stores.ledger.read_day(day) if r["kind"] == "conversion"]
    assert len(conversions) == 1 and conversions[0]["payout_minor"] == 700


def test_second_conversion_of_the_same_action_on_one_click_is_rejected(stores, world):
    seeded, click_id, _ = world
    assert _deliver(stores, seeded.webhook_secret, _conversion(click_id, "c-1")).status == "recorded"
    again = _deliver(stores, seeded.webhook_secret, _conversion(click_id, "c-2"))
    assert (again.status, again.reason) == ("rejected", "click_already_converted_for_this_action")
    other_action = _deliver(
        stores, seeded.webhook_secret, _conversion(click_id, "c-3", action="first_purchase")
    )
    assert (other_action.status, other_action.payout_minor) == ("recorded", 1500)


def test_partner_cannot_convert_another_partners_click(stores, world, invoke_webhook):
    _, click_id, _ = world
    intruder = partners.create_partner(stores, PartnerCreate(name="Intruder"))
    result = _deliver(
        stores,
        intruder.webhook_secret,
        _conversion(click_id, "steal-1"),
        **{"afterglow-partner": intruder.partner.partner_id},
    )
    assert (result.status, result.reason) == ("rejected", "click_belongs_to_another_partner")
    assert stores.ledger.get(f"CONVERSION#{intruder.partner.partner_id}#steal-1") is None
    # Without naming itself, the intruder's signature is checked against the click owner's secrets: 401
    raw = json.dumps(_conversion(click_id, "steal-2")).encode()
    status, _, _ = invoke_webhook(intruder.webhook_secret, raw)
    assert status == 401


def test_conversion_outside_the_window_is_rejected_and_kept_for_reconciliation(stores, world):
    seeded, click_id, _ = world
    late = (datetime.now(UTC) + timedelta(days=31)).isoformat()
    result = _deliver(stores, seeded.webhook_secret, _conversion(click_id, "late-1", occurred_at=late))
    assert (result.status, result.reason) in {
        ("rejected", "outside_attribution_window"),
        ("rejected", "occurred_in_future"),
    }
    kept = stores.ledger.get(f"REJECTED#{seeded.partner_id}#late-1")
    assert kept["kind"] == "rejected_conversion" and kept["retailer_id"] == seeded.retailer_id


def test_stale_missing_and_forged_signatures_are_401_and_record_nothing(stores, world, function_module):
    seeded, click_id, _ = world
    raw = json.dumps(_conversion(click_id, "sig-1")).encode()
    module = function_module("WebhooksFunction")
    stale = signed_headers(seeded.webhook_secret, raw, at=datetime.now(UTC) - timedelta(minutes=6))
    future = signed_headers(seeded.webhook_secret, raw, at=datetime.now(UTC) + timedelta(minutes=6))
    forged = signed_headers(new_webhook_secret(), raw)
    garbage = {**signed_headers(seeded.webhook_secret, raw), "webhook-signature": "v1,@@@ nonsense"}
    for headers in (stale, future, forged, garbage, {}):
        status, _, body = invoke(
            module, http_event("POST", "/v1/webhooks/conversions", raw=raw, headers=headers)
        )
        assert status == 401 and body["error"]["message"] == "invalid webhook signature"
    assert stores.ledger.get(f"CONVERSION#{seeded.partner_id}#sig-1") is None


def test_any_currently_valid_secret_verifies_during_rotation(stores, world):
    seeded, click_id, _ = world
    new_secret = new_webhook_secret()
    stores.catalog._ddb.update_item(
        TableName=stores.catalog._table,
        Key=serialize({"pk": f"PARTNER#{seeded.partner_id}", "sk": "PROFILE"}),
        UpdateExpression="SET webhook_secrets = :s",
        ExpressionAttributeValues={":s": serialize({"s": [new_secret, seeded.webhook_secret]})["s"]},
    )
    assert _deliver(stores, seeded.webhook_secret, _conversion(click_id, "old")).status == "recorded"
    assert (
        _deliver(stores, new_secret, _conversion(click_id, "new", action="first_purchase")).status
        == "recorded"
    )


def test_signature_covers_the_raw_bytes_not_a_reparse(stores, world):
    seeded, click_id, _ = world
    raw = json.dumps(_conversion(click_id, "raw-1")).encode()
    headers = signed_headers(seeded.webhook_secret, raw)
    respaced = raw.replace(b": ", b":")  # same JSON, different bytes
    with pytest.raises(Exception, match="invalid webhook signature"):
        ConversionDesk(stores).receive(headers, respaced)


def test_full_reversal_before_lock_creates_a_negative_entry_once(stores, world):
    seeded, click_id, _ = world
    _deliver(stores, seeded.webhook_secret, _conversion(click_id, "c-1", action="first_purchase"))
    reversal = {
        "type": "reversal",
        "partner_id": seeded.partner_id,
        "conversion_id": "c-1",
        "reversal_id": "r-1",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    first = _deliver(stores, seeded.webhook_secret, reversal, "msg_r1")
    again = _deliver(stores, seeded.webhook_secret, reversal, "msg_r1")
    assert (first.status, first.payout_minor) == ("recorded", -1500)
    assert again.status == "duplicate"
    another = _deliver(stores, seeded.webhook_secret, {**reversal, "reversal_id": "r-2"}, "msg_r2")
    assert (another.status, another.reason) == ("rejected", "already_fully_reversed")


def test_partial_refund_of_a_percentage_conversion_is_prorated(stores, function_module):
    seeded = seed_catalog(stores, category="coffee")
    offer = offers.create_offer(
        stores,
        OfferCreate(
            partner_id=seeded.partner_id,
            category="gifts",
            creative=Creative(title="Gift box"),
            landing_url="https://beans.example/gift",
            payout=PercentPayout(bps=1000, actions=["first_purchase"]),
        ),
    )
    from afterglow.services.decisions import signer
    from afterglow.signing import TrackingClaims

    token = signer().sign(
        TrackingClaims(
            seeded.retailer_id, "dec_x", offer.offer_id, "mixed", int(datetime.now(UTC).timestamp())
        )
    )
    click_id = record_click(stores, token).rsplit("click_id=", 1)[1]
    bought = _conversion(click_id, "p-1", action="first_purchase", amount_minor=10_001, currency="EUR")
    assert _deliver(stores, seeded.webhook_secret, bought).payout_minor == 1000  # 10% of 100.01, half up
    refund = {
        "type": "reversal",
        "partner_id": seeded.partner_id,
        "conversion_id": "p-1",
        "reversal_id": "rf-1",
        "amount_minor": 2_500,
        "currency": "EUR",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    partial = _deliver(stores, seeded.webhook_secret, refund, "m-rf1")
    assert (partial.status, partial.payout_minor) == ("recorded", -250)  # 1000 x 2500 / 10001, half up
    wrong_currency = _deliver(
        stores, seeded.webhook_secret, {**refund, "reversal_id": "rf-2", "currency": "USD"}, "m-rf2"
    )
    assert wrong_currency.reason == "currency_mismatch"
    too_much = _deliver(
        stores, seeded.webhook_secret, {**refund, "reversal_id": "rf-3", "amount_minor": 20_000}, "m-rf3"
    )
    assert too_much.reason == "refund_exceeds_converted_amount"
    rest = _deliver(
        stores,
        seeded.webhook_secret,
        {**refund, "reversal_id": "rf-4", "amount_minor": None, "currency": None},
        "m-rf4",
    )
    assert (rest.status, rest.payout_minor) == ("recorded", -750)  # never more than was paid


def test_reversal_after_the_lock_period_is_rejected(stores, function_module):
    seeded = seed_catalog(stores, category="coffee")
    offer = offers.create_offer(
        stores,
        OfferCreate(
            partner_id=seeded.partner_id,
            category="coffee",
            creative=Creative(title="No lock"),
            landing_url="https://beans.example/x",
            payout={"type": "fixed", "currency": "EUR", "amounts": {"signup": 300}},
            lock_days=0,
        ),
    )
    from afterglow.services.decisions import signer
    from afterglow.signing import TrackingClaims

    token = signer().sign(
        TrackingClaims(
            seeded.retailer_id, "dec_y", offer.offer_id, "mixed", int(datetime.now(UTC).timestamp())
        )
    )
    click_id = record_click(stores, token).rsplit("click_id=", 1)[1]
    assert _deliver(stores, seeded.webhook_secret, _conversion(click_id, "l-1")).status == "recorded"
    reversal = {
        "type": "reversal",
        "partner_id": seeded.partner_id,
        "conversion_id": "l-1",
        "reversal_id": "lr-1",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    result = _deliver(stores, seeded.webhook_secret, reversal, "m-lr1")
    assert (result.status, result.reason) == ("rejected", "conversion_locked")


def test_every_verified_delivery_is_in_the_partner_delivery_log(stores, world, function_module):
    seeded, click_id, _ = world
    _deliver(stores, seeded.webhook_secret, _conversion(click_id, "d-1"), "msg_d1")
    _deliver(
        stores,
        seeded.webhook_secret,
        _conversion("clk_nope", "d-2"),
        "msg_d2",
        **{"afterglow-partner": seeded.partner_id},
    )
    key = keys.create_platform_key(stores)
    event = http_event(
        "GET",
        f"/v1/admin/partners/{seeded.partner_id}/deliveries",
        route_path="/v1/admin/partners/{partner_id}/deliveries",
        headers={"authorization": f"Bearer {key}"},
    )
    status, _, page = invoke(function_module("AdminFunction"), event)
    assert status == 200
    outcomes = {(d["webhook_id"], d["outcome"], d["reason"]) for d in page["items"]}
    assert outcomes == {("msg_d1", "recorded", None), ("msg_d2", "rejected", "unknown_click")}


def test_conversions_feed_the_learning_counters(stores, world, learning_loop):
    seeded, click_id, _ = world
    _deliver(stores, seeded.webhook_secret, _conversion(click_id, "learn-1"))
    learning_loop.run_once()  # the ledger's stream, folded by the aggregator
    rows = {row["sk"]: row for row in stores.learning.counters(seeded.offer_id)}
    assert rows["*=*"]["converted"] == 1 and rows["*=*"]["revenue_minor"] == 700
    assert rows["purchase_category=kitchen"]["engaged"] == 1  # the click
    # vip is not among the retailer's declared segments: learned as its `other`
    assert rows[f"segment={seeded.retailer_id}/other"]["converted"] == 1


def test_reference_library_signature_verifies_against_our_secret_format(stores, world):
    seeded, _, _ = world
    assert Webhook(seeded.webhook_secret).sign("m", datetime.now(UTC), "{}").startswith("v1,")


def test_a_throttled_store_answers_retryable_503_and_the_retry_records_once(
    stores, world, invoke_webhook, monkeypatch
):
    from botocore.exceptions import ClientError

    from afterglow.store.dynamo import Unavailable

    seeded, click_id, _ = world
    raw = json.dumps(_conversion(click_id, "throttled-1")).encode()
    working = stores.ledger._ddb
    aws = working._client  # the boto3 client behind the store's

    class ThrottledWrites:
        """The ledger's AWS client, throttling every write after botocore's retries."""

        def __getattr__(self, name):
            return getattr(aws, name)

        def put_item(self, **kwargs):
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "PutItem"
            )

    monkeypatch.setattr(stores.ledger, "_ddb", Unavailable(ThrottledWrites()))
    status, headers, body = invoke_webhook(seeded.webhook_secret, raw)
    assert (status, body["error"]["code"], headers["retry-after"]) == (503, "unavailable", "5")
    monkeypatch.setattr(stores.ledger, "_ddb", working)
    status, _, body = invoke_webhook(seeded.webhook_secret, raw)
    assert (status, body["status"]) == (200, "recorded")
    assert invoke_webhook(seeded.webhook_secret, raw)[2]["status"] == "duplicate"


@pytest.mark.parametrize("overflowing", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_an_occurred_at_beyond_the_calendar_in_utc_is_a_422_naming_it(
    stores, world, invoke_webhook, overflowing
):
    seeded, click_id, _ = world
    raw = json.dumps(_conversion(click_id, occurred_at=overflowing)).encode()
    status, _, body = invoke_webhook(seeded.webhook_secret, raw)
    assert (status, body["error"]["field"]) == (422, "occurred_at")


def test_deeply_nested_json_is_a_400_malformed_body_signed_or_not(stores, world, function_module):
    # Given a body nested deeper than any JSON parser recurses (an attacker needs no secret for it)
    seeded, _, _ = world
    raw = b"[" * 100_000
    module = function_module("WebhooksFunction")
    for headers in ({}, signed_headers(seeded.webhook_secret, raw)):
        # When it is posted, unsigned or signed by the partner
        status, _, body = invoke(
            module, http_event("POST", "/v1/webhooks/conversions", raw=raw, headers=headers)
        )
        # Then it is refused as a malformed body, not a server error
        assert (status, body["error"]["code"], body["error"]["field"]) == (400, "malformed_json", "body")


@pytest.mark.parametrize("webhook_id", ["msg_" + "x" * 1_000, "msg_" + "x" * 253, "msg\x7f1", "msg_é"])
def test_an_over_long_or_unprintable_webhook_id_is_a_400_and_records_nothing(
    stores, world, function_module, webhook_id
):
    # Given a conversion validly signed under a webhook-id no delivery-log key can hold
    seeded, click_id, _ = world
    raw = json.dumps(_conversion(click_id, "long-id-1")).encode()
    headers = signed_headers(seeded.webhook_secret, raw, msg_id=webhook_id)
    module = function_module("WebhooksFunction")
    # When it is delivered
    status, _, body = invoke(module, http_event("POST", "/v1/webhooks/conversions", raw=raw, headers=headers))
    # Then it is refused as a bad request naming the header, and nothing is written
    assert (status, body["error"]["field"]) == (400, "webhook-id")
    assert stores.ledger.get(f"CONVERSION#{seeded.partner_id}#long-id-1") is None
    # And the same conversion under a sane id is recorded, not called a duplicate
    headers = signed_headers(seeded.webhook_secret, raw, msg_id="msg_ok")
    status, _, body = invoke(module, http_event("POST", "/v1/webhooks/conversions", raw=raw, headers=headers))
    assert (status, body["status"]) == (200, "recorded")


def test_a_webhook_id_of_256_characters_is_accepted(stores, world, function_module):
    seeded, click_id, _ = world
    raw = json.dumps(_conversion(click_id, "id-256")).encode()
    headers = signed_headers(seeded.webhook_secret, raw, msg_id="m" * 256)
    event = http_event("POST", "/v1/webhooks/conversions", raw=raw, headers=headers)
    status, _, body = invoke(function_module("WebhooksFunction"), event)
    assert (status, body["status"]) == (200, "recorded")


def test_names_too_long_for_a_store_key_are_refused_as_bad_input_not_a_store_error(
    stores, world, invoke_webhook, monkeypatch
):
    # Given DynamoDB's key limits, which it enforces on reads too (moto checks only writes)
    seeded, click_id, _ = world
    real_get = stores.ledger._ddb.get_item

    def get_item_as_dynamodb(**kwargs):
        if any(len(value["S"].encode()) > 2048 for value in kwargs["Key"].values()):
            raise stores.ledger._ddb.exceptions.ClientError(
                {"Error": {"Code": "ValidationException", "Message": "Size of hashkey has exceeded"}},
                "GetItem",
            )
        return real_get(**kwargs)

    monkeypatch.setattr(stores.ledger._ddb, "get_item", get_item_as_dynamodb)
    as_partner = {"afterglow-partner": seeded.partner_id}
    # Then an over-long click id is a 422 naming it (it was looked up before the body was validated)
    long_click = json.dumps(_conversion("é" * 1_100, "k-1")).encode()
    status, _, body = invoke_webhook(seeded.webhook_secret, long_click, **as_partner)
    assert (status, body["error"]["field"]) == (422, "click_id")
    # And an over-long partner name, in the header or in the body, names nobody: 401
    raw = json.dumps(_conversion(click_id, "k-2")).encode()
    assert invoke_webhook(seeded.webhook_secret, raw, **{"afterglow-partner": "p" * 3_000})[0] == 401
    raw = json.dumps({**_conversion("clk_unknown", "k-3"), "partner_id": "é" * 1_100}).encode()
    assert invoke_webhook(seeded.webhook_secret, raw)[0] == 401
    # And a non-ASCII click id within 128 characters is bad input too (ours are ASCII)
    raw = json.dumps(_conversion("é" * 128, "k-4")).encode()
    status, _, body = invoke_webhook(seeded.webhook_secret, raw, **as_partner)
    assert (status, body["error"]["field"]) == (422, "click_id")


@pytest.fixture
def percent_click(stores):
    """A click on a 10% offer (first purchases) of the seeded partner: (seeded, click_id)."""
    return _percent_click(stores)


def _percent_click(stores):
    seeded = seed_catalog(stores, category="coffee")
    offer = offers.create_offer(
        stores,
        OfferCreate(
            partner_id=seeded.partner_id,
            category="gifts",
            creative=Creative(title="Gift box"),
            landing_url="https://beans.example/gift",
            payout=PercentPayout(bps=1000, actions=["first_purchase"]),
        ),
    )
    from afterglow.services.decisions import signer
    from afterglow.signing import TrackingClaims

    token = signer().sign(
        TrackingClaims(
            seeded.retailer_id, "dec_p", offer.offer_id, "mixed", int(datetime.now(UTC).timestamp())
        )
    )
    click_id = record_click(stores, token).rsplit("click_id=", 1)[1]
    return seeded, click_id


def _refund(seeded, reversal_id, amount_minor=None, conversion_id="p-1"):
    return {
        "type": "reversal",
        "partner_id": seeded.partner_id,
        "conversion_id": conversion_id,
        "reversal_id": reversal_id,
        "amount_minor": amount_minor,
        "currency": "EUR" if amount_minor is not None else None,
        "occurred_at": datetime.now(UTC).isoformat(),
    }


def test_a_duplicate_answers_the_payout_that_was_recorded_not_a_recomputation(stores, percent_click):
    # Given a conversion recorded with a payout of 42.74 (10% of 427.40)
    seeded, click_id = percent_click
    bought = _conversion(click_id, "p-1", action="first_purchase", amount_minor=42_740, currency="EUR")
    first = _deliver(stores, seeded.webhook_secret, bought)
    assert (first.status, first.payout_minor) == ("recorded", 4274)
    # When the partner re-sends it with another basket amount
    resent = _deliver(stores, seeded.webhook_secret, {**bought, "amount_minor": 46_620}, "msg_2")
    # Then the answer is a duplicate reporting what is recorded, not what the resend would pay
    assert (resent.status, resent.payout_minor, resent.currency) == ("duplicate", 4274, "EUR")
    assert stores.ledger.get(f"CONVERSION#{seeded.partner_id}#p-1")["payout_minor"] == 4274
    # And the same holds for a reversal re-sent with another refund amount
    refund = _refund(seeded, "rf-1", 10_000)
    assert _deliver(stores, seeded.webhook_secret, refund, "msg_r1").payout_minor == -1000
    again = _deliver(stores, seeded.webhook_secret, {**refund, "amount_minor": 20_000}, "msg_r2")
    assert (again.status, again.payout_minor, again.currency) == ("duplicate", -1000, "EUR")


@pytest.mark.parametrize("amount", [True, 100.0, "100", 1.5])
def test_money_in_a_webhook_is_a_strict_integer_not_a_bool_float_or_string(stores, percent_click, amount):
    seeded, click_id = percent_click
    bought = _conversion(click_id, "strict-1", action="first_purchase", amount_minor=amount, currency="EUR")
    with pytest.raises(InvalidInput) as refused:
        _deliver(stores, seeded.webhook_secret, bought)
    assert refused.value.field == "amount_minor"
    assert stores.ledger.get(f"CONVERSION#{seeded.partner_id}#strict-1") is None
    refund = _refund(seeded, "strict-r1", 100)
    with pytest.raises(InvalidInput) as refused:
        _deliver(stores, seeded.webhook_secret, {**refund, "amount_minor": amount}, "msg_r")
    assert refused.value.field == "amount_minor"


def test_a_rejected_conversion_named_like_a_rejected_reversal_is_kept_as_its_own_rejection(stores, world):
    # Given a reversal of an unknown conversion, rejected and kept for reconciliation
    seeded, _, _ = world
    assert _deliver(stores, seeded.webhook_secret, _refund(seeded, "X", conversion_id="nope")).status == (
        "rejected"
    )
    # When a conversion whose id reads like that reversal's key is rejected too
    as_partner = {"afterglow-partner": seeded.partner_id}
    unknown = _conversion("clk_unknown", "reversal#X")
    assert _deliver(stores, seeded.webhook_secret, unknown, "msg_2", **as_partner).status == "rejected"
    # Then both rejections are kept, each with its own reason
    day = datetime.now(UTC).date().isoformat()
    kept = [r for r in stores.ledger.read_day(day) if r["kind"] == "rejected_conversion"]
    assert sorted((r["conversion_id"], r.get("reversal_id"), r["reason"]) for r in kept) == [
        ("nope", "X", "unknown_conversion"),
        ("reversal#X", None, "unknown_click"),
    ]


def test_a_percentage_conversion_in_another_currency_than_the_shops_is_rejected_and_kept(
    stores, percent_click
):
    # Given a click at a shop that sells in EUR on a 10% offer
    seeded, click_id = percent_click
    # When the partner reports the basket in USD
    bought = _conversion(click_id, "usd-1", action="first_purchase", amount_minor=10_000, currency="USD")
    result = _deliver(stores, seeded.webhook_secret, bought)
    # Then nothing is owed, and the refusal is kept for reconciliation
    assert (result.status, result.reason) == ("rejected", "currency_mismatch")
    assert stores.ledger.get(f"CONVERSION#{seeded.partner_id}#usd-1") is None
    assert stores.ledger.get(f"REJECTED#{seeded.partner_id}#usd-1")["reason"] == "currency_mismatch"
    # And the same basket in EUR is recorded
    eur = _deliver(stores, seeded.webhook_secret, {**bought, "currency": "EUR", "conversion_id": "eur-1"})
    assert (eur.status, eur.payout_minor, eur.currency) == ("recorded", 1000, "EUR")


def test_a_basket_refunded_in_four_parts_reverses_the_whole_payout(stores, percent_click):
    # Given a conversion of 100.07 paying 10.01 (10%, half up)
    seeded, click_id = percent_click
    bought = _conversion(click_id, "p-1", action="first_purchase", amount_minor=10_007, currency="EUR")
    assert _deliver(stores, seeded.webhook_secret, bought).payout_minor == 1001
    # When the whole basket is refunded in four parts (each part's share alone rounds down)
    parts = [2_501, 2_502, 2_502, 2_502]
    taken_back = [
        _deliver(stores, seeded.webhook_secret, _refund(seeded, f"rf-{n}", part), f"msg_rf{n}").payout_minor
        for n, part in enumerate(parts)
    ]
    # Then the parts take back the whole payout, not a cent is left billed
    assert sum(taken_back) == -1001
    assert stores.ledger.get(f"CONVERSION#{seeded.partner_id}#p-1")["reversed_minor"] == 1001


def test_concurrent_partial_refunds_take_back_exactly_the_payout(moto_server_stores):
    # Given a conversion of 100.07 paying 10.01
    stores = moto_server_stores
    seeded, click_id = _percent_click(stores)
    bought = _conversion(click_id, "p-1", action="first_purchase", amount_minor=10_007, currency="EUR")
    assert _deliver(stores, seeded.webhook_secret, bought).payout_minor == 1001
    # When its basket is refunded in eight parts delivered at the same time
    parts = [1_250] * 7 + [1_257]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda n: _deliver(
                    stores, seeded.webhook_secret, _refund(seeded, f"rf-{n}", parts[n]), f"m{n}"
                ),
                range(8),
            )
        )
    # Then every part is recorded and together they take back the whole payout, no more
    assert [r.status for r in results] == ["recorded"] * 8
    assert sum(r.payout_minor for r in results) == -1001
    recorded = stores.ledger.get(f"CONVERSION#{seeded.partner_id}#p-1")
    assert (recorded["reversed_minor"], recorded["refunded_minor"]) == (1001, 10_007)


def test_refunds_can_never_add_up_to_more_than_the_basket_and_a_zero_refund_is_refused(stores, percent_click):
    # Given a conversion of a 100.00 basket paying 10.00
    seeded, click_id = percent_click
    bought = _conversion(click_id, "p-1", action="first_purchase", amount_minor=10_000, currency="EUR")
    assert _deliver(stores, seeded.webhook_secret, bought).payout_minor == 1000
    # When a refund of nothing is sent, it is refused as bad input, and nothing is recorded
    with pytest.raises(InvalidInput) as refused:
        _deliver(stores, seeded.webhook_secret, _refund(seeded, "rf-0", 0), "msg_r0")
    assert refused.value.field == "amount_minor"
    assert stores.ledger.get(f"REVERSAL#{seeded.partner_id}#rf-0") is None
    # And refunds of 60.00 then 60.00 again: the second would refund more than was bought
    first = _deliver(stores, seeded.webhook_secret, _refund(seeded, "rf-1", 6_000), "msg_r1")
    second = _deliver(stores, seeded.webhook_secret, _refund(seeded, "rf-2", 6_000), "msg_r2")
    assert (first.status, first.payout_minor) == ("recorded", -600)
    assert (second.status, second.reason) == ("rejected", "refund_exceeds_converted_amount")
    # While the 40.00 still unrefunded can be refunded, and takes back the rest of the payout
    rest = _deliver(stores, seeded.webhook_secret, _refund(seeded, "rf-3", 4_000), "msg_r3")
    assert (rest.status, rest.payout_minor) == ("recorded", -400)
    assert stores.ledger.get(f"CONVERSION#{seeded.partner_id}#p-1")["refunded_minor"] == 10_000


def test_a_resend_of_a_recorded_conversion_is_a_duplicate_even_when_it_would_now_be_refused(stores, world):
    # Given a recorded conversion
    seeded, click_id, _ = world
    assert _deliver(stores, seeded.webhook_secret, _conversion(click_id, "c-1")).status == "recorded"
    # When the partner re-sends it after the attribution window (here: with a far-off occurred_at)
    late = (datetime.now(UTC) + timedelta(days=40)).isoformat()
    again = _deliver(stores, seeded.webhook_secret, _conversion(click_id, "c-1", occurred_at=late), "msg_2")
    # Then it is the same conversion: a duplicate with what was recorded, and no refusal is kept
    assert (again.status, again.payout_minor, again.currency) == ("duplicate", 700, "EUR")
    assert stores.ledger.get(f"REJECTED#{seeded.partner_id}#c-1") is None
