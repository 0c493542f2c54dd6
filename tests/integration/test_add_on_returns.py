"""`POST /v1/returns`: a retailer's order system reports returns of add-ons accepted on the
confirmation page — once per return id, never more than was added, its own accepts only."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from afterglow.models import AddOnReturn
from afterglow.returns import ReturnExceedsAccepted
from afterglow.services.catalog_cache import catalog_cache
from afterglow.services.keys import create_platform_key
from afterglow.services.returns import accepted_add_on, record_return
from afterglow.store.records import ReturnRecord
from afterglow_dev.local.gateway import FakeLambdaContext
from tests.utils import accept_add_on, http_event, invoke, seed_catalog


@pytest.fixture
def shop(stores):
    """A retailer whose customer accepted two units of a 12.99 add-on (25.98 added)."""
    seeded = seed_catalog(stores, category="coffee")
    offer_id = accept_add_on(stores, seeded, decision_id="dec_1", quantity=2)
    return seeded, offer_id


def _return(function_module, key, body=None, *, raw=None):
    payload = raw if raw is not None else json.dumps(body).encode()
    event = http_event("POST", "/v1/returns", raw=payload, headers={"authorization": f"Bearer {key}"})
    return invoke(function_module("TrackFunction"), event)


def _body(offer_id, return_id="rma-1", amount_minor=1299, **more):
    return {
        "return_id": return_id,
        "decision_id": "dec_1",
        "offer_id": offer_id,
        "amount_minor": amount_minor,
    } | more


def _accept(stores, offer_id, decision_id="dec_1"):
    return stores.ledger.find_event("accept", decision_id, offer_id)


def test_a_return_is_recorded_once_and_a_resend_is_a_duplicate_that_changes_nothing(
    stores, function_module, shop
):
    seeded, offer_id = shop
    # When the shop reports one unit of the two back
    status, _, body = _return(function_module, seeded.secret_key, _body(offer_id, quantity=1))
    # Then it is recorded, and the answer says what is left of the add-on
    assert status == 200, body
    assert body | {} == {
        "status": "recorded",
        "return_id": "rma-1",
        "decision_id": "dec_1",
        "offer_id": offer_id,
        "amount_minor": 1299,
        "quantity": 1,
        "currency": "EUR",
        "added_minor": 2598,
        "returned_minor": 1299,
    }
    # When the same return is sent again, even with another amount
    status, _, again = _return(function_module, seeded.secret_key, _body(offer_id, amount_minor=5))
    # Then it is the first one, a duplicate, and the add-on's totals did not move
    assert status == 200 and again["status"] == "duplicate"
    assert (again["amount_minor"], again["returned_minor"]) == (1299, 1299)
    accept = _accept(stores, offer_id)
    assert (accept.returned_minor, accept.returned_units) == (1299, 1)
    stored = stores.ledger.find_return(seeded.retailer_id, "rma-1")
    assert (stored.amount_minor, stored.arm, stored.currency, stored.partner_id) == (
        1299,
        "mixed",
        "EUR",
        seeded.retailer_id,
    )


def test_a_return_beyond_what_was_added_is_refused_and_writes_nothing(stores, function_module, shop):
    seeded, offer_id = shop
    # Given 20.00 of the 25.98 returned already
    assert _return(function_module, seeded.secret_key, _body(offer_id, amount_minor=2000))[0] == 200
    # When another 6.00 is reported (0.02 more than is left)
    status, _, body = _return(function_module, seeded.secret_key, _body(offer_id, "rma-2", amount_minor=600))
    # Then it is refused with a reason naming the problem and the amount left
    assert status == 422
    assert body["error"]["code"] == "return_exceeds_accepted_amount"
    assert body["error"]["field"] == "amount_minor"
    assert "598 EUR" in body["error"]["message"]
    assert stores.ledger.find_return(seeded.retailer_id, "rma-2") is None
    assert _accept(stores, offer_id).returned_minor == 2000
    # And exactly what is left is still returnable
    status, _, body = _return(function_module, seeded.secret_key, _body(offer_id, "rma-3", amount_minor=598))
    assert (status, body["returned_minor"]) == (200, 2598)


def test_more_units_back_than_were_accepted_are_refused(stores, function_module, shop):
    seeded, offer_id = shop
    assert (
        _return(function_module, seeded.secret_key, _body(offer_id, amount_minor=100, quantity=2))[0] == 200
    )
    status, _, body = _return(
        function_module, seeded.secret_key, _body(offer_id, "rma-2", amount_minor=100, quantity=1)
    )
    assert status == 422 and body["error"]["code"] == "return_exceeds_accepted_quantity"
    assert stores.ledger.find_return(seeded.retailer_id, "rma-2") is None


def test_two_returns_racing_cannot_together_exceed_the_add_on(stores, shop):
    seeded, offer_id = shop
    # Given two returns of 20.00 that both read the add-on before either was written
    as_read = accepted_add_on(
        stores.ledger, catalog_cache.get(stores.catalog), seeded.retailer_id, "dec_1", offer_id
    )
    first, second = (
        ReturnRecord(
            retailer_id=seeded.retailer_id,
            return_id=return_id,
            decision_id="dec_1",
            offer_id=offer_id,
            partner_id=seeded.retailer_id,
            arm="mixed",
            currency="EUR",
            amount_minor=2000,
            quantity=None,
            occurred_at=None,
            recorded_at=datetime.now(UTC),
        )
        for return_id in ("rma-a", "rma-b")
    )
    # When both transactions are sent with what each read
    outcomes = [
        stores.ledger.record_return(r, added_minor=as_read.added_minor, accepted_units=as_read.quantity)
        for r in (first, second)
    ]
    # Then the first lands and the second's condition refuses it: nothing of it is written
    assert outcomes == ["recorded", "exceeds"]
    assert stores.ledger.find_return(seeded.retailer_id, "rma-b") is None
    assert _accept(stores, offer_id).returned_minor == 2000


def test_concurrent_returns_of_one_add_on_never_exceed_it(moto_server_stores):
    # Given an add-on of 25.98
    stores = moto_server_stores
    seeded = seed_catalog(stores, category="coffee")
    offer_id = accept_add_on(stores, seeded, decision_id="dec_1", quantity=2)
    retailer = catalog_cache.get(stores.catalog).retailers[seeded.retailer_id]

    def send(n: int) -> str:
        request = AddOnReturn.model_validate(_body(offer_id, f"rma-{n}", amount_minor=1000))
        try:
            return record_return(stores, catalog_cache.get(stores.catalog), retailer, request).status
        except ReturnExceedsAccepted:
            return "refused"

    # When eight returns of 10.00 arrive at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(send, range(8)))
    # Then two are recorded, six refused, and 20.00 is returned: never more than was added
    assert sorted(outcomes) == ["recorded"] * 2 + ["refused"] * 6
    assert _accept(stores, offer_id).returned_minor == 2000


def test_a_publishable_key_is_refused(function_module, shop):
    seeded, offer_id = shop
    status, _, body = _return(function_module, seeded.publishable_key, _body(offer_id))
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert "secret key" in body["error"]["message"]


def test_another_retailers_accept_looks_like_one_that_does_not_exist(stores, function_module, shop):
    _, offer_id = shop
    other = seed_catalog(stores, category="coffee")
    theirs = _return(function_module, other.secret_key, _body(offer_id))
    unknown = _return(function_module, other.secret_key, _body("off_nope"))
    for status, _, body in (theirs, unknown):
        assert status == 404 and body["error"]["code"] == "accept_not_found"
    assert _accept(stores, offer_id).returned_minor == 0
    # And one retailer's return ids are its own: another may use the same id
    seeded, _ = shop
    mine = accept_add_on(stores, other, decision_id="dec_1", quantity=1)
    assert _return(function_module, seeded.secret_key, _body(offer_id))[2]["status"] == "recorded"
    assert _return(function_module, other.secret_key, _body(mine))[2]["status"] == "recorded"


def test_a_partner_offer_is_refused_by_name(function_module, shop):
    seeded, _ = shop
    status, _, body = _return(function_module, seeded.secret_key, _body(seeded.offer_id))
    assert status == 422 and body["error"]["code"] == "not_a_first_party_offer"


def test_a_platform_key_is_refused(stores, function_module, shop):
    _, offer_id = shop
    status, _, _ = _return(function_module, create_platform_key(stores), _body(offer_id))
    assert status == 403


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"amount_minor": 0}, 422, "invalid_input", "amount_minor"),
        ({"amount_minor": -5}, 422, "invalid_input", "amount_minor"),
        ({"amount_minor": 12.5}, 422, "invalid_input", "amount_minor"),
        ({"amount_minor": "1299"}, 422, "invalid_input", "amount_minor"),
        ({"amount_minor": True}, 422, "invalid_input", "amount_minor"),
        ({"quantity": 0}, 422, "invalid_input", "quantity"),
        ({"quantity": "1"}, 422, "invalid_input", "quantity"),
        ({"return_id": ""}, 422, "invalid_input", "return_id"),
        ({"return_id": "x" * 129}, 422, "invalid_input", "return_id"),
        ({"return_id": "has space"}, 422, "invalid_input", "return_id"),
        ({"decision_id": "dec#1"}, 422, "invalid_input", "decision_id"),
        ({"offer_id": None}, 422, "invalid_input", "offer_id"),
        ({"occurred_at": "2026-11-27T10:00:00"}, 422, "invalid_input", "occurred_at"),
        ({"refund": 1}, 422, "invalid_input", "refund"),
    ],
)
def test_bad_bodies_get_a_4xx_naming_the_field(stores, function_module, shop, change, status, code, field):
    seeded, offer_id = shop
    answer_status, _, body = _return(function_module, seeded.secret_key, _body(offer_id) | change)
    assert (answer_status, body["error"]["code"], body["error"]["field"]) == (status, code, field)
    assert _accept(stores, offer_id).returned_minor == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"text"', b"", b"null"])
def test_malformed_bodies_are_4xx_never_500(function_module, shop, raw):
    seeded, _ = shop
    status, _, body = _return(function_module, seeded.secret_key, raw=raw)
    assert 400 <= status < 500 and "error" in body


def test_reconciliation_reads_returns_out_net_and_a_rerun_changes_nothing(stores, function_module, shop):
    seeded, offer_id = shop
    # Given the 25.98 add-on with one unit (12.99) back, and a second add-on of 12.99 with 1.00 refunded
    assert _return(function_module, seeded.secret_key, _body(offer_id, quantity=1))[0] == 200
    second = accept_add_on(stores, seeded, decision_id="dec_2", offer_id=offer_id, quantity=1)
    refund = _body(second, "rma-2", amount_minor=100) | {"decision_id": "dec_2"}
    assert _return(function_module, seeded.secret_key, refund)[0] == 200
    # When today is reconciled, twice
    today = datetime.now(UTC).date().isoformat()
    reconcile = function_module("ReconcileFunction").lambda_handler
    prefix = f"reports/daily/dt={today}/"
    assert reconcile({"date": today}, FakeLambdaContext("reconcile"))["status"] == "ok"
    first = {
        name: stores.reports.get(prefix + name) for name in ("summary.json", "report.html", "manifest.json")
    }
    assert reconcile({"date": today}, FakeLambdaContext("reconcile"))["status"] == "ok"
    # Then the re-run wrote the same bytes
    assert {name: stores.reports.get(prefix + name) for name in first} == first
    # And the totals and the offer's row show what came back and what is left
    summary = json.loads(first["summary.json"])
    totals = summary["totals"]
    assert (totals["accepts"], totals["returns"]) == (2, 2)
    assert totals["own_brand_revenue_minor_by_currency"] == {"EUR": 3897}
    assert totals["own_brand_returned_minor_by_currency"] == {"EUR": 1399}
    [row] = summary["add_on_returns"]
    assert (row["offer_id"], row["added_minor"], row["returned_minor"], row["net_minor"]) == (
        offer_id,
        3897,
        1399,
        2498,
    )
    assert (row["return_rate"], row["flag_rate"], row["flagged"]) == (0.358994, 0.2, True)
    assert summary["offers_flagged_for_returns"] == [offer_id]
    # And the experiment's own-brand revenue is net of returns
    [arm] = [r for r in summary["experiment"] if r["retailer_id"] == seeded.retailer_id]
    assert (arm["accepts"], arm["returns"], arm["revenue_minor"]) == (2, 2, 2498)
    # And the retailer's page has a Returns section, flagged
    page = stores.reports.get(f"{prefix}retailer={seeded.retailer_id}/report.html").decode()
    assert "Returns of own-brand add-ons" in page and "⚑ over 20.0%" in page
    assert "35.9%" in page


def test_a_retailer_sets_its_return_flag_rate(stores, function_module, shop):
    seeded, _ = shop
    retailer_path = f"/v1/admin/retailers/{seeded.retailer_id}"
    headers = {"authorization": f"Bearer {seeded.secret_key}"}
    admin = function_module("AdminFunction")
    _, _, current = invoke(
        admin,
        http_event("GET", retailer_path, route_path="/v1/admin/retailers/{retailer_id}", headers=headers),
    )
    assert current["return_flag_rate"] == 0.2
    for rate, expected in ((0.35, 200), (1.5, 422)):
        change = {"version": current["version"], "return_flag_rate": rate}
        event = http_event(
            "PATCH",
            retailer_path,
            route_path="/v1/admin/retailers/{retailer_id}",
            body=change,
            headers=headers,
        )
        status, _, body = invoke(admin, event)
        assert status == expected, body
    assert body["error"]["field"] == "return_flag_rate"
    catalog_cache.clear()
    assert catalog_cache.get(stores.catalog).retailers[seeded.retailer_id].return_flag_rate == 0.35
