"""Rules, pause and the relevance audit through the admin API, seen by the next decision."""

from datetime import UTC, datetime

import pytest

from afterglow.services.admin import create_platform_key
from tests.utils import http_event, invoke, order, seed_catalog


@pytest.fixture
def call(function_module):
    def _call(function, method, path, key, body=None, route_path=None, query=""):
        event = http_event(
            method,
            path,
            body=body,
            headers={"authorization": f"Bearer {key}"},
            route_path=route_path,
            query=query,
        )
        return invoke(function_module(function), event)

    return _call


def _offers(call, seeded, order_id):
    _, _, decision = call("DecideFunction", "POST", "/v1/decisions", seeded.publishable_key, order(order_id))
    return [o["offer_id"] for o in decision["offers"]]


def test_audit_marks_an_offer_irrelevant_and_the_next_decision_drops_it(stores, call):
    seeded = seed_catalog(stores.catalog, category="coffee")
    assert _offers(call, seeded, "a-1") == [seeded.offer_id]
    status, _, sample = call(
        "AdminFunction",
        "GET",
        f"/v1/admin/retailers/{seeded.retailer_id}/audit",
        seeded.secret_key,
        route_path="/v1/admin/retailers/{retailer_id}/audit",
    )
    assert status == 200
    assert sample["items"][0]["purchased_categories"] == ["kitchen"]
    assert sample["items"][0]["shown"][0]["offer_id"] == seeded.offer_id
    status, _, retailer = call(
        "AdminFunction",
        "POST",
        f"/v1/admin/retailers/{seeded.retailer_id}/audit/suppressions",
        seeded.secret_key,
        body={"purchase_category": "kitchen", "offer_id": seeded.offer_id},
        route_path="/v1/admin/retailers/{retailer_id}/audit/suppressions",
    )
    assert status == 200 and retailer["rules"]["audit_suppressions"][0]["offer_id"] == seeded.offer_id
    assert _offers(call, seeded, "a-2") == []


def test_stale_rules_update_is_409_not_a_lost_write(stores, call):
    seeded = seed_catalog(stores.catalog)
    path, route = f"/v1/admin/retailers/{seeded.retailer_id}/rules", "/v1/admin/retailers/{retailer_id}/rules"
    first = call(
        "AdminFunction",
        "PUT",
        path,
        seeded.secret_key,
        {"version": 1, "rules": {"blocked_categories": ["coffee"]}},
        route,
    )
    stale = call(
        "AdminFunction",
        "PUT",
        path,
        seeded.secret_key,
        {"version": 1, "rules": {"blocked_categories": []}},
        route,
    )
    assert first[0] == 200 and first[2]["version"] == 2
    assert stale[0] == 409 and stale[2]["error"]["code"] == "conflict"
    assert _offers(call, seeded, "r-1") == []  # the first write stands: coffee is blocked


def test_retailer_key_cannot_change_another_retailers_rules(stores, call):
    mine, theirs = seed_catalog(stores.catalog), seed_catalog(stores.catalog)
    status, _, _ = call(
        "AdminFunction",
        "PUT",
        f"/v1/admin/retailers/{theirs.retailer_id}/rules",
        mine.secret_key,
        {"version": 1, "rules": {}},
        "/v1/admin/retailers/{retailer_id}/rules",
    )
    assert status == 404


def test_pausing_a_partner_stops_its_offers(stores, call):
    seeded = seed_catalog(stores.catalog)
    key = create_platform_key(stores.catalog)
    status, _, partner = call(
        "AdminFunction",
        "POST",
        f"/v1/admin/partners/{seeded.partner_id}/status",
        key,
        {"version": 1, "status": "paused"},
        "/v1/admin/partners/{partner_id}/status",
    )
    assert (status, partner["status"]) == (200, "paused")
    assert _offers(call, seeded, "p-1") == []
    stale = call(
        "AdminFunction",
        "POST",
        f"/v1/admin/partners/{seeded.partner_id}/status",
        key,
        {"version": 1, "status": "active"},
        "/v1/admin/partners/{partner_id}/status",
    )
    assert stale[0] == 409


def test_the_audit_command_shows_bought_to_shown_and_marks_an_offer_irrelevant(stores, call, capsys):
    from afterglow.cli import main

    seeded = seed_catalog(stores.catalog, category="coffee")
    assert _offers(call, seeded, "cli-1") == [seeded.offer_id]
    assert main(["audit", seeded.retailer_id]) == 0
    printed = capsys.readouterr().out
    assert "bought kitchen" in printed and seeded.offer_id in printed
    assert main(["audit", seeded.retailer_id, "--irrelevant", seeded.offer_id, "--after", "kitchen"]) == 0
    assert _offers(call, seeded, "cli-2") == []
    # A category that does not exist is refused, naming it
    assert main(["audit", seeded.retailer_id, "--irrelevant", seeded.offer_id, "--after", "spaceships"]) == 1
    assert "spaceships" in capsys.readouterr().err


def test_a_paused_retailer_shows_no_offers_and_records_nothing_until_resumed(stores, call):
    seeded = seed_catalog(stores.catalog, category="coffee")
    path, route = (
        f"/v1/admin/retailers/{seeded.retailer_id}/status",
        "/v1/admin/retailers/{retailer_id}/status",
    )
    status, _, retailer = call(
        "AdminFunction",
        "POST",
        path,
        seeded.secret_key,
        body={"version": 1, "status": "paused"},
        route_path=route,
    )
    assert status == 200 and retailer["status"] == "paused"
    _, _, decision = call("DecideFunction", "POST", "/v1/decisions", seeded.publishable_key, order("p-1"))
    assert decision["offers"] == [] and not decision["degraded"]
    day = datetime.now(UTC).date().isoformat()
    assert [r for r in stores.ledger.read_day(day) if r["kind"] == "decision"] == []
    call(
        "AdminFunction",
        "POST",
        path,
        seeded.secret_key,
        body={"version": 2, "status": "active"},
        route_path=route,
    )
    assert _offers(call, seeded, "p-2") == [seeded.offer_id]
