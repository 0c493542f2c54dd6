"""A reference learner for `afterglow simulate`: what learning could reach in a world if the learner
knew that world's context effects (development only).

The oracle knows every offer's true conversion probability, so "share of the oracle" mixes two
things: how well a policy learns, and how much any learner *can* learn from a short run of sparse
conversions. `WorldAwareThompson` and `ToldPriorsThompson` (`told_priors`) separate them.
`WorldAwareThompson` is told everything about its world except each offer's base rate: every context
effect (purchase category, segment, device, gift, country, order value and the category × segment
interaction), each offer's mean payout, and the distribution the base rates were drawn from. It
learns the base rates alone, by exact (full-width) Thompson sampling on a grid posterior. Its share
says what knowing the effects is worth: in most worlds, no policy that must learn them comes near
it (in a few of the largest, its full-width draws explore more than the tempered learners' and it
earns less). It is a reference, not a rival, and is never in "beats all". It does not know the slow
drift of an offer's appeal, which no learner can foresee.
"""

import heapq

import numpy as np

from afterglow_dev.worlds import CATEGORICAL, World

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
        center, spread = world.base_rate_prior()
        self._grid = center[:, None] + spread * _GRID[None, :]  # [offer, point]
        self._log_posterior = np.tile(-0.5 * _GRID**2, (len(world.offer_ids), 1))
        self._cdf = np.empty_like(self._log_posterior)
        self._stale = np.ones(len(world.offer_ids), dtype=bool)
        self._step = spread * float(_GRID[1] - _GRID[0])

    def _offsets(self, context: Context, offers: np.ndarray) -> np.ndarray:
        """Each offer's known log-odds shift in this context (everything but its base rate)."""
        world = self._world
        codes = world.context_codes(context)
        offset = world.interaction[codes[0], codes[1], offers]
        for feature, code in zip(CATEGORICAL, codes, strict=True):
            offset = offset + world.tables[feature][code, offers]
        z = world.value_z(float(context.get("order_value", world.order_value_median)))
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
