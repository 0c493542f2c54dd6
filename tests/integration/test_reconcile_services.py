"""Reconciling a day whose ledger was written by the real handlers: decide, events, click, webhooks."""

import json
from datetime import UTC, datetime

from afterglow.cli import main
from afterglow.models import (
    Creative,
    ExperimentSplit,
    FixedPayout,
    Offer,
    OfferCreate,
    PartnerCreate,
    RetailerCreate,
)
from afterglow.reconciliation import read_csv
from afterglow.services import offers, partners, retailers
from afterglow.services.catalog_cache import catalog_cache
from afterglow.services.conversions import ConversionDesk
from afterglow.services.decisions import signer
from afterglow.services.tracking import record_click
from afterglow.signing import TrackingClaims
from afterglow_dev.local.gateway import FakeLambdaContext
from tests.utils import GIFT_SURVEY, http_event, invoke, order, seed_catalog, signed_headers


def _decide(function_module, key, order_id, email):
    body = order(order_id, customer={"email": email, "country": "DE"})
    event = http_event("POST", "/v1/decisions", body=body, headers={"authorization": f"Bearer {key}"})
    status, _, decision = invoke(function_module("DecideFunction"), event)
    assert status == 200, decision
    return decision


def _events(function_module, key, events):
    raw = json.dumps({"events": events}).encode()
    event = http_event("POST", "/v1/events", raw=raw, headers={"authorization": f"Bearer {key}"})
    status, _, body = invoke(function_module("TrackFunction"), event)
    assert status == 200 and {r["status"] for r in body["results"]} == {"accepted"}, body


def _event(token, kind, event_id, **data):
    occurred = datetime.now(UTC).isoformat()
    return {"event_id": event_id, "type": kind, "token": token, "occurred_at": occurred} | (
        {"data": data} if data else {}
    )


def _deliver(stores, secret, payload, msg_id):
    raw = json.dumps(payload).encode()
    return ConversionDesk(stores).receive(signed_headers(secret, raw, msg_id=msg_id), raw)


def test_a_day_written_by_the_real_services_reconciles_to_the_ledger(stores, function_module):
    # Given a shop with a partner offer (and, once the orders are decided, an own-brand add-on)
    seeded = seed_catalog(stores, category="coffee")
    key, secret = seeded.publishable_key, seeded.webhook_secret

    # And three orders: one clicked and converted (then refunded), one seen and ignored, one add-on taken
    converted = _decide(function_module, key, "o-1", "ada@example.com")
    ignored = _decide(function_module, key, "o-2", "bob@example.com")
    added = _decide(function_module, key, "o-3", "cyd@example.com")
    add_on = Offer(
        offer_id="off_fp1",
        partner_id=seeded.retailer_id,
        kind="first_party",
        category="kitchen",
        creative=Creative(title="Descaler", price_minor=1299),
        landing_url="https://shop.example/descaler",
        payout=FixedPayout(currency="EUR", amounts={"first_purchase": 0}),
        attribution_window_days=1,
        lock_days=0,
        created_at=datetime.now(UTC),
    )
    stores.catalog.create("OFFER", add_on.offer_id, add_on.model_dump(mode="json"))
    catalog_cache.clear()  # a warm function would see it at its next refresh
    token = converted["offers"][0]["tracking_token"]
    _events(function_module, key, [_event(token, "impression", "evt-00000001")])
    _events(
        function_module, key, [_event(ignored["offers"][0]["tracking_token"], "impression", "evt-00000002")]
    )
    add_on_token = signer().sign(
        TrackingClaims(
            seeded.retailer_id,
            added["decision_id"],
            "off_fp1",
            added["arm"],
            int(datetime.now(UTC).timestamp()),
        )
    )
    _events(function_module, key, [_event(add_on_token, "accept", "evt-00000003", quantity=1)])
    click_id = record_click(stores, token).rsplit("click_id=", 1)[1]
    now = datetime.now(UTC).isoformat()
    conversion = {"click_id": click_id, "action": "signup", "occurred_at": now}
    assert _deliver(stores, secret, conversion | {"conversion_id": "b-1"}, "m1").status == "recorded"
    purchase = conversion | {"conversion_id": "b-2", "action": "first_purchase"}
    assert _deliver(stores, secret, purchase, "m2").status == "recorded"
    refund = {"type": "reversal", "conversion_id": "b-2", "reversal_id": "r-1", "occurred_at": now}
    assert _deliver(stores, secret, refund | {"partner_id": seeded.partner_id}, "m3").status == "recorded"
    stranger = conversion | {"click_id": "clk_nope", "conversion_id": "b-3"}
    raw = json.dumps(stranger).encode()
    headers = signed_headers(secret, raw, msg_id="m4") | {"afterglow-partner": seeded.partner_id}
    assert ConversionDesk(stores).receive(headers, raw).status == "rejected"

    # When today is reconciled by the function
    today = datetime.now(UTC).date().isoformat()
    handler = function_module("ReconcileFunction").lambda_handler
    assert handler({"date": today}, FakeLambdaContext("reconcile")) == {"status": "ok", "days": [today]}

    # Then the totals equal the ledger
    prefix = f"reports/daily/dt={today}/"
    totals = json.loads(stores.reports.get(prefix + "summary.json"))["totals"]
    assert (totals["decisions"], totals["impressions"], totals["clicks"], totals["accepts"]) == (3, 2, 1, 1)
    assert (totals["conversions"], totals["reversals"], totals["rejected_conversions"]) == (2, 1, 1)
    assert totals["gross_minor_by_currency"] == {"EUR": 700 + 1500}
    assert totals["net_minor_by_currency"] == {"EUR": 700}
    assert totals["own_brand_revenue_minor_by_currency"] == {"EUR": 1299}
    actions = {r["action"]: r["net_minor"] for r in read_csv(stores.reports.get(prefix + "actions.csv"))}
    assert actions == {"signup": "700", "first_purchase": "0"}
    rejected = read_csv(stores.reports.get(prefix + "rejections.csv"))
    assert [(r["conversion_id"], r["reason"]) for r in rejected] == [("b-3", "unknown_click")]

    # And only the customer who saw an offer and ignored it is followed up
    followups = read_csv(stores.reports.get(f"followups/retailer={seeded.retailer_id}/dt={today}.csv"))
    assert [(r["order_id"], r["decision_id"]) for r in followups] == [("o-2", ignored["decision_id"])]

    # And the conversions, pending for the partner's 30-day lock period, are not billed yet: no
    # invoice this month to date, and the statement has the own-brand sale only
    month = today[:7]
    assert stores.reports.get(f"invoices/partner={seeded.partner_id}/{month}.json") is None
    statement = json.loads(stores.reports.get(f"statements/retailer={seeded.retailer_id}/{month}.json"))
    assert statement["totals"]["EUR"] | {} == {
        "partner_net_minor": 0,
        "retailer_share_minor": 0,
        "platform_share_minor": 0,
        "own_brand_revenue_minor": 1299,
        "retailer_total_minor": 1299,
    }
    assert stores.ledger.get(f"CONVERSION#{seeded.partner_id}#b-1")["status"] == "pending"


def test_a_conversion_refused_once_and_recorded_on_a_resend_is_not_listed_as_rejected(
    stores, function_module
):
    # Given a conversion refused for an action the offer does not pay, then re-sent as a signup
    seeded = seed_catalog(stores, category="coffee")
    decision = _decide(function_module, seeded.publishable_key, "o-1", "ada@example.com")
    token = decision["offers"][0]["tracking_token"]
    click_id = record_click(stores, token).rsplit("click_id=", 1)[1]
    sent = {"click_id": click_id, "conversion_id": "c-1", "occurred_at": datetime.now(UTC).isoformat()}
    first = _deliver(stores, seeded.webhook_secret, sent | {"action": "subscription"}, "m1")
    assert (first.status, first.reason) == ("rejected", "action_not_paid_by_offer")
    assert _deliver(stores, seeded.webhook_secret, sent | {"action": "signup"}, "m2").status == "recorded"
    # And another conversion refused for good
    stranger = sent | {"click_id": "clk_nope", "conversion_id": "c-2"}
    raw = json.dumps(stranger).encode()
    headers = signed_headers(seeded.webhook_secret, raw, msg_id="m3") | {
        "afterglow-partner": seeded.partner_id
    }
    assert ConversionDesk(stores).receive(headers, raw).status == ("rejected")
    # When today is reconciled (twice)
    today = datetime.now(UTC).date()
    handler = function_module("ReconcileFunction").lambda_handler
    key = f"discrepancies/partner={seeded.partner_id}/{today:%Y-%m}.csv"
    handler({"date": today.isoformat()}, FakeLambdaContext("reconcile"))
    first_run = stores.reports.get(key)
    handler({"date": today.isoformat()}, FakeLambdaContext("reconcile"))
    # Then only the refusal that still stands is a discrepancy, and a re-run writes the same bytes
    rows = read_csv(first_run)
    assert [(r["issue"], r["conversion_id"], r["reason"]) for r in rows] == [
        ("rejected", "c-2", "unknown_click")
    ]
    assert stores.reports.get(key) == first_run


def test_records_without_an_arm_stay_out_of_the_experiment_read_out_and_are_counted_as_rejections(
    stores, function_module
):
    # Given a decided order whose customer answered the survey, and two refused conversions:
    # one for a click nobody made (no retailer, no arm) and one for an action the offer does not pay
    seeded = seed_catalog(stores, category="coffee", survey=GIFT_SURVEY)
    key, secret = seeded.publishable_key, seeded.webhook_secret
    decision = _decide(function_module, key, "o-1", "ada@example.com")
    token = decision["offers"][0]["tracking_token"]
    survey = _event(decision["decision_token"], "survey_answer", "evt-00000001", answer=True)
    _events(function_module, key, [survey])
    click_id = record_click(stores, token).rsplit("click_id=", 1)[1]
    now = datetime.now(UTC).isoformat()
    refused = [
        {"click_id": "clk_nope", "conversion_id": "b-1", "action": "signup", "occurred_at": now},
        {"click_id": click_id, "conversion_id": "b-2", "action": "subscription", "occurred_at": now},
    ]
    desk = ConversionDesk(stores)
    for n, payload in enumerate(refused):
        raw = json.dumps(payload).encode()
        headers = signed_headers(secret, raw, msg_id=f"m{n}") | {"afterglow-partner": seeded.partner_id}
        assert desk.receive(headers, raw).status == "rejected"

    # When the day is reconciled
    today = datetime.now(UTC).date().isoformat()
    handler = function_module("ReconcileFunction").lambda_handler
    assert handler({"date": today}, FakeLambdaContext("reconcile"))["status"] == "ok"

    # Then the read-out has the decision's arm only, for the shop only
    prefix = f"reports/daily/dt={today}/"
    summary = json.loads(stores.reports.get(prefix + "summary.json"))
    assert [(r["retailer_id"], r["arm"]) for r in summary["experiment"]] == [
        (seeded.retailer_id, decision["arm"])
    ]
    html = stores.reports.get(prefix + "report.html").decode()
    assert "- (" not in html and "Retailer -<" not in html
    experiment = read_csv(stores.reports.get(prefix + "experiment.csv"))
    assert {(r["retailer_id"], r["arm"]) for r in experiment} == {(seeded.retailer_id, decision["arm"])}
    # And both refusals are still counted where they belong
    assert summary["totals"]["rejected_conversions"] == 2
    assert summary["rejections_by_reason"] == {"action_not_paid_by_offer": 1, "unknown_click": 1}
    rejected = read_csv(stores.reports.get(prefix + "rejections.csv"))
    assert sorted(r["conversion_id"] for r in rejected) == ["b-1", "b-2"]


def _shop_of_its_own(stores):
    """A second shop, partner and offer, named apart from `seed_catalog`'s (books, not kitchen)."""
    shop = retailers.create_retailer(
        stores,
        RetailerCreate(
            name="Globex Home",
            currency="EUR",
            allowed_origins=["https://globex.example"],
            experiment=ExperimentSplit(holdout=0, mixed=100),
        ),
    )
    partner = partners.create_partner(stores, PartnerCreate(name="Quiet Partner"))
    offer = offers.create_offer(
        stores,
        OfferCreate(
            partner_id=partner.partner.partner_id,
            category="books",
            creative=Creative(title="Secret sampler", exclusive_minutes=10),
            landing_url="https://quiet.example/welcome",
            payout=FixedPayout(currency="EUR", amounts={"signup": 900}),
        ),
    )
    return shop, partner, offer


def _decided_clicked_and_converted(stores, function_module, key, secret, body, conversion_id):
    event = http_event("POST", "/v1/decisions", body=body, headers={"authorization": f"Bearer {key}"})
    status, _, decision = invoke(function_module("DecideFunction"), event)
    assert status == 200 and decision["offers"], decision
    click_id = record_click(stores, decision["offers"][0]["tracking_token"]).rsplit("click_id=", 1)[1]
    now = datetime.now(UTC).isoformat()
    payload = {"click_id": click_id, "conversion_id": conversion_id, "action": "signup", "occurred_at": now}
    assert _deliver(stores, secret, payload, f"m-{conversion_id}").status == "recorded"


def test_each_retailer_gets_a_page_of_its_own_with_names_and_nothing_of_another_retailer(
    stores, function_module, tmp_path
):
    # Given two shops, each with an order decided, clicked and converted on its own partner's offer
    a = seed_catalog(stores, category="coffee")
    shop, partner, offer = _shop_of_its_own(stores)
    books = order("o-b", category="books", customer={"email": "bo@example.com", "country": "DE"})
    _decided_clicked_and_converted(
        stores, function_module, a.publishable_key, a.webhook_secret, order(), "c-a"
    )
    _decided_clicked_and_converted(
        stores, function_module, shop.publishable_key, partner.webhook_secret, books, "c-b"
    )
    # When the day is reconciled (twice)
    today = datetime.now(UTC).date().isoformat()
    handler = function_module("ReconcileFunction").lambda_handler
    assert handler({"date": today}, FakeLambdaContext("reconcile"))["status"] == "ok"
    prefix = f"reports/daily/dt={today}/"
    pages = {
        name: stores.reports.get(prefix + key)
        for name, key in [
            ("operator", "report.html"),
            ("a", f"retailer={a.retailer_id}/report.html"),
            ("b", f"retailer={shop.retailer.retailer_id}/report.html"),
        ]
    }
    handler({"date": today}, FakeLambdaContext("reconcile"))
    # Then the operator's page names both shops, partners and offers beside their ids
    operator, page_a, page_b = (pages[n].decode() for n in ("operator", "a", "b"))
    assert f"Retailer Shop ({a.retailer_id})" in operator
    assert f"Retailer Globex Home ({shop.retailer.retailer_id})" in operator
    assert f"Free bag — Beans ({a.offer_id})" in operator and "Secret sampler — Quiet Partner" in operator
    # And each shop's page has its own figures and nothing of the other shop
    assert f"Shop ({a.retailer_id})" in page_a and "Free bag — Beans" in page_a and "7.00 EUR" in page_a
    for other in (
        shop.retailer.retailer_id,
        "Globex Home",
        partner.partner.partner_id,
        "Quiet Partner",
        offer.offer_id,
    ):
        assert other not in page_a, other
    for other in (a.retailer_id, "Free bag", "Beans", a.partner_id, a.offer_id):
        assert other not in page_b, other
    # And a re-run writes the same bytes, every page listed in the manifest
    assert all(stores.reports.get(prefix + key) == body for key, body in [
        ("report.html", pages["operator"]),
        (f"retailer={a.retailer_id}/report.html", pages["a"]),
        (f"retailer={shop.retailer.retailer_id}/report.html", pages["b"]),
    ])  # fmt: skip
    manifest = json.loads(stores.reports.get(prefix + "manifest.json"))
    assert {f"{prefix}retailer={a.retailer_id}/report.html", f"{prefix}report.html"} <= set(manifest["files"])
    # And `afterglow report --retailer` saves that shop's page
    saved = tmp_path / "a.html"
    assert main(["report", "--date", today, "--retailer", a.retailer_id, "--out", str(saved)]) == 0
    assert saved.read_bytes() == pages["a"]
