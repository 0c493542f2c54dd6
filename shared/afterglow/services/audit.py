"""Relevance audit: recent decisions of a retailer, for a human to judge bought → shown."""

from datetime import UTC, date, datetime, timedelta

from afterglow.models import AuditedDecision, AuditSample, DecisionTrace
from afterglow.services.catalog_entities import load_retailer
from afterglow.store import Stores

AUDIT_DAYS = 2  # today and yesterday


def sample_decisions(
    stores: Stores, retailer_id: str, *, limit: int, today: date | None = None, traced_only: bool = False
) -> AuditSample:
    """Up to `limit` of the retailer's recent decisions that showed offers, newest days first;
    with `traced_only`, the sampled decisions that kept a trace (shown offers or not). 404 if
    there is no such retailer.

    Reads the day index shard by shard and stops as soon as it has enough, so a review never
    scans more than it shows (plus one page).
    """
    load_retailer(stores.catalog, retailer_id)
    ledger = stores.ledger
    first_day = today or datetime.now(UTC).date()
    items: list[AuditedDecision] = []
    for back in range(AUDIT_DAYS):
        day = (first_day - timedelta(days=back)).isoformat()
        for shard in range(ledger.shards):
            for record in ledger.read_shard(day, shard):
                if record["kind"] != "decision" or record.get("retailer_id") != retailer_id:
                    continue
                offers = record.get("response", {}).get("offers", [])
                trace = record.get("trace")
                if (traced_only and not trace) or (not traced_only and not offers):
                    continue
                items.append(
                    AuditedDecision(
                        decision_id=record["decision_id"],
                        at=datetime.fromisoformat(record["at"]),
                        purchased_categories=list(record.get("purchased_categories", [])),
                        shown=[
                            {"offer_id": o["offer_id"], "category": o["category"], "title": o["title"]}
                            for o in offers
                        ],
                        trace=DecisionTrace.model_validate(trace) if trace else None,
                    )
                )
                if len(items) == limit:
                    return AuditSample(items=items)
    return AuditSample(items=items)
