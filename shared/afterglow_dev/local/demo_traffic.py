"""The demo shop's first hour of trade, played through the real services when the stack starts.

`afterglow local --demo-orders N` decides N orders of shoppers across the shop's segments and sample
baskets, records each confirmation page view (a session), their impressions, a click on some offers
and a partner sign-up on some clicks (signed webhooks through the conversion desk), the NPS
answers of about half the shoppers (the holdout's too: the baseline), and own-brand add-ons added
to some orders, a few of them sent back (returns through the retailers' returns desk), all as of
now. The demo
retailer holds out 10% of its customers, so the first `afterglow reconcile` already reads the
holdout against the offers — lift with its confidence interval, satisfaction beside revenue — and
the learning loop has something to fold.

Shoppers are `shopper-NNNN@example.com`; the draws are seeded, so two starts play the same orders.
"""

import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from afterglow.models import (
    AddOnReturn,
    Arm,
    DecisionRequest,
    DecisionResponse,
    IncomingEventBatch,
    Retailer,
)
from afterglow.services import catalog_entities
from afterglow.services.catalog_cache import catalog_cache
from afterglow.services.conversions import ConversionDesk
from afterglow.services.decisions import decide
from afterglow.services.events import record_events
from afterglow.services.returns import record_return
from afterglow.services.tracking import record_click
from afterglow.store import Stores
from afterglow_dev.local.demo import DemoCatalog, partner_terms
from afterglow_dev.local.load import signed_webhook_headers

# (sku, category, price in cents, title): the demo shop's sample baskets, one line each
BASKETS = [
    ("TENT-2P", "camping", 24_900, "Two-person tent"),
    ("BAG-DOWN-5", "camping", 15_900, "Down sleeping bag -5"),
    ("SHOE-STRIDE-42", "running", 13_900, "Stride running shoes"),
    ("ESP-DUO", "kitchen", 64_900, "Duo espresso machine"),
    ("HP-QUIET", "audio", 29_900, "Quiet noise-cancelling headphones"),
]
SEGMENTS = ("new", "returning", "vip")
COUNTRIES = ("DE", "NL", "FR", "IE")
CLICK_RATE = 0.3  # of the first offer shown
ANSWER_RATE = 0.5  # of the shoppers, to the shop's NPS question
NPS_SCORES = (10, 10, 9, 9, 9, 8, 8, 7, 6, 3)  # drawn from: NPS +30 in expectation, every arm alike
SIGN_UP_RATE = 0.35  # of a partner offer's clicks
ADD_RATE = 0.4  # of the shoppers shown an own-brand add-on, who add it to the order
RETURN_RATE = 0.25  # of the added add-ons, sent back and refunded
BASKET_MINOR = 4_900  # what a shopper spends with a partner paid a share of the basket


@dataclass(frozen=True)
class DemoTraffic:
    """What the played orders came to (printed when the stack starts)."""

    orders: int
    held_out: int  # decided in the holdout arm: no offers, the baseline lift is measured against
    impressions: int
    clicks: int
    conversions: int
    answers: int = 0  # NPS answers
    add_ons: int = 0  # own-brand add-ons added to the order
    returns: int = 0  # of those, sent back


def play_demo_orders(
    stores: Stores, demo: DemoCatalog, api_url: str, orders: int, seed: int = 1
) -> DemoTraffic:
    """Decide `orders` orders of the demo shop and play what their shoppers do (see the module)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo traffic, not secrets
    answers = random.Random(seed + 1)  # noqa: S311 - its own draws: the orders stay as they were
    add_ons = random.Random(seed + 2)  # noqa: S311 - likewise
    retailer = catalog_entities.load_retailer(stores.catalog, demo.retailer_id)
    terms = partner_terms(demo.partner_ids, demo.partner_secrets)
    desk = ConversionDesk(stores)
    counts: Counter[str] = Counter()
    for n in range(orders):
        sku, category, price, title = rng.choice(BASKETS)
        request = DecisionRequest.model_validate(
            {
                "order_id": f"demo-traffic-{seed}-{n:04d}",
                "order_value_minor": price,
                "currency": "EUR",
                "line_items": [{"sku": sku, "category": category, "price_minor": price, "title": title}],
                "customer": {
                    "email": f"shopper-{n:04d}@example.com",
                    "country": rng.choice(COUNTRIES),
                    "segment": rng.choice(SEGMENTS),
                },
                "survey": {"is_gift": rng.random() < 0.2},
            }
        )
        decision = decide(stores, retailer, request, api_url)
        counts["orders"] += 1
        counts["held_out"] += decision.arm == Arm.HOLDOUT
        counts["answers"] += _view_and_answer(stores, retailer, decision, answers)
        if not decision.offers:
            continue  # held out, or nothing the shop's rules let it show for this basket
        now = datetime.now(UTC).isoformat()
        impressions = [
            {"event_id": f"{decision.decision_id}-{i}", "type": "impression", "occurred_at": now}
            | {"token": offer.tracking_token}
            for i, offer in enumerate(decision.offers)
        ]
        index = catalog_cache.cached(stores.catalog)
        result = record_events(stores, index, retailer, IncomingEventBatch(events=impressions))
        counts["impressions"] += sum(r.status == "accepted" for r in result.results)
        added, returned = _add_and_return(stores, retailer, decision, add_ons)
        counts["add_ons"] += added
        counts["returns"] += returned
        first = decision.offers[0]
        if rng.random() >= CLICK_RATE:
            continue
        click_id = record_click(stores, first.tracking_token).rsplit("click_id=", 1)[1]
        counts["clicks"] += 1
        partner = terms.get(first.partner_id)
        if partner is None or rng.random() >= SIGN_UP_RATE:
            continue  # an own-brand add-on, or a shopper who did not sign up
        secret, action, names_an_amount = partner
        body = json.dumps(
            {
                "click_id": click_id,
                "conversion_id": f"demo-{click_id}",
                "action": action,
                "occurred_at": datetime.now(UTC).isoformat(),
                **({"amount_minor": BASKET_MINOR, "currency": "EUR"} if names_an_amount else {}),
            }
        )
        outcome = desk.receive(signed_webhook_headers(secret, f"msg_demo_{click_id}", body), body.encode())
        counts["conversions"] += outcome.status == "recorded"
    return DemoTraffic(
        orders=counts["orders"],
        held_out=counts["held_out"],
        impressions=counts["impressions"],
        clicks=counts["clicks"],
        conversions=counts["conversions"],
        answers=counts["answers"],
        add_ons=counts["add_ons"],
        returns=counts["returns"],
    )


def _add_and_return(
    stores: Stores, retailer: Retailer, decision: DecisionResponse, rng: random.Random
) -> tuple[int, int]:
    """A shopper adds the decision's own-brand add-on to the order now and then (an `accept`), and
    sends a few back (a return of its full price); (added, returned) newly recorded."""
    add_on = next((offer for offer in decision.offers if offer.kind == "first_party"), None)
    if add_on is None or add_on.price_minor is None or rng.random() >= ADD_RATE:
        return 0, 0
    index = catalog_cache.cached(stores.catalog)
    accept = {"event_id": f"{decision.decision_id}-add", "type": "accept", "token": add_on.tracking_token}
    accept["occurred_at"] = datetime.now(UTC).isoformat()
    (result,) = record_events(stores, index, retailer, IncomingEventBatch(events=[accept])).results
    added = result.status == "accepted"
    if not added or rng.random() >= RETURN_RATE:
        return int(added), 0
    sent_back = AddOnReturn(
        return_id=f"demo-rma-{decision.decision_id}",
        decision_id=decision.decision_id,
        offer_id=add_on.offer_id,
        amount_minor=add_on.price_minor,
        quantity=1,
    )
    return 1, int(record_return(stores, index, retailer, sent_back).status == "recorded")


def _view_and_answer(
    stores: Stores, retailer: Retailer, decision: DecisionResponse, rng: random.Random
) -> int:
    """The decision's confirmation page view, and half the time an NPS answer; 1 if one counted."""
    now = datetime.now(UTC).isoformat()
    token = {"token": decision.decision_token, "occurred_at": now}
    events = [{"event_id": f"{decision.decision_id}-view", "type": "page_view", "data": {"view": 1}} | token]
    if decision.satisfaction is not None and rng.random() < ANSWER_RATE:
        score = rng.choice(NPS_SCORES)
        events.append(
            {"event_id": f"{decision.decision_id}-nps", "type": "satisfaction", "data": {"score": score}}
            | token
        )
    index = catalog_cache.cached(stores.catalog)
    result = record_events(stores, index, retailer, IncomingEventBatch(events=events))
    return sum(r.status == "accepted" for r in result.results[1:])
