"""What a decision records so that another policy can be evaluated on it later (`afterglow evaluate`).

Beside its slate, a decision keeps an `evaluation` entry:

- `logging`: how the slate was chosen — `thompson` (the learned policy: propensities below),
  `catalog_prior` (no model: a deterministic ranking, excluded from evaluation), `holdout` (nothing
  shown by design), `no_candidates` (nothing eligible: worth 0 to every policy), `unscored` (the
  Monte Carlo failed; excluded);
- `draws`: Thompson draws behind the counts — the decision's own and `LOGGING_DRAWS` more, each
  seeded from the decision id, so the same decision always logs the same figures;
- `propensities`: per shown slot, the share of draws that put the shown offer at that slot;
- `candidates`: the eligible shortlist (at most `MAX_LOGGED_CANDIDATES`: the shown offers, then
  the best by catalog prior), each `[offer id, partner id, category, prior score, [draws at slot
  0, 1, …]]` — what a candidate policy and the slate rule need;
- `layout`: `tiered` when the retailer's slates are tiered (absent: ranked); each candidate then
  also carries its tier, for the slate rule.

The draws rank only the already eligible shortlist (tens of offers), with the policy's own
cached posteriors, so they cost a few rank calls, not a second decision.
"""

import math
import random
from functools import cache
from statistics import NormalDist
from typing import Any

from afterglow.decisioning import Candidate, choose_slate
from afterglow.evaluation import draw_seeds
from afterglow.learning import HierarchicalThompson
from afterglow.models import Arm, Offer
from afterglow.observability import logger

LOGGING_DRAWS = 16  # Monte Carlo draws per decision, besides its own (measured: see README)
MAX_LOGGED_CANDIDATES = 32
LOGGING_SALT = "logging"


def evaluation_log(
    candidates: list[Candidate],
    slate: list[Offer],
    limit: int,
    policy: HierarchicalThompson | None,
    context: dict[str, str],
    decision_id: str,
    arm: Arm,
    layout: str = "ranked",
) -> dict[str, Any]:
    """The decision's `evaluation` entry (see the module docstring); never raises."""
    if arm is Arm.HOLDOUT:
        return {"logging": "holdout"}
    if not candidates or limit <= 0:
        return {"logging": "no_candidates", "k": limit}
    by_prior = sorted(candidates, key=lambda c: (-c.prior_score, c.offer.offer_id))
    shown = [offer.offer_id for offer in slate]
    if policy is None:
        draws, kind = 1, "catalog_prior"
        counts = {offer_id: [int(slot == j) for j in range(limit)] for slot, offer_id in enumerate(shown)}
    else:
        try:
            counts = _thompson_counts(by_prior, limit, policy, context, decision_id, layout)
        except Exception:  # evaluation is a by-product: it must never cost the page its offers
            logger.exception("propensities failed; the decision is logged unscored")
            return {"logging": "unscored", "k": limit}
        for slot, offer_id in enumerate(shown):  # the decision's own draw counts too
            counts.setdefault(offer_id, [0] * limit)[slot] += 1
        draws, kind = LOGGING_DRAWS + 1, "thompson"
    by_id = {c.offer.offer_id: c for c in candidates}
    kept = [by_id[offer_id] for offer_id in shown if offer_id in by_id]  # the slate first, in its order
    kept += [c for c in by_prior if c.offer.offer_id not in set(shown)]
    tiered = layout == "tiered"
    entry: dict[str, Any] = {
        "logging": kind,
        "k": limit,
        "draws": draws,
        "propensities": [round(counts[offer_id][slot] / draws, 6) for slot, offer_id in enumerate(shown)],
        "candidates": [
            [
                c.offer.offer_id,
                c.offer.partner_id,
                c.offer.category,
                round(c.prior_score, 2),
                counts.get(c.offer.offer_id, [0] * limit),
                *([c.offer.slate_tier] if tiered else []),
            ]
            for c in kept[:MAX_LOGGED_CANDIDATES]
        ],
    }
    if tiered:
        entry["layout"] = layout
    return entry


def _thompson_counts(
    by_prior: list[Candidate],
    limit: int,
    policy: HierarchicalThompson,
    context: dict[str, str],
    decision_id: str,
    layout: str,
) -> dict[str, list[int]]:
    """Where `LOGGING_DRAWS` more of the policy's draws put each candidate, slate rule included.

    The score distributions come from the policy once (`score_distributions`: what `rank` draws
    from); each draw then costs a normal pair per offer that can still reach the slate. An offer
    below, at 4 sd, `2·limit − 1` offers of distinct partners and categories is never chosen (each
    chosen offer blocks at most two of them), so it is left out of the draws (counts 0).
    """
    offers = [c.offer for c in by_prior]  # in the order decide ranks them (ties break alike)
    distributions = policy.score_distributions(dict(context), [offer.offer_id for offer in offers])
    bounds = [
        (
            _log_sigmoid(z - 4 * z_sd) + payout - 4 * payout_sd,
            _log_sigmoid(z + 4 * z_sd) + payout + 4 * payout_sd,
        )
        for z, z_sd, payout, payout_sd in distributions
    ]
    if layout == "tiered":  # the best of a tier shows however low it ranks: any offer may be chosen
        reachable = list(range(len(offers)))
    else:
        floor = _dominating_floor(offers, [low for low, _ in bounds], 2 * limit - 1)
        reachable = [i for i, (_, high) in enumerate(bounds) if high >= floor]
    rng = random.Random(draw_seeds(decision_id, 1, LOGGING_SALT)[0])  # noqa: S311 - sampling, not secrets
    bits, normals, log1p, exp = rng.getrandbits, _normals(), math.log1p, math.exp
    arms = [(-i, *distributions[i]) for i in reachable]
    counts: dict[str, list[int]] = {}
    for _ in range(LOGGING_DRAWS):
        scored = []
        for minus_i, z, z_sd, payout, payout_sd in arms:  # -i: ties go to the first, as in rank
            z += z_sd * normals[bits(12)]
            score = (-log1p(exp(-z)) if z > -30.0 else z) + payout
            scored.append((score + payout_sd * normals[bits(12)] if payout_sd else score, minus_i))
        scored.sort(reverse=True)
        for slot, offer in enumerate(
            choose_slate((offers[-minus_i] for _, minus_i in scored), limit, layout)
        ):
            counts.setdefault(offer.offer_id, [0] * limit)[slot] += 1
    return counts


@cache
def _normals() -> tuple[float, ...]:
    """Standard normal quantiles drawn by 12 random bits, as `rank` draws its normals (a cheap and
    faithful sample); built on first use, not at import (cold start)."""
    normal = NormalDist()
    return tuple(normal.inv_cdf((i + 0.5) / 4096) for i in range(4096))


def _log_sigmoid(z: float) -> float:
    return -math.log1p(math.exp(-z)) if z > -30.0 else z


def _dominating_floor(offers: list[Offer], lows: list[float], needed: int) -> float:
    """The lowest lower bound among the first `needed` offers (best lower bounds first) of pairwise
    distinct partners and categories; -inf when there are not that many."""
    partners: set[str] = set()
    categories: set[str] = set()
    floor = -math.inf
    for i in sorted(range(len(offers)), key=lambda i: -lows[i]):
        offer = offers[i]
        if offer.partner_id in partners or offer.category in categories:
            continue
        partners.add(offer.partner_id)
        categories.add(offer.category)
        floor = lows[i]
        if len(partners) == needed:
            return floor
    return -math.inf
