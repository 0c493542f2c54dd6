"""A reference learner for `afterglow simulate`: what learning could reach in a world if the learner
knew that world's structure (development only).

The oracle knows every offer's true conversion probability, so "share of the oracle" mixes two
things: how well a policy learns, and how much any learner *can* learn from a short run of sparse
conversions. `WorldAwareThompson` separates them. It is told everything about its world except each
offer's base rate: every context effect (purchase category, segment, device, gift, country, order
value and the category × segment interaction), each offer's mean payout, and the distribution the
base rates were drawn from. It learns the base rates alone, by exact Thompson sampling on a grid
posterior. No policy that must learn the context effects too can expect to beat it, so its share
bounds what is reachable in a world; it is a reference, not a rival, and is never in "beats all".
It does not know the slow drift of an offer's appeal, which no learner can foresee.
"""

import heapq
import math

import numpy as np

from afterglow_dev.worlds import World

Context = dict[str, str | float]
# The grid of each base rate's posterior: the prior's mean ± 4 sd, in 49 points.
_GRID = np.linspace(-4.0, 4.0, 49)


class WorldAwareThompson:
    """Thompson sampling on each offer's base log-odds, given the world's true context effects,
    payouts and base-rate prior (see the module docstring)."""

    def __init__(self, world: World, *, seed: int | None = None) -> None:
        self._world = world
        self._rng = np.random.default_rng(seed)
        self._index = {offer: i for i, offer in enumerate(world.offer_ids)}
        self._codes = {
            feature: {value: i for i, value in enumerate(values)}
            for feature, values in world.vocabularies.items()
        }
        knobs = world.knobs
        log_payout = np.log(world.payouts)
        # The base rates were drawn as N(shift, spread²), lowered for higher payouts.
        penalty = -knobs.payout_penalty * (log_payout - log_payout.mean())
        shift = float(np.mean(world.intercept - penalty))
        self._grid = (shift + penalty)[:, None] + knobs.offer_spread * _GRID[None, :]  # [offer, point]
        self._log_posterior = np.tile(-0.5 * _GRID**2, (len(world.offer_ids), 1))
        self._cdf = np.empty_like(self._log_posterior)
        self._stale = np.ones(len(world.offer_ids), dtype=bool)
        self._step = knobs.offer_spread * float(_GRID[1] - _GRID[0])

    def _offsets(self, context: Context, offers: np.ndarray) -> np.ndarray:
        """Each offer's known log-odds shift in this context (everything but its base rate)."""
        world = self._world
        codes = [self._codes[feature].get(str(context.get(feature)), 0) for feature in world.vocabularies]
        offset = world.interaction[codes[0], codes[1], offers]
        for feature, code in zip(world.vocabularies, codes, strict=True):
            offset = offset + world.tables[feature][code, offers]
        value = float(context.get("order_value", world.order_value_median))
        z = (math.log(max(value, 0.01)) - math.log(world.order_value_median)) / world.order_value_sigma
        result: np.ndarray = offset + world.value_slope[offers] * z
        return result

    def rank(self, context: Context, arm_ids: list[str], k: int) -> list[str]:
        """The `k` arms with the best sampled P(convert) × payout."""
        arms = list(dict.fromkeys(arm_ids))
        if k <= 0 or not arms:
            return []
        offers = np.array([self._index[arm] for arm in arms])
        stale = offers[self._stale[offers]]
        if len(stale):
            log_posterior = self._log_posterior[stale]
            weights = np.exp(log_posterior - log_posterior.max(axis=1, keepdims=True))
            cumulative = np.cumsum(weights, axis=1)
            self._cdf[stale] = cumulative / cumulative[:, -1:]
            self._stale[stale] = False
        draws = self._rng.random(len(offers))
        points = np.minimum((self._cdf[offers] < draws[:, None]).sum(axis=1), len(_GRID) - 1)
        base = self._grid[offers, points] + self._step * (self._rng.random(len(offers)) - 0.5)
        value = self._world.payouts[offers] / (1.0 + np.exp(-(base + self._offsets(context, offers))))
        best = heapq.nlargest(k, range(len(arms)), key=lambda i: (float(value[i]), -i))
        return [arms[i] for i in best]

    def update(self, context: Context, arm_id: str, reward: float) -> None:
        """Adds one impression's likelihood (converted or not) to the offer's base-rate posterior."""
        offer = self._index[arm_id]
        z = self._grid[offer] + self._offsets(context, np.array([offer]))[0]
        self._log_posterior[offer] -= np.logaddexp(0.0, -z) if reward > 0 else np.logaddexp(0.0, z)
        self._stale[offer] = True
