"""A ledger with a history, fast: past days of one retailer's orders written as the services write
them (decisions, impressions, engagements, clicks), 25 records per BatchWriteItem.

The mission-scale benchmark holds ≥ 100,000 ledger records before it measures; writing them one
request at a time through the API would take an hour on a laptop. Records are shaped by the ledger
store itself (`LedgerStore.put_new_request`: keys, day index, retention) and carry the fields the
aggregator and reconciliation read, on days before today — so today's reconciliation and the load
test's ledger check only see what the load writes. The stream still carries every record, and
the learning loop folds them into the counters as it would a real backlog.
"""

import random
import secrets
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from afterglow.store.ledger import LedgerStore

BATCH = 25  # BatchWriteItem's limit
CATEGORIES = ("camping", "running", "kitchen", "audio")
SEGMENTS = ("new", "returning", "vip")
IMPRESSION_RATE = 0.9
ENGAGE_RATE = 0.3
CLICK_RATE = 0.35


@dataclass(frozen=True)
class SeedOffer:
    offer_id: str
    partner_id: str
    title: str


def history(
    ledger: LedgerStore,
    retailer_id: str,
    offers: Sequence[SeedOffer],
    records: int,
    *,
    today: datetime,
    days: int = 30,
    seed: int = 1,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, stored item) of about `records` ledger records over the `days` days before `today`:
    each order a decision showing up to three offers, then what its shopper did."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    written = 0
    order = 0
    while written < records:
        order += 1
        at = today - timedelta(days=1 + rng.randrange(days), seconds=rng.randrange(86_400))
        shown = rng.sample(list(offers), k=min(3, len(offers)))
        context = {"purchase_category": rng.choice(CATEGORIES), "segment": rng.choice(SEGMENTS)}
        decision_id = f"dec_seed_{seed}_{order}"
        body = {
            "decision_id": decision_id,
            "retailer_id": retailer_id,
            "arm": "mixed",
            "customer_hash": secrets.token_hex(16),
            "order_id": f"seed-{seed}-{order}",
            "order_value_minor": rng.randrange(1_000, 80_000),
            "purchased_categories": [context["purchase_category"]],
            "context": context,
            "currency": "EUR",
            "offer_ids": [offer.offer_id for offer in shown],
            "response": {
                "decision_id": decision_id,
                "arm": "mixed",
                "degraded": False,
                "offers": [
                    {"offer_id": o.offer_id, "partner_id": o.partner_id, "title": o.title} for o in shown
                ],
            },
        }
        yield "decision", _item(ledger, f"DECISION#seed#{seed}#{order}", "decision", at, body)
        written += 1
        for offer in shown:
            event = {
                "retailer_id": retailer_id,
                "decision_id": decision_id,
                "arm": "mixed",
                "offer_id": offer.offer_id,
                "partner_id": offer.partner_id,
                "context": context,
            }
            later = at + timedelta(seconds=2 + rng.randrange(60))
            for kind, rate in (("impression", IMPRESSION_RATE), ("engage", ENGAGE_RATE)):
                if rng.random() < rate:
                    client = {
                        "client_event_id": secrets.token_hex(8),
                        "client_occurred_at": later.isoformat(),
                    }
                    pk = f"EVENT#{kind}#{decision_id}#{offer.offer_id}"
                    yield kind, _item(ledger, pk, kind, later, {**event, **client})
                    written += 1
            if rng.random() < CLICK_RATE:
                click_id = f"clk_seed_{seed}_{order}_{offer.offer_id}"
                click = {**event, "click_id": click_id}
                yield "click", _item(ledger, f"CLICK#{click_id}", "click", later, click)
                written += 1


def _item(ledger: LedgerStore, pk: str, kind: str, at: datetime, body: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = ledger.put_new_request(pk, kind, at, body)["Put"]["Item"]
    return item


def seed_ledger(
    ddb: Any,
    ledger: LedgerStore,
    table: str,
    retailer_id: str,
    offers: Sequence[SeedOffer],
    records: int,
    *,
    seed: int = 1,
) -> Counter[str]:
    """Write about `records` ledger records of past days (BatchWriteItem, retrying what DynamoDB
    leaves unprocessed); returns how many of each kind."""
    written: Counter[str] = Counter()
    batch: list[dict[str, Any]] = []
    for kind, item in history(ledger, retailer_id, offers, records, today=datetime.now(UTC), seed=seed):
        batch.append({"PutRequest": {"Item": item}})
        written[kind] += 1
        if len(batch) == BATCH:
            _write(ddb, table, batch)
            batch = []
    if batch:
        _write(ddb, table, batch)
    return written


def _write(ddb: Any, table: str, batch: list[dict[str, Any]]) -> None:
    pending = {table: batch}
    for _ in range(10):  # bounded: moto processes everything; DynamoDB may throttle some
        answer = ddb.batch_write_item(RequestItems=pending)
        pending = answer.get("UnprocessedItems") or {}
        if not pending:
            return
    raise RuntimeError("the ledger kept refusing a batch of seeded records")
