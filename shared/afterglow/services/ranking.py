"""Ranking eligible candidates by expected value, learned online: P(convert | context) × payout.

The policy (`afterglow.learning`) is rebuilt from the learning counters every few minutes per warm
function — one Scan — so feedback written by `track` and `webhooks` reaches `decide` within
`LEARNING_REFRESH_SECONDS`, and the decision path itself makes no extra round trip.
"""

from datetime import UTC, datetime
from time import monotonic

from afterglow.budgets import exhausted_partners
from afterglow.catalog import CatalogIndex
from afterglow.decisioning import Candidate
from afterglow.learning import CounterRow, HierarchicalThompson, from_counters
from afterglow.models import Offer
from afterglow.observability import logger, metrics
from afterglow.settings import get_settings
from afterglow.store import LearningStore


def counter_rows(items: list[dict[str, object]]) -> list[CounterRow]:
    """Stored counter rows as the policy's cells: successes are conversions, rewards are payouts."""
    rows: list[CounterRow] = []
    for item in items:
        feature, _, value = str(item["sk"]).partition("=")
        rows.append(
            CounterRow(
                arm_id=str(item["offer_id"]),
                feature=feature,
                value=value,
                shown=int(item.get("shown", 0)),  # type: ignore[call-overload]
                successes=int(item.get("converted", 0)),  # type: ignore[call-overload]
                reward_sum=float(item.get("revenue_minor", 0)),  # type: ignore[arg-type]
            )
        )
    return rows


class PolicyCache:
    """The learned policy held by a warm function, rebuilt when older than the refresh interval."""

    def __init__(self) -> None:
        self._policy: HierarchicalThompson | None = None
        self._built_at = float("-inf")
        self._catalog_version = -1
        self.exhausted_partners: frozenset[str] = frozenset()

    def get(self, learning: LearningStore, index: CatalogIndex) -> HierarchicalThompson:
        """The policy, rebuilt from the learning table when stale; refreshes `exhausted_partners`
        (partners over budget) from the same read, so budgets hold to within a refresh interval."""
        stale = monotonic() - self._built_at > get_settings().learning_refresh_seconds
        if self._policy is None or stale or index.version != self._catalog_version:
            rows, spend = learning.scan()
            self._policy = from_counters(counter_rows(rows), offer_categories=index.offer_categories)
            self.exhausted_partners = exhausted_partners(
                spend, index.offer_owners, index.partners, datetime.now(UTC).date()
            )
            self._built_at, self._catalog_version = monotonic(), index.version
        return self._policy

    def clear(self) -> None:
        self._policy = None
        self.exhausted_partners = frozenset()


policy_cache = PolicyCache()


def rank_candidates(
    candidates: list[Candidate], context: dict[str, str], policy: HierarchicalThompson | None
) -> list[Offer]:
    """Candidates best first: by the learned policy when there is one, else by the catalog prior
    (relevance × survey boost × payout). Ties rank by offer id so equal scores rank stably."""
    by_prior = sorted(candidates, key=lambda c: (-c.prior_score, c.offer.offer_id))
    if policy is None or not by_prior:
        return [candidate.offer for candidate in by_prior]
    offers = {candidate.offer.offer_id: candidate.offer for candidate in by_prior}
    try:
        ranked = policy.rank(dict(context), list(offers), len(offers))
    except Exception:  # a learning bug must not cost the page its offers
        logger.exception("learned ranking failed; ranking by the catalog prior")
        metrics.add_metric(name="PolicyFallback", unit="Count", value=1)
        return [candidate.offer for candidate in by_prior]
    return [offers[offer_id] for offer_id in ranked]
