"""Ranking eligible candidates by expected value: learned engagement × payout.

TODO(issue 5): rank with `afterglow.learning.default_policy()` fed from the learning counters
(cached for a few minutes). Until then: the catalog-relevance prior × survey boost × payout.
"""

from afterglow.decisioning import Candidate
from afterglow.models import Offer


def rank_candidates(candidates: list[Candidate], context: dict[str, str]) -> list[Offer]:
    """Candidates best first (ties broken by offer id so that equal scores rank stably)."""
    ordered = sorted(candidates, key=lambda c: (-c.prior_score, c.offer.offer_id))
    return [candidate.offer for candidate in ordered]
