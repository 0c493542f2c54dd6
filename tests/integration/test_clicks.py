"""`GET /v1/c/{token}`: a click is recorded once per decision × offer within the repeat window."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from afterglow.feedback import OFFER_ROW, fold
from afterglow.services.decisions import signer
from afterglow.services.tracking import CLICK_REPEAT_WINDOW, record_click
from afterglow.signing import TrackingClaims
from tests.utils import http_event, invoke, order, seed_catalog


@pytest.fixture
def offer_on_page(stores, function_module):
    """A decision on a shop's confirmation page, with one partner offer and its tracking token."""
    seeded = seed_catalog(stores, category="coffee")
    headers = {"authorization": f"Bearer {seeded.publishable_key}"}
    event = http_event("POST", "/v1/decisions", body=order(), headers=headers)
    _, _, decision = invoke(function_module("DecideFunction"), event)
    return seeded, decision


def _click(function_module, token):
    event = http_event("GET", f"/v1/c/{token}", route_path="/v1/c/{token}")
    status, headers, _ = invoke(function_module("TrackFunction"), event)
    assert status == 302
    return headers["location"]


def _ledger_records(stores):
    """Today's and tomorrow's ledger records: a click "after the window" may fall on the next day."""
    today = datetime.now(UTC).date()
    return [r for day in (today, today + timedelta(days=1)) for r in stores.ledger.read_day(day.isoformat())]


def _clicks(stores, decision_id):
    return [r for r in _ledger_records(stores) if r["kind"] == "click" and r["decision_id"] == decision_id]


def _engaged(stores, offer_id):
    """Engagements learning counts for the offer: a fold of the ledger, as the aggregator folds it."""
    items = fold(_ledger_records(stores), {}).counters
    return sum(rows[OFFER_ROW].get("engaged", 0) for (offer, _), rows in items.items() if offer == offer_id)


def test_reloads_and_link_scanners_repeating_a_click_reuse_its_click_id_and_count_nothing_new(
    stores, function_module, offer_on_page
):
    # Given an offer the shopper clicked
    seeded, decision = offer_on_page
    token = decision["offers"][0]["tracking_token"]
    first = _click(function_module, token)
    # When the same link is opened four more times (a reload, a back button, a link scanner)
    repeats = [_click(function_module, token) for _ in range(4)]
    # Then each goes to the same partner URL with the same click id
    assert repeats == [first] * 4 and "click_id=clk_" in first
    # And the ledger holds one click and the learner counted one engagement
    click_id = first.rsplit("click_id=", 1)[1]
    assert [c["click_id"] for c in _clicks(stores, decision["decision_id"])] == [click_id]
    assert _engaged(stores, seeded.offer_id) == 1


def test_a_click_after_the_repeat_window_is_a_new_click(stores, function_module, offer_on_page, monkeypatch):
    # Given an offer clicked once
    seeded, decision = offer_on_page
    token = decision["offers"][0]["tracking_token"]
    first = _click(function_module, token)

    # When the shopper comes back to the link once the window is over
    class Later(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime.now(tz) + CLICK_REPEAT_WINDOW + timedelta(seconds=1)

    monkeypatch.setattr("afterglow.services.tracking.datetime", Later)
    later = _click(function_module, token)
    # Then it is a click of its own
    assert later != first
    assert len(_clicks(stores, decision["decision_id"])) == 2
    assert _engaged(stores, seeded.offer_id) == 2


def test_two_offers_of_one_decision_are_two_clicks(stores, function_module):
    seeded = seed_catalog(stores, category="coffee")
    now = int(datetime.now(UTC).timestamp())
    tokens = [
        signer().sign(TrackingClaims(seeded.retailer_id, "dec_two", seeded.offer_id, "mixed", now)),
        signer().sign(TrackingClaims(seeded.retailer_id, "dec_other", seeded.offer_id, "mixed", now)),
    ]
    locations = {_click(function_module, token) for token in tokens}
    assert len(locations) == 2 and len(_clicks(stores, "dec_two")) == 1


def test_concurrent_clicks_on_one_offer_are_one_click(moto_server_stores):
    # Given an offer on a page
    stores = moto_server_stores
    seeded = seed_catalog(stores, category="coffee")
    claims = TrackingClaims(
        seeded.retailer_id, "dec_race", seeded.offer_id, "mixed", int(datetime.now(UTC).timestamp())
    )
    token = signer().sign(claims)
    # When sixteen clicks on its link arrive at once (a double click, a scanner and the shopper)
    with ThreadPoolExecutor(max_workers=8) as pool:
        locations = set(pool.map(lambda _: record_click(stores, token), range(16)))
    # Then they all go to the same click id, recorded and counted once
    assert len(locations) == 1
    assert len(_clicks(stores, "dec_race")) == 1
    assert _engaged(stores, seeded.offer_id) == 1
