"""E-mail placements through the real handlers: the decision's rendered e-mail, and the open pixel
that records an impression of each offer of the slate, once."""

import html
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

import pytest

from afterglow.models import Creative, FixedPayout, OfferCreate, PartnerCreate, StatusUpdate
from afterglow.reconciliation import read_csv
from afterglow.services import offers, partners
from afterglow.services.decisions import signer
from afterglow.settings import get_settings
from afterglow_dev.local.gateway import FakeLambdaContext
from tests.utils import NPS_QUESTION, http_event, invoke, order, seed_catalog

API = "https://offers.shop.example"
GIF_MAGIC = b"GIF89a"


@pytest.fixture(autouse=True)
def public_api_url(monkeypatch):
    monkeypatch.setenv("PUBLIC_API_URL", API)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _decide(function_module, key, order_id="o-1", **overrides):
    body = order(order_id, customer={"email": f"{order_id}@example.com", "country": "DE"}, **overrides)
    event = http_event("POST", "/v1/decisions", body=body, headers={"authorization": f"Bearer {key}"})
    status, _, decision = invoke(function_module("DecideFunction"), event)
    assert status == 200, decision
    return decision


def _open(function_module, token):
    """GET the pixel: its status, headers and bytes."""
    event = http_event("GET", f"/v1/o/{token}", route_path="/v1/o/{token}")
    return invoke(function_module("TrackFunction"), event)


def _impressions(stores):
    day = datetime.now(UTC).date().isoformat()
    return [r for r in stores.ledger.read_day(day) if r["kind"] == "impression"]


def _pixel_token(decision):
    return decision["email"]["open_pixel_url"].split("/v1/o/", 1)[1]


def _impression_event(function_module, key, token):
    raw = json.dumps(
        {
            "events": [
                {
                    "event_id": "evt-page-impression",
                    "type": "impression",
                    "token": token,
                    "occurred_at": datetime.now(UTC).isoformat(),
                }
            ]
        }
    ).encode()
    event = http_event("POST", "/v1/events", raw=raw, headers={"authorization": f"Bearer {key}"})
    return invoke(function_module("TrackFunction"), event)[2]["results"][0]["status"]


def test_confirmation_email_decision_carries_the_slate_as_an_email_block(stores, function_module):
    # Given a shop with an offer
    seeded = seed_catalog(stores)
    # When its confirmation e-mail asks for offers
    decision = _decide(
        function_module, seeded.publishable_key, placement="confirmation_email", locale="de-DE"
    )
    # Then the slate comes rendered as a block for the shop's own e-mail, every link tracked
    (offer,) = decision["offers"]
    email = decision["email"]
    assert email["subject"] is None and email["html"].startswith("<table")
    assert offer["click_url"].startswith(f"{API}/v1/c/") and offer["click_url"] in email["html"]
    assert f"Learn more: {offer['click_url']}" in email["text"]
    assert email["open_pixel_url"].startswith(f"{API}/v1/o/") and email["open_pixel_url"].endswith(".gif")
    assert f'<img src="{email["open_pixel_url"]}" width="1" height="1" alt=""' in email["html"]
    # And a reload of the same request is the same decision, rendered to the same bytes
    assert _decide(
        function_module, seeded.publishable_key, placement="confirmation_email", locale="de-DE"
    ) == (decision)


def test_the_confirmation_page_decision_is_unchanged(stores, function_module):
    seeded = seed_catalog(stores)
    decision = _decide(function_module, seeded.publishable_key)
    assert "email" not in decision and decision["offers"]


def test_a_followup_placement_gets_a_whole_email_with_a_subject(stores, function_module):
    seeded = seed_catalog(stores)
    decision = _decide(function_module, seeded.publishable_key, placement="followup_email")
    email = decision["email"]
    assert email["subject"] == "Shop: Still thinking it over?"
    assert email["html"].startswith("<!doctype html>") and "<script" not in email["html"]


def test_an_email_placement_with_nothing_to_show_has_no_email(stores, function_module):
    seeded = seed_catalog(stores, holdout=100)
    decision = _decide(function_module, seeded.publishable_key, placement="confirmation_email")
    assert decision["offers"] == [] and decision["email"] is None


def test_opening_the_email_records_each_offer_once_whatever_the_replays(stores, function_module):
    # Given a confirmation e-mail's decision
    seeded = seed_catalog(stores)
    decision = _decide(function_module, seeded.publishable_key, placement="confirmation_email")
    # When the mail client loads the open pixel
    status, headers, body = _open(function_module, _pixel_token(decision))
    # Then it gets a never-cached 1×1 GIF, and each offer of the slate has one impression
    assert (status, headers["content-type"], body[:6]) == (200, "image/gif", GIF_MAGIC)
    assert "no-store" in headers["cache-control"]
    (impression,) = _impressions(stores)
    assert impression["offer_id"] == decision["offers"][0]["offer_id"]
    assert (impression["decision_id"], impression["channel"]) == (decision["decision_id"], "email")
    assert impression["partner_id"] == seeded.partner_id and impression["context"]
    # When the e-mail is opened again, and an image proxy fetches the pixel without `.gif`
    assert _open(function_module, _pixel_token(decision))[0] == 200
    assert _open(function_module, _pixel_token(decision).removesuffix(".gif"))[0] == 200
    # Then nothing more is recorded, and a storefront impression of the offer is a duplicate too
    assert len(_impressions(stores)) == 1
    token = decision["offers"][0]["tracking_token"]
    assert _impression_event(function_module, seeded.publishable_key, token) == "duplicate"


@pytest.mark.parametrize("case", ["forged", "truncated", "garbage", "offer_token"])
def test_a_pixel_that_cannot_be_trusted_still_answers_the_gif_and_records_nothing(
    stores, function_module, case
):
    seeded = seed_catalog(stores)
    decision = _decide(function_module, seeded.publishable_key, placement="confirmation_email")
    genuine = _pixel_token(decision).removesuffix(".gif")
    payload, mac = genuine.split(".")
    token = {
        "forged": f"{payload}.{'A' * len(mac)}",
        "truncated": genuine[:-3],
        "garbage": "x",
        "offer_token": decision["offers"][0]["tracking_token"],  # genuine, but names no slate
    }[case]
    status, headers, body = _open(function_module, f"{token}.gif")
    assert (status, headers["content-type"], body[:6]) == (200, "image/gif", GIF_MAGIC)
    assert _impressions(stores) == []


def test_an_image_proxy_over_the_rate_limit_still_gets_the_gif_and_records_nothing(
    stores, function_module, monkeypatch
):
    # Given a mail provider's image proxy fetching pixels for many readers from one address
    seeded = seed_catalog(stores)
    decisions = [
        _decide(function_module, seeded.publishable_key, f"proxy-{n}", placement="confirmation_email")
        for n in range(8)
    ]
    monkeypatch.setenv("RATE_LIMIT_PER_IP_PER_S", "2")
    get_settings.cache_clear()
    # When it opens them all at once
    answers = [_open(function_module, _pixel_token(decision)) for decision in decisions]
    # Then every e-mail shows its image (never a 429), and only the opens within the limit count
    assert all((status, body[:6]) == (200, GIF_MAGIC) for status, _, body in answers)
    assert 0 < len(_impressions(stores)) < len(decisions)


def test_an_email_that_cannot_be_rendered_still_answers_the_decision(stores, function_module, monkeypatch):
    seeded = seed_catalog(stores)

    def broken_renderer(*_args, **_kwargs):
        raise RuntimeError("template bug")

    monkeypatch.setattr("afterglow.services.email.render", broken_renderer)
    decision = _decide(function_module, seeded.publishable_key, placement="confirmation_email")
    assert decision["offers"] and decision["email"] is None


def _reconcile(function_module):
    today = datetime.now(UTC).date().isoformat()
    handler = function_module("ReconcileFunction").lambda_handler
    assert handler({"date": today}, FakeLambdaContext("reconcile"))["status"] == "ok"
    return today


def test_declined_email_offers_become_followups_ready_to_send_timed_by_offer_type(stores, function_module):
    # Given a shop whose catalog also has a coffee-beans refill (for follow-up e-mails only)
    seeded = seed_catalog(stores)
    roaster = partners.create_partner(stores, PartnerCreate(name="Roaster")).partner.partner_id
    refill = offers.create_offer(
        stores,
        OfferCreate(
            partner_id=roaster,
            category="coffee",
            offer_type="refill",
            product_type="coffee_beans",
            creative=Creative(title="Beans <refill> & more", body="A fresh bag before yours runs out"),
            landing_url="https://beans.example/refill",
            payout=FixedPayout(currency="EUR", amounts={"signup": 700}),
        ),
    )
    beans = [{"sku": "BEANS-1KG", "title": "Espresso beans 1 kg", "category": "coffee", "price_minor": 2400}]
    # And two e-mails opened and declined: the confirmation e-mail, and a follow-up with the refill
    # alone (the seeded offer paused in between)
    confirmation = _decide(function_module, seeded.publishable_key, "o-1", placement="confirmation_email")
    offers.set_offer_status(stores, seeded.offer_id, StatusUpdate(version=1, status="paused"))
    followup = _decide(
        function_module, seeded.publishable_key, "o-2", placement="followup_email", line_items=beans
    )
    assert [o["offer_id"] for o in followup["offers"]] == [refill.offer_id]
    for decision in (confirmation, followup):
        assert _open(function_module, _pixel_token(decision))[0] == 200
    # When the day is reconciled
    today = _reconcile(function_module)
    # Then the CSV times the accessory-like offer 24–48 h out and the refill before the beans run out
    prefix = f"followups/retailer={seeded.retailer_id}/dt={today}"
    rows = {row["order_id"]: row for row in read_csv(stores.reports.get(prefix + ".csv"))}
    decided = datetime.fromisoformat(rows["o-2"]["decided_at"])
    assert rows["o-1"]["timing"] == "after_purchase"
    assert rows["o-2"]["timing"] == "refill"
    assert datetime.fromisoformat(rows["o-2"]["send_before"]) == decided + timedelta(days=27)
    # And the JSON Lines file beside it has each e-mail ready to send (offers paused since left out)
    body = stores.reports.get(prefix + ".jsonl")
    emails = {e["order_id"]: e for e in map(json.loads, body.decode().splitlines())}
    assert list(emails) == ["o-2"]
    refill_email = emails["o-2"]
    assert refill_email["subject"] == "Shop: Running low? Time for a refill"
    assert (
        "Beans &lt;refill&gt; &amp; more" in refill_email["html"] and "<refill>" not in refill_email["html"]
    )
    link = refill_email["text"].split("Learn more: ", 1)[1].splitlines()[0]
    assert link.startswith(f"{API}/v1/c/") and f'href="{link}"' in refill_email["html"]
    # And a re-run writes the same bytes
    _reconcile(function_module)
    assert stores.reports.get(prefix + ".jsonl") == body
    # And its link still works when the e-mail goes out, weeks after the decision
    token = link.rsplit("/", 1)[1]
    send_before = int(datetime.fromisoformat(refill_email["send_before"]).timestamp())
    claims = signer().verify(token, now=send_before + 3600)
    assert (claims.decision_id, claims.offer_id) == (followup["decision_id"], refill.offer_id)
    status, headers, _ = invoke(
        function_module("TrackFunction"), http_event("GET", f"/v1/c/{token}", route_path="/v1/c/{token}")
    )
    assert status == 302 and headers["location"].startswith("https://beans.example/refill")


def test_a_followup_email_asks_the_shops_satisfaction_question_with_links_that_last_its_window(
    stores, function_module
):
    # Given a shop that asks the NPS question, and a confirmation e-mail opened and declined
    seeded = seed_catalog(stores, satisfaction=NPS_QUESTION)
    decision = _decide(function_module, seeded.publishable_key, "o-nps", placement="confirmation_email")
    assert _open(function_module, _pixel_token(decision))[0] == 200
    # When the day is reconciled
    today = _reconcile(function_module)
    body = stores.reports.get(f"followups/retailer={seeded.retailer_id}/dt={today}.jsonl")
    (email,) = map(json.loads, body.decode().splitlines())
    # Then the follow-up e-mail carries the question and one link per score, 0 to 10
    assert NPS_QUESTION.question in email["html"] and NPS_QUESTION.question in email["text"]
    links = email["satisfaction_links"]
    assert [link.rsplit("=", 1)[1] for link in links] == [str(score) for score in range(11)]
    assert all(f'href="{html.escape(link)}"' in email["html"] for link in links)
    # And each link still answers when the e-mail is read at the end of its send window
    token = unquote(links[9].split("/v1/s/", 1)[1].split("?", 1)[0])
    send_before = int(datetime.fromisoformat(email["send_before"]).timestamp())
    assert signer().verify(token, now=send_before + 3600).decision_id == decision["decision_id"]
    event = http_event("GET", f"/v1/s/{quote(token, safe='')}", route_path="/v1/s/{token}", query="score=9")
    status, _, page = invoke(function_module("TrackFunction"), event)
    assert status == 200 and "Your answer has been recorded" in page
