"""The thin real path through all five handlers, on in-process moto."""

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from afterglow_dev.local.gateway import FakeLambdaContext
from tests.utils import http_event, invoke, order, seed_catalog, signed_headers


def _decide(function_module, key, body):
    event = http_event("POST", "/v1/decisions", body=body, headers={"authorization": f"Bearer {key}"})
    return invoke(function_module("DecideFunction"), event)


def _click(function_module, token):
    return invoke(
        function_module("TrackFunction"), http_event("GET", f"/v1/c/{token}", route_path="/v1/c/{token}")
    )


def _convert(function_module, secret, payload, msg_id="msg_1", **kwargs):
    raw = json.dumps(payload).encode()
    event = http_event(
        "POST",
        "/v1/webhooks/conversions",
        raw=raw,
        headers=signed_headers(secret, raw, msg_id=msg_id, **kwargs),
    )
    return invoke(function_module("WebhooksFunction"), event)


def test_offer_is_decided_clicked_converted_once_and_reconciled(stores, function_module):
    # Given a retailer, a partner and a coffee offer
    seeded = seed_catalog(stores, category="coffee")

    # When a kitchen order asks for offers, the related coffee offer comes back with a token
    status, _, decision = _decide(function_module, seeded.publishable_key, order(category="kitchen"))
    assert status == 200, decision
    assert [o["offer_id"] for o in decision["offers"]] == [seeded.offer_id]
    token = decision["offers"][0]["tracking_token"]

    # Then the click is recorded and redirects to the partner with a click id, keeping its query
    status, headers, _ = _click(function_module, token)
    assert status == 302
    location = urlsplit(headers["location"])
    assert location.netloc == "beans.example"
    query = parse_qs(location.query)
    assert query["ref"] == ["ag"]
    click_id = query["click_id"][0]
    assert stores.ledger.get(f"CLICK#{click_id}")["offer_id"] == seeded.offer_id

    # And a signed conversion is recorded once, even when delivered twice
    conversion = {
        "click_id": click_id,
        "conversion_id": "beans-42",
        "action": "first_purchase",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    first = _convert(function_module, seeded.webhook_secret, conversion)
    second = _convert(function_module, seeded.webhook_secret, conversion)
    assert first[0] == second[0] == 200
    assert first[2]["status"] == "recorded" and first[2]["payout_minor"] == 1500
    assert second[2]["status"] == "duplicate"
    record = stores.ledger.get(f"CONVERSION#{seeded.partner_id}#beans-42")
    assert record["payout_minor"] == 1500 and record["arm"] == decision["arm"]

    # And reconciling today writes totals equal to the ledger
    today = datetime.now(UTC).date().isoformat()
    result = function_module("ReconcileFunction").lambda_handler(
        {"date": today}, FakeLambdaContext("reconcile")
    )
    assert result == {"status": "ok", "days": [today]}
    summary = json.loads(stores.reports.get(f"reports/daily/dt={today}/summary.json"))
    assert summary["totals"]["decisions"] == 1
    assert summary["totals"]["clicks"] == 1
    assert summary["totals"]["conversions"] == 1
    assert summary["totals"]["gross_minor_by_currency"] == {"EUR": 1500}


def test_page_reload_returns_the_same_decision(stores, function_module):
    seeded = seed_catalog(stores)
    _, _, first = _decide(function_module, seeded.publishable_key, order("o-7"))
    _, _, again = _decide(function_module, seeded.publishable_key, order("o-7"))
    assert again == first
    records = list(stores.ledger.read_day(datetime.now(UTC).date().isoformat()))
    assert [r["kind"] for r in records] == ["decision"]


def test_holdout_customers_get_no_offers_but_the_decision_is_recorded(stores, function_module):
    seeded = seed_catalog(stores, holdout=100)
    status, _, decision = _decide(function_module, seeded.publishable_key, order())
    assert status == 200
    assert decision["arm"] == "holdout" and decision["offers"] == []


def test_bad_signature_is_401_and_records_nothing(stores, function_module):
    seeded = seed_catalog(stores)
    payload = {"click_id": "clk_x", "conversion_id": "c-1", "occurred_at": datetime.now(UTC).isoformat()}
    raw = json.dumps(payload).encode()
    headers = signed_headers(seeded.webhook_secret, raw)
    headers["afterglow-partner"] = seeded.partner_id
    tampered = raw.replace(b"c-1", b"c-2")
    status, _, body = invoke(
        function_module("WebhooksFunction"),
        http_event("POST", "/v1/webhooks/conversions", raw=tampered, headers=headers),
    )
    assert status == 401
    assert body == {"error": {"code": "unauthorized", "message": "invalid webhook signature"}}
    assert stores.ledger.get(f"REJECTED#{seeded.partner_id}#c-2") is None
