"""The demo `make demo` seeds: a shop that holds out 10% of its customers, yet shows offers to every
sample customer its pages and the README use, and a first hour of trade to read lift from."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from afterglow.models import Arm, DecisionRequest
from afterglow.services import catalog_entities
from afterglow.services.decisions import decide
from afterglow.services.reconcile import reconcile_day
from afterglow_dev.local.demo import SAMPLE_CUSTOMERS, seed_demo
from afterglow_dev.local.demo_traffic import play_demo_orders

ROOT = Path(__file__).resolve().parents[2]
API = "http://127.0.0.1:8000"


def _camping_order(order_id: str, email: str) -> DecisionRequest:
    return DecisionRequest.model_validate(
        {
            "order_id": order_id,
            "order_value_minor": 24900,
            "currency": "EUR",
            "line_items": [{"sku": "TENT-2P", "category": "camping", "price_minor": 24900}],
            "customer": {"email": email, "country": "DE"},
        }
    )


def test_every_sample_customer_of_the_demo_shop_and_the_readme_sees_offers_despite_the_holdout(stores):
    # Given the demo shop, seeded as `make demo` seeds it (10% holdout)
    demo = seed_demo(stores)
    retailer = catalog_entities.load_retailer(stores.catalog, demo.retailer_id)
    assert retailer.experiment.holdout == 10
    # And the customers its pages and the README tour use
    pages = (ROOT / "sdk" / "demo" / "shop.js").read_text() + (ROOT / "README.md").read_text()
    used = set(re.findall(r"[a-z]+@example\.com", pages)) - {"you@example.com"}
    assert used and used <= set(SAMPLE_CUSTOMERS), used - set(SAMPLE_CUSTOMERS)
    # When each of them orders
    for n, email in enumerate(SAMPLE_CUSTOMERS):
        decision = decide(stores, retailer, _camping_order(f"sample-{n}", email), API)
        # Then none is held out, and each sees offers
        assert (decision.arm, bool(decision.offers)) == (Arm.MIXED, True), email


def test_the_demo_trade_gives_the_first_report_a_holdout_and_conversions(stores):
    # Given the demo shop
    demo = seed_demo(stores)
    # When its first orders are played through the services
    played = play_demo_orders(stores, demo, API, orders=60)
    # Then some shoppers were held out and others saw, clicked and signed up
    assert played.orders == 60 and 0 < played.held_out < 20
    assert played.impressions > played.clicks > played.conversions > 0
    # And about half of them answered the shop's NPS question (the holdout's shoppers too)
    assert 15 < played.answers < 45
    # And some added the shop's own add-on, a few of whom sent it back: the first report reads it net
    assert played.add_ons > played.returns > 0
    today = datetime.now(UTC).date()
    reconcile_day(stores, today)
    summary = json.loads(stores.reports.get(f"reports/daily/dt={today.isoformat()}/summary.json"))
    (add_on,) = summary["add_on_returns"]
    assert add_on["accepts"] == played.add_ons and add_on["returns"] == played.returns
    assert 0 < add_on["net_minor"] < add_on["added_minor"]
    # And it reads the shop's offers by slate tier, every impression in one tier or none
    by_tier = {row["tier"]: row for row in summary["by_tier"]}
    assert {"bundle", "accessory", "low_friction"} <= by_tier.keys()
    assert sum(row["impressions"] for row in by_tier.values()) == played.impressions
    assert by_tier["accessory"]["conversions"] == played.add_ons
    # And playing them again (a restart against the same tables) decides nothing twice
    again = play_demo_orders(stores, demo, API, orders=60)
    assert again.conversions == 0 and again.orders == 60
