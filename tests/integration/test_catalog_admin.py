"""Rules, pause and the relevance audit through the admin API, seen by the next decision."""

from datetime import UTC, datetime

import pytest

from afterglow.services.keys import create_platform_key
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
    seeded = seed_catalog(stores, category="coffee")
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
    seeded = seed_catalog(stores)
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
    mine, theirs = seed_catalog(stores), seed_catalog(stores)
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
    seeded = seed_catalog(stores)
    key = create_platform_key(stores)
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

    seeded = seed_catalog(stores, category="coffee")
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
    seeded = seed_catalog(stores, category="coffee")
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


def test_a_sampled_decision_keeps_a_trace_that_says_why_after_the_fact(stores, call, monkeypatch):
    from afterglow.settings import get_settings

    # Given every decision sampled, and a retailer that blocks one category
    monkeypatch.setattr(get_settings(), "trace_sample_rate", 1.0)
    seeded = seed_catalog(stores, category="coffee")
    blocked = seed_catalog(stores, category="meal_kits")  # another retailer's partner offer
    path = f"/v1/admin/retailers/{seeded.retailer_id}"
    _, _, retailer = call(
        "AdminFunction", "GET", path, seeded.secret_key, route_path="/v1/admin/retailers/{retailer_id}"
    )
    call(
        "AdminFunction", "PATCH", path, seeded.secret_key,
        body={"version": retailer["version"], "rules": {"blocked_categories": ["meal_kits"]}},
        route_path="/v1/admin/retailers/{retailer_id}",
    )  # fmt: skip
    shown = _offers(call, seeded, "t-1")
    # When the reviewer asks for traced decisions
    status, _, sample = call(
        "AdminFunction", "GET", path + "/audit", seeded.secret_key,
        route_path="/v1/admin/retailers/{retailer_id}/audit", query="traced=true",
    )  # fmt: skip
    assert status == 200
    trace = sample["items"][0]["trace"]
    # Then it shows what was shown and why the blocked offer was not
    assert trace["shown"] == shown == [seeded.offer_id]
    verdicts = {c["offer_id"]: c for c in trace["candidates"]}
    assert verdicts[blocked.offer_id]["refused"] == "category_blocked_by_retailer"
    assert verdicts[seeded.offer_id]["refused"] is None and verdicts[seeded.offer_id]["relevance"] > 0
    assert "customer" not in str(trace) and "Ada" not in str(trace)


def test_decisions_keep_no_trace_when_none_is_sampled(stores, call, monkeypatch):
    from afterglow.settings import get_settings

    monkeypatch.setattr(get_settings(), "trace_sample_rate", 0.0)
    seeded = seed_catalog(stores, category="coffee")
    assert _offers(call, seeded, "n-1") == [seeded.offer_id]
    path = f"/v1/admin/retailers/{seeded.retailer_id}/audit"
    route = "/v1/admin/retailers/{retailer_id}/audit"
    assert call("AdminFunction", "GET", path, seeded.secret_key, route_path=route, query="traced=true")[
        2
    ] == {"items": []}
    assert (
        call("AdminFunction", "GET", path, seeded.secret_key, route_path=route)[2]["items"][0]["trace"]
        is None
    )
