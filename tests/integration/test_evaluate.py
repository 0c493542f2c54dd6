"""`afterglow evaluate` through the real path: decisions by the decide function, conversions by
signed partner webhooks, the learning loop's model, then the operator command on the ledger."""

import json
from datetime import UTC, datetime

from afterglow import cli
from afterglow.models import Creative, FixedPayout, OfferCreate
from afterglow.services import offers
from tests.utils import http_event, invoke, order, seed_catalog, signed_headers


def _decide(function_module, shop, body):
    headers = {"authorization": f"Bearer {shop.publishable_key}"}
    event = http_event("POST", "/v1/decisions", body=body, headers=headers)
    return invoke(function_module("DecideFunction"), event)[2]


def _click_and_convert(function_module, partner_secret, token, conversion_id):
    event = http_event("GET", f"/v1/c/{token}", route_path="/v1/c/{token}")
    click_id = invoke(function_module("TrackFunction"), event)[1]["location"].rsplit("click_id=", 1)[1]
    raw = json.dumps(
        {"click_id": click_id, "conversion_id": conversion_id, "action": "signup",
         "occurred_at": datetime.now(UTC).isoformat()}
    ).encode()  # fmt: skip
    headers = signed_headers(partner_secret, raw, msg_id=f"msg_{conversion_id}")
    event = http_event("POST", "/v1/webhooks/conversions", raw=raw, headers=headers)
    return invoke(function_module("WebhooksFunction"), event)[2]


def test_evaluate_estimates_policies_on_one_retailers_own_traffic(
    stores, function_module, learning_loop, capsys
):
    # Given two shops, each with a partner; the first shop's partner has three more coffee offers
    shop = seed_catalog(stores, category="coffee")
    other = seed_catalog(stores, category="coffee", holdout=100)  # shows nothing, by design
    for n, category in enumerate(("coffee", "kitchen", "grocery")):
        offers.create_offer(
            stores,
            OfferCreate(
                partner_id=shop.partner_id,
                category=category,
                creative=Creative(title=f"Extra {n}"),
                landing_url="https://beans.example/extra",
                payout=FixedPayout(currency="EUR", amounts={"signup": 300 + 200 * n}),
            ),
        )
    # … a learned model (so that decisions are the Thompson policy's, with propensities)
    for n in range(3):
        _decide(function_module, shop, order(f"warm-{n}", category="coffee"))
    learning_loop.run_once()
    # When both shops decide, and the first shop's customers convert on some offers
    secrets = {shop.partner_id: shop.webhook_secret, other.partner_id: other.webhook_secret}
    earned = 0
    for n in range(16):
        decision = _decide(
            function_module, shop, order(f"ord-{n}", category="coffee", customer={"email": f"c{n}@x.example"})
        )
        assert decision["offers"], decision
        if n % 3 == 0:
            offer = decision["offers"][0]
            result = _click_and_convert(
                function_module, secrets[offer["partner_id"]], offer["tracking_token"], f"cv-{n}"
            )
            assert result["status"] == "recorded", result
            earned += result["payout_minor"]
    for n in range(5):
        _decide(function_module, other, order(f"other-{n}", category="coffee"))
    # And the operator evaluates the first shop's day
    today = datetime.now(UTC).date().isoformat()
    code = cli.main(["evaluate", "--retailer", shop.retailer_id, "--from", today, "--json"])
    report = json.loads(capsys.readouterr().out)
    # Then every decision of that shop since the model counts, and only that shop's
    assert code == 0
    assert report["retailer_id"] == shop.retailer_id and report["currency"] == "EUR"
    assert report["decisions_read"] == 19
    assert report["decisions_evaluated"] == 16 and report["excluded"] == {"catalog_prior": 3}
    policies = {e["policy"]: e for e in report["evaluations"]}
    assert set(policies) == {"default", "payout-thompson", "category-thompson", "random", "prior"}
    # … the logged policy realised what the webhooks paid, per order
    assert policies["random"]["logged"]["value"] == earned / 16
    for evaluation in policies.values():
        for estimator in ("ips", "snips", "dr"):
            interval = evaluation[estimator]
            assert interval["low"] <= interval["value"] <= interval["high"]
    # And the table for people names the estimators and nothing of the other shop
    assert cli.main(["evaluate", "--retailer", shop.retailer_id, "--from", today]) == 0
    table = capsys.readouterr().out
    assert "IPS" in table and "DR" in table and shop.retailer_id in table
    assert other.retailer_id not in table and other.retailer_id not in json.dumps(report)
    assert "other-" not in table
    # And the other shop's decisions are all holdouts: recorded as such, nothing to evaluate
    assert cli.main(["evaluate", "--retailer", other.retailer_id, "--from", today, "--json"]) == 0
    held_out = json.loads(capsys.readouterr().out)
    assert held_out["excluded"] == {"holdout": 5} and held_out["evaluations"] == []


def test_evaluate_refuses_a_backwards_range_or_an_empty_sample(stores, capsys):
    code = cli.main(["evaluate", "--retailer", "ret_x", "--from", "2026-12-02", "--until", "2026-12-01"])
    assert code == 2 and "before" in capsys.readouterr().err
    code = cli.main(["evaluate", "--retailer", "ret_x", "--from", "2026-12-02", "--max-decisions", "0"])
    assert code == 2 and "--max-decisions" in capsys.readouterr().err


def test_a_share_of_decisions_logs_propensities_and_only_those_are_evaluated(
    stores, function_module, learning_loop, capsys, monkeypatch
):
    # Given a shop with a learned model, whose decisions log their propensities one time in four
    shop = seed_catalog(stores, category="coffee")
    _decide(function_module, shop, order("warm", category="coffee"))
    learning_loop.run_once()
    monkeypatch.setenv("EVALUATION_LOG_SHARE", "0.25")
    from afterglow.settings import get_settings

    get_settings.cache_clear()  # settings are read once per container: a new deployment
    # When 40 orders are decided
    for n in range(40):
        _decide(
            function_module, shop, order(f"s-{n}", category="coffee", customer={"email": f"s{n}@x.example"})
        )
    # Then about a quarter carry what evaluation needs, the others say they were not sampled
    today = datetime.now(UTC).date().isoformat()
    capsys.readouterr()  # what the decisions logged
    assert cli.main(["evaluate", "--retailer", shop.retailer_id, "--from", today, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    not_sampled = report["excluded"].get("not_sampled", 0)
    assert report["decisions_evaluated"] + not_sampled == 40
    assert 1 <= report["decisions_evaluated"] <= 22  # ~10; ids are random, the bounds hold 99.99%
