"""Ranking eligible candidates by expected value, learned online: P(convert | context) × payout.

The policy is the published learning model (`afterglow.services.training`), loaded by a warm
function when the model pointer it reads with every decision's state names a new version (one S3
read, then nothing until the next publish): no table scans on the request path. Loading parses
the document; each offer's counters are read when a decision first ranks it
(`afterglow.learning.published`).
"""

import gzip
import json
from typing import Any

from afterglow import warm
from afterglow.catalog import CatalogIndex, CatalogPayouts
from afterglow.decisioning import Candidate
from afterglow.learning import HierarchicalThompson
from afterglow.learning.published import policy_of
from afterglow.models import Offer
from afterglow.observability import logger, metrics
from afterglow.store import LearningStore


class PolicyCache:
    """The learned policy held by a warm function, rebuilt when a new model is published (or the
    catalog changes: the policy knows each offer's category and what it pays)."""

    def __init__(self) -> None:
        self._policy: HierarchicalThompson | None = None
        self._model_version = -1
        self._catalog_version = -1
        self.exhausted_partners: frozenset[str] = frozenset()
        self.pacing: dict[str, float] = {}  # paced partner -> its spend today / daily budget
        self.budget_day: str | None = None

    def get(
        self, learning: LearningStore, index: CatalogIndex, pointer: dict[str, Any] | None
    ) -> HierarchicalThompson | None:
        """The policy of the model `pointer` names (None before any is published); refreshes
        `exhausted_partners` (partners over budget, as the trainer saw them) and `pacing` (their
        spend today against their daily budgets, `afterglow.pacing`) from the same model."""
        if pointer is None:
            return self._policy
        version = int(pointer["version"])
        if self._policy is None or version != self._model_version or index.version != self._catalog_version:
            model = json.loads(gzip.decompress(learning.read_model(str(pointer["object_key"]))))
            self._policy = policy_of(
                model, offer_categories=index.offer_categories, offer_payouts=CatalogPayouts(index)
            )
            self.exhausted_partners = frozenset(model.get("exhausted_partners", ()))
            self.pacing = {str(p): float(share) for p, share in model.get("pacing", {}).items()}
            self.budget_day = model.get("budget_day")
            self._model_version, self._catalog_version = version, index.version
        return self._policy

    def clear(self) -> None:
        self._policy = None
        self._model_version = self._catalog_version = -1
        self.exhausted_partners = frozenset()
        self.pacing, self.budget_day = {}, None


policy_cache = warm.keep("learned policy", PolicyCache())


def rank_candidates(
    candidates: list[Candidate],
    context: dict[str, str],
    policy: HierarchicalThompson | None,
    *,
    seed: int | None = None,
) -> list[Offer]:
    """Candidates best first: by the learned policy when there is one, else by the catalog prior
    (relevance × survey boost × payout). Ties rank by offer id so equal scores rank stably.
    `seed` makes the policy's draws for this decision reproducible (from its decision id)."""
    by_prior = sorted(candidates, key=lambda c: (-c.prior_score, c.offer.offer_id))
    if policy is None or not by_prior:
        return [candidate.offer for candidate in by_prior]
    offers = {candidate.offer.offer_id: candidate.offer for candidate in by_prior}
    try:
        ranked = policy.rank(dict(context), list(offers), len(offers), seed=seed)
    except Exception:  # a learning bug must not cost the page its offers
        logger.exception("learned ranking failed; ranking by the catalog prior")
        metrics.add_metric(name="PolicyFallback", unit="Count", value=1)
        return [candidate.offer for candidate in by_prior]
    return [offers[offer_id] for offer_id in ranked]
