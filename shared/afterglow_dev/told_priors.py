"""A reference learner for `afterglow simulate`: how well a Bayesian learner does when it must learn
a world's context effects but is told everything it could be told in advance (development only).

`WorldAwareThompson` is told every context effect, so its share says how much of the oracle is
reachable *knowing* them. `ToldPriorsThompson` says how much is reachable *learning* them. It is
told the world's structure and its priors, not its effects:

- each offer's payout;
- each feature's effect size (the sd its per-offer effects were drawn with, zero where it moves
  nothing);
- which offers are of one kind, and how much of each effect a kind's offers share;
- the size of the category × segment interaction, and the prior of base rates.

It learns every weight of the world's own model from impressions: each offer's base rate, its
effect per context value, its kind's, every offer's alike, its order-value slope and its category
× segment cell. It holds a diagonal Gaussian posterior over the weights, updated one impression at
a time by assumed-density filtering, as in AdPredictor (Graepel et al., 2010), with a probit
approximation of the logistic link. It ranks by Thompson draws of P(convert) × payout, tempered like
the policy's (`WIDTH`).

It is approximate Bayes, not a proof of what is learnable. It ignores the interaction's low rank
and the slow drift, and draws each offer's log-odds from its marginal. But no production learner
gets this much of the answer in advance. Its share is a reference, not a rival: it is never in
"beats all".
"""

import heapq
import math
from typing import Any

import numpy as np

from afterglow_dev.worlds import CATEGORICAL, COMMON_SD, World

Context = dict[str, str | float]
Group = tuple[np.ndarray, np.ndarray]  # a group of weights: their posterior means and variances
# logistic(z) ≈ Φ(z·√(π/8)): a probit link with noise of variance 8/π on the log-odds.
PROBIT_NOISE = 8.0 / math.pi
# Thompson draws' width: 0.2, as the policy's. On the tuning worlds, k=1 medians were 0.667 (0.2),
# 0.669 (0.3), 0.630 (0.5) and 0.534 (full width).
WIDTH = 0.2
_NONE = 1e-9  # the prior variance of a weight the world does not have


class ToldPriorsThompson:
    """Thompson sampling over a Gaussian posterior of every weight of the world's model, starting
    from the world's true priors (see the module docstring)."""

    def __init__(self, world: World, *, seed: int | None = None, width: float = WIDTH) -> None:
        self._world = world
        self._rng = np.random.default_rng(seed)
        self._width = width
        self._index = {offer: i for i, offer in enumerate(world.offer_ids)}
        kinds = sorted(set(world.offer_kinds))
        self._kind = np.array([kinds.index(kind) for kind in world.offer_kinds])
        knobs = world.knobs
        n = len(world.offer_ids)
        center, spread = world.base_rate_prior()
        # (mean, variance) arrays per weight group; a feature that moves nothing is left out.
        self._base = (center.copy(), np.full(n, spread**2))
        self._features: list[tuple[int, Group, Group, Group]] = []
        for position, feature in enumerate(CATEGORICAL):
            sd = knobs.effects[feature]
            if sd <= 0:
                continue
            values, share = len(world.vocabularies[feature]), world.kind_shares[feature]
            own = (np.zeros((values, n)), np.full((values, n), sd * sd * (1.0 - share)))
            by_kind = (np.zeros((values, len(kinds))), np.full((values, len(kinds)), sd * sd * share))
            common = (np.zeros(values), np.full(values, COMMON_SD**2))
            self._features.append((position, own, by_kind, common))
        self._slope = (np.zeros(n), np.full(n, max(knobs.effects["order_value"] ** 2, _NONE)))
        cells = (len(world.vocabularies["purchase_category"]), len(world.vocabularies["segment"]), n)
        self._interaction = (np.zeros(cells), np.full(cells, max(knobs.interaction**2, _NONE)))

    def _weights(
        self, context: Context, offer: int | np.ndarray
    ) -> list[tuple[Group, tuple[Any, ...], float]]:
        """The weights one impression of `offer` in `context` adds up: (group, index, input)."""
        world = self._world
        codes = world.context_codes(context)
        value_z = world.value_z(float(context.get("order_value", world.order_value_median)))
        weights: list[tuple[Group, tuple[Any, ...], float]] = [
            (self._base, (offer,), 1.0),
            (self._slope, (offer,), value_z),
            (self._interaction, (codes[0], codes[1], offer), 1.0),
        ]
        for position, own, by_kind, common in self._features:
            code = codes[position]
            weights += [(own, (code, offer), 1.0), (by_kind, (code, self._kind[offer]), 1.0)]
            weights.append((common, (code,), 1.0))
        return weights

    def rank(self, context: Context, arm_ids: list[str], k: int) -> list[str]:
        """The `k` arms with the best sampled P(convert) × payout."""
        arms = list(dict.fromkeys(arm_ids))
        if k <= 0 or not arms:
            return []
        offers = np.array([self._index[arm] for arm in arms])
        mean, variance = np.zeros(len(offers)), np.zeros(len(offers))
        for (means, variances), index, x in self._weights(context, offers):
            mean = mean + x * means[index]
            variance = variance + x * x * variances[index]
        z = mean + self._width * np.sqrt(variance) * self._rng.standard_normal(len(offers))
        value = self._world.payouts[offers] / (1.0 + np.exp(-z))
        best = heapq.nlargest(k, range(len(arms)), key=lambda i: (float(value[i]), -i))
        return [arms[i] for i in best]

    def update(self, context: Context, arm_id: str, reward: float) -> None:
        """One impression (converted or not): moves every weight it involves, by how unsure each is."""
        weights = self._weights(context, self._index[arm_id])
        mean, total = 0.0, PROBIT_NOISE
        for (means, variances), index, x in weights:
            mean += x * float(means[index])
            total += x * x * float(variances[index])
        sign = 1.0 if reward > 0 else -1.0
        sd = math.sqrt(total)
        t = sign * mean / sd
        # v = φ(t)/Φ(t), from erfc for accuracy in the tail; w = v (v + t)
        v = math.sqrt(2.0 / math.pi) * math.exp(-0.5 * t * t) / max(math.erfc(-t / math.sqrt(2.0)), 1e-300)
        w = v * (v + t)
        for (means, variances), index, x in weights:
            variance = float(variances[index])
            means[index] += sign * x * variance / sd * v
            variances[index] = variance * (1.0 - x * x * variance / total * w)
