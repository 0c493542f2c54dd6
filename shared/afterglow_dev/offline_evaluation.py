"""Simulated decision logs whose truth is known, to check `afterglow.evaluation` (development only).

`simulated_logs(seed)` draws a world (`afterglow_dev.worlds`), lets a logging policy learn in it for
a while, freezes it and logs decisions as decide does: each decision's eligible shortlist, its slate
(the policy's own seeded draw), the Monte Carlo slot counts of more draws, and the rewards its
offers earned (slot j seen with probability decay**j, converting at the world's true rate, paying
the offer's payout with its noise). `true_value(logs, target)` is the target policy's expected
revenue per order on the same orders, computed from the world's true rates: what the estimators
must recover within their intervals.
"""

import math
from dataclasses import dataclass

import numpy as np

from afterglow.evaluation import (
    LoggedCandidate,
    LoggedDecision,
    RankingTarget,
    SlotProbabilities,
    TargetPolicy,
    draw_seeds,
    slate_of,
    slot_counts,
)
from afterglow.learning import HierarchicalThompson
from afterglow_dev.worlds import CATEGORICAL, World, draw_world


@dataclass
class SimulatedLogs:
    """Logged decisions of one world, with the truth behind them."""

    world: World
    decisions: list[LoggedDecision]
    values: dict[str, np.ndarray]  # decision id -> true expected reward of each candidate at each slot
    logging_policy: HierarchicalThompson
    learned_policy: HierarchicalThompson  # a second policy learned from the same warm-up


def _context(world: World, codes: tuple[int, ...]) -> dict[str, str]:
    return {f: world.vocabularies[f][c] for f, c in zip(CATEGORICAL, codes, strict=True)}


def simulated_logs(
    seed: int,
    *,
    decisions: int = 1_000,
    warmup: int = 3_000,
    draws: int = 64,
    slots: int = 3,
    shortlist: int = 12,
    max_offers: int = 60,
    logging_exploration: float = 1.0,
) -> SimulatedLogs:
    """Logs of `decisions` orders by a Thompson policy frozen after `warmup` orders (see the module
    docstring); `draws` Monte Carlo draws per decision besides its own."""
    world = draw_world(seed, rounds=warmup + decisions, max_offers=max_offers)
    rng = np.random.default_rng([seed, 77])
    n = world.knobs.offers
    decay = [world.knobs.position_decay**j for j in range(slots)]
    logging_policy = HierarchicalThompson(world.offer_categories, seed=seed, exploration=logging_exploration)
    learned_policy = HierarchicalThompson(world.offer_categories, seed=seed + 1)
    drift = world.drift_at(0)

    def order() -> tuple[dict[str, str], np.ndarray, np.ndarray]:
        codes = tuple(int(rng.choice(len(world.traffic[f]), p=world.traffic[f])) for f in CATEGORICAL)
        value = world.order_value_median * math.exp(rng.normal(0.0, world.order_value_sigma))
        eligible = rng.choice(n, size=min(shortlist, n), replace=False)
        probability = 1.0 / (1.0 + np.exp(-world.logits(codes, value, drift)[eligible]))
        return _context(world, codes), eligible, probability

    def reward(offer: int, slot: int, probability: float) -> float:
        if rng.random() >= decay[slot] or rng.random() >= probability:
            return 0.0
        sigma = float(world.payout_sigma[offer])
        return float(world.payouts[offer]) * math.exp(sigma * rng.normal() - sigma * sigma / 2)

    for _ in range(warmup):  # both policies learn from uniformly random slates
        context, eligible, probability = order()
        for slot, j in enumerate(rng.permutation(len(eligible))[:slots]):
            earned = reward(int(eligible[j]), slot, float(probability[j]))
            for policy in (logging_policy, learned_policy):
                policy.update(context, world.offer_ids[int(eligible[j])], earned)
    logging_policy.refresh()
    learned_policy.refresh()

    logged, values = [], {}
    for number in range(decisions):
        context, eligible, probability = order()
        decision_id = f"sim-{seed}-{number}"
        candidates = {
            world.offer_ids[int(i)]: LoggedCandidate(
                world.offer_ids[int(i)],
                world.offer_ids[int(i)],
                world.offer_kinds[int(i)],
                float(world.payouts[i]),
            )
            for i in eligible
        }
        ids = list(candidates)

        def sample(
            draw_seed: int,
            context: dict[str, str] = context,
            ids: list[str] = ids,
            candidates: dict[str, LoggedCandidate] = candidates,
        ) -> list[str]:
            ranked = logging_policy.rank(dict(context), ids, len(ids), seed=draw_seed)
            return slate_of(ranked, candidates, slots)

        own_seed = draw_seeds(decision_id, 1, "own")[0]
        shown = sample(own_seed)
        counts = slot_counts(sample, [own_seed, *draw_seeds(decision_id, draws, "logging")], slots)
        local = {offer_id: j for j, offer_id in enumerate(ids)}
        rewards = {}
        for slot, offer_id in enumerate(shown):
            j = local[offer_id]
            earned = reward(int(eligible[j]), slot, float(probability[j]))
            if earned:
                rewards[offer_id] = earned
        logged.append(
            LoggedDecision(
                decision_id=decision_id,
                context=context,
                slots=slots,
                draws=draws + 1,
                candidates=tuple(
                    LoggedCandidate(
                        c.offer_id, c.partner_id, c.category, c.prior_score, tuple(counts.get(o, [0] * slots))
                    )
                    for o, c in candidates.items()
                ),
                shown=tuple(shown),
                propensities=tuple(counts[o][slot] / (draws + 1) for slot, o in enumerate(shown)),
                rewards=rewards,
            )
        )
        values[decision_id] = np.outer(probability * world.payouts[eligible], decay)
    return SimulatedLogs(world, logged, values, logging_policy, learned_policy)


def true_value(logs: SimulatedLogs, target: TargetPolicy) -> float:
    """The target's expected revenue per order on the logged orders, from the world's true rates."""
    total = 0.0
    for decision in logs.decisions:
        ids = [c.offer_id for c in decision.candidates]
        value = logs.values[decision.decision_id]
        for offer_id, row in target.slot_probabilities(decision).items():
            j = ids.index(offer_id)
            total += sum(p * float(value[j, slot]) for slot, p in enumerate(row))
    return total / len(logs.decisions) if logs.decisions else 0.0


class Memoised:
    """A target whose slot probabilities are worked out once per decision (truth and estimate share them)."""

    def __init__(self, target: TargetPolicy) -> None:
        self.name = target.name
        self._target = target
        self._known: dict[str, SlotProbabilities] = {}

    def slot_probabilities(self, decision: LoggedDecision) -> SlotProbabilities:
        known = self._known.get(decision.decision_id)
        if known is None:
            known = self._known[decision.decision_id] = self._target.slot_probabilities(decision)
        return known


def policy_target(name: str, policy: HierarchicalThompson, draws: int = 100) -> Memoised:
    """A frozen learning policy as a candidate: its draws over each decision's shortlist."""

    def rank(decision: LoggedDecision, seed: int) -> list[str]:
        return policy.rank(
            dict(decision.context),
            [c.offer_id for c in decision.candidates],
            len(decision.candidates),
            seed=seed,
        )

    return Memoised(RankingTarget(name, rank, draws=draws))
