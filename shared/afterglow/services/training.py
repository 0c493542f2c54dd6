"""The trainer: the aggregated counters published as a versioned learning model.

Every minute (EventBridge) it reads the counters (one Scan of the counters table: offers × write
shards × scopes, bounded items), sums each offer's write shards, and publishes the policy's state
— its estimates, each offer's counter rows, the partners over budget and the paced partners'
spend against their daily budgets
(`afterglow.learning.published`) — as one gzipped JSON object with a version pointer.
`decide` reads the pointer with each decision's state and loads a new version once. An unchanged
model is not published again.

Outcomes never exceed exposures in a published model: the stream may deliver a conversion before
the decision that exposed its offer (another shard), so each row's successes are capped at its
shows.
"""

import gzip
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from afterglow.catalog import CatalogPayouts
from afterglow.feedback import model_value, spend_periods
from afterglow.learning.published import published_model
from afterglow.models import Partner
from afterglow.observability import logger, metrics
from afterglow.pacing import spent_shares
from afterglow.services.catalog_cache import catalog_cache
from afterglow.settings import get_settings
from afterglow.store import Stores


@dataclass(frozen=True)
class Training:
    version: int
    published: bool
    rows: int
    bytes: int  # of the gzipped model published (0 when none was)


def model_rows(counter_items: Any) -> list[list[Any]]:
    """Counter items (offer, scope, row → counters) summed over write shards into the policy's
    rows `[arm, feature, value, shown, successes, reward_sum, reward_sq_sum]`, sorted."""
    summed: dict[tuple[str, str, str], dict[str, int]] = {}
    for offer_id, scope, rows in counter_items:
        for (feature, value), counters in rows.items():
            named = model_value(scope, feature, value)
            cell = summed.setdefault((offer_id, feature, named), {})
            for counter, amount in counters.items():
                cell[counter] = cell.get(counter, 0) + amount
    result = []
    for (arm, feature, value), cell in sorted(summed.items()):
        shown = max(cell.get("shown", 0), 0)
        successes = min(max(cell.get("converted", 0), 0), shown)
        if shown == 0:
            continue  # nothing exposed yet: the policy's prior says all there is
        reward = max(cell.get("revenue_minor", 0), 0) if successes else 0
        reward_sq = max(cell.get("revenue_sq", 0), 0) if successes else 0
        result.append([arm, feature, value, shown, successes, reward, reward_sq])
    return result


def exhausted_partners(
    spend: Mapping[tuple[str, str, str], int], partners: Mapping[str, Partner], today: date
) -> list[str]:
    """Partners whose payouts owed today or this month, in their budget's currency, reached a cap."""
    day, month = spend_periods(today)
    exhausted = []
    for partner_id, partner in sorted(partners.items()):
        budget = partner.budget
        if budget is None:
            continue
        owed_today = spend.get((partner_id, budget.currency, day), 0)
        owed_month = spend.get((partner_id, budget.currency, month), 0)
        if (budget.daily_minor is not None and owed_today >= budget.daily_minor) or (
            budget.monthly_minor is not None and owed_month >= budget.monthly_minor
        ):
            exhausted.append(partner_id)
    return exhausted


def train(stores: Stores, now: datetime | None = None) -> Training:
    """Build the model from the counters and publish it if it changed."""
    at = now or datetime.now(UTC)
    index = catalog_cache.get(stores.catalog)
    today = at.date()
    rows = model_rows(stores.learning.counter_items())
    spend = stores.learning.spend(list(spend_periods(today)))
    exhausted = exhausted_partners(spend, index.partners, today)
    pacing = spent_shares(spend, index.partners, today.isoformat())
    # What the model says, hashed before the estimates are computed (seconds at 20,000 offers):
    # an unchanged model, or one published moments ago, costs the trainer no more than reading.
    budgets = {"budget_day": today.isoformat(), "exhausted_partners": exhausted, "pacing": pacing}
    said = {"rows": rows, **budgets}
    digest = hashlib.sha256(json.dumps(said, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    pointer = stores.learning.model_pointer()
    if pointer is not None and pointer.get("digest") == digest:
        return Training(int(pointer["version"]), False, len(rows), 0)
    if pointer is not None and _published_within(pointer, at, get_settings().model_publish_interval_seconds):
        # Each publish costs every warm decide one model load: not every minute.
        return Training(int(pointer["version"]), False, len(rows), 0)
    model = published_model(
        rows, offer_categories=index.offer_categories, budgets=budgets, offer_payouts=CatalogPayouts(index)
    )
    blob = gzip.compress(json.dumps(model, sort_keys=True, separators=(",", ":")).encode(), mtime=0)
    version = int(pointer["version"]) + 1 if pointer else 1
    published = stores.learning.publish_model(version, digest, blob, at)
    if published:
        logger.info("learning model published", extra={"version": version, "rows": len(rows)})
        metrics.add_metric(name="LearningModelPublished", unit="Count", value=1)
    return Training(version, published, len(rows), len(blob))


def _published_within(pointer: Mapping[str, Any], at: datetime, seconds: float) -> bool:
    published = pointer.get("at")
    return isinstance(published, str) and (at - datetime.fromisoformat(published)).total_seconds() < seconds
