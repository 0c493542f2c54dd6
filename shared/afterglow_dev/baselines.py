"""Baseline policies the simulator compares the production policy with (development only).

- `RandomPolicy`: `k` eligible offers uniformly at random;
- `NonContextualThompson`: Beta(1, 1) Thompson sampling per offer, payout-weighted, context ignored;
- `SegmentedThompson`: Beta(1, 1) Thompson sampling per offer × the values of a few context keys
  (per purchase category; per purchase category × segment), times the offer's mean payout; with
  `pooled_prior`, the Beta prior is centred on the platform's conversion rate instead (worth two
  impressions), a stronger baseline where conversions are rare;
- `VowpalWabbitPolicy`: Vowpal Wabbit's `cb_explore_adf`, an established contextual bandit, if the
  `vowpalwabbit` package is installed (`vowpal_wabbit_available()`); else the simulator skips it.
"""

import heapq
import importlib.util
import math
import random
from typing import Any

Context = dict[str, str | float]


class RandomPolicy:
    """Baseline: `k` eligible arms uniformly at random; learns nothing."""

    def __init__(self, *, seed: int | None = None) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - sampling, not secrets

    def rank(self, context: Context, arm_ids: list[str], k: int) -> list[str]:
        """A uniformly random slate of at most `k` distinct arms."""
        unique = list(dict.fromkeys(arm_ids))
        return self._rng.sample(unique, min(max(k, 0), len(unique)))

    def update(self, context: Context, arm_id: str, reward: float) -> None:
        """Ignores feedback."""


class NonContextualThompson:
    """Baseline: Beta(1, 1) Thompson sampling per arm on P(reward > 0) × its mean positive reward."""

    def __init__(self, *, seed: int | None = None) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
        self._counters: dict[str, list[float]] = {}
        self._successes = 0.0
        self._reward_sum = 0.0

    def rank(self, context: Context, arm_ids: list[str], k: int) -> list[str]:
        """The `k` arms with the best sampled value, ignoring the context."""
        if k <= 0:
            return []
        platform_payout = self._reward_sum / self._successes if self._successes else 1.0
        scored = []
        for position, arm in enumerate(dict.fromkeys(arm_ids)):
            shown, successes, reward_sum, _ = self._counters.get(arm, (0.0, 0.0, 0.0, 0.0))
            p = self._rng.betavariate(1.0 + successes, 1.0 + shown - successes)
            scored.append((p * (reward_sum + platform_payout) / (successes + 1.0), -position, arm))
        return [arm for _, _, arm in heapq.nlargest(k, scored)]

    def update(self, context: Context, arm_id: str, reward: float) -> None:
        """Counts a show, a success when the reward is positive, and the reward."""
        counter = self._counters.setdefault(arm_id, [0.0, 0.0, 0.0, 0.0])
        counter[0] += 1
        if reward > 0:
            counter[1] += 1
            self._successes += 1
        counter[2] += reward
        self._reward_sum += reward


class SegmentedThompson:
    """Beta(1, 1) Thompson sampling on P(reward > 0) per offer × segment of `keys` (with
    `pooled_prior`: a Beta prior worth two impressions at the platform's rate), times the offer's
    mean positive reward (its rewards plus one platform-mean reward, over conversions + 1)."""

    def __init__(self, keys: tuple[str, ...], *, seed: int | None = None, pooled_prior: bool = False) -> None:
        self._keys = keys
        self._rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
        self._pooled_prior = pooled_prior
        self._counts: dict[tuple[str, tuple[str, ...]], list[float]] = {}
        self._payouts: dict[str, list[float]] = {}
        self._shown = 0.0
        self._successes = 0.0
        self._reward_sum = 0.0

    def _segment(self, context: Context) -> tuple[str, ...]:
        return tuple(str(context.get(key, "")) for key in self._keys)

    def rank(self, context: Context, arm_ids: list[str], k: int) -> list[str]:
        """The `k` arms with the best sampled P(reward > 0) × mean reward in this context's segment."""
        if k <= 0:
            return []
        segment = self._segment(context)
        platform = self._reward_sum / self._successes if self._successes else 1.0
        prior_won, prior_lost = 1.0, 1.0
        if self._pooled_prior:
            rate = (self._successes + 1.0) / (self._shown + 2.0)
            prior_won, prior_lost = 2.0 * rate, 2.0 * (1.0 - rate)
        beta, counts, payouts = self._rng.betavariate, self._counts, self._payouts
        scored = []
        for position, arm in enumerate(dict.fromkeys(arm_ids)):
            shown, won = counts.get((arm, segment), (0.0, 0.0))
            reward_sum, successes = payouts.get(arm, (0.0, 0.0))
            payout = (reward_sum + platform) / (successes + 1.0)
            scored.append((beta(prior_won + won, prior_lost + shown - won) * payout, -position, arm))
        return [arm for _, _, arm in heapq.nlargest(k, scored)]

    def update(self, context: Context, arm_id: str, reward: float) -> None:
        """Counts a show, a success when the reward is positive, and the reward."""
        cell = self._counts.setdefault((arm_id, self._segment(context)), [0.0, 0.0])
        cell[0] += 1
        self._shown += 1
        if reward > 0:
            cell[1] += 1
            payout = self._payouts.setdefault(arm_id, [0.0, 0.0])
            payout[0] += reward
            payout[1] += 1
            self._successes += 1
            self._reward_sum += reward


def vowpal_wabbit_available() -> bool:
    """Whether the optional `vowpalwabbit` package can be imported."""
    return importlib.util.find_spec("vowpalwabbit") is not None


def _token(text: str) -> str:
    return text.replace(" ", "_").replace(":", "_").replace("|", "_")


class VowpalWabbitPolicy:
    """Vowpal Wabbit's contextual bandit with action-dependent features (`cb_explore_adf`, SquareCB
    exploration): the shared features are the context, each action its offer id, quadratic
    interactions between the two; the cost is minus the reward. The first slot is drawn from VW's
    exploration distribution, the rest follow its greedy order."""

    def __init__(self, *, seed: int | None = None, arguments: str = "--squarecb --gamma_scale 1000") -> None:
        import vowpalwabbit  # optional, dev only

        self._workspace: Any = vowpalwabbit.Workspace(
            f"--cb_explore_adf {arguments} -q sa --quiet --random_seed {seed or 0}"
        )
        self._rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
        self._probabilities: dict[tuple[str, str], float] = {}

    @staticmethod
    def _shared(context: Context) -> str:
        parts = []
        for key, value in context.items():
            if isinstance(value, float):
                value = f"2^{math.floor(math.log2(max(value, 1e-9)) * 2) / 2:g}"  # amounts: buckets
            parts.append(f"{_token(key)}={_token(str(value))}")
        return "shared |s " + " ".join(parts)

    def rank(self, context: Context, arm_ids: list[str], k: int) -> list[str]:
        """The first arm drawn from VW's exploration distribution, then the rest by it."""
        arms = list(dict.fromkeys(arm_ids))
        if k <= 0 or not arms:
            return []
        shared = self._shared(context)
        pmf = self._workspace.predict([shared, *(f"|a id={_token(arm)}" for arm in arms)])
        draw, total, first = self._rng.random(), 0.0, len(arms) - 1
        for index, probability in enumerate(pmf):
            total += probability
            if draw < total:
                first = index
                break
        order = sorted(range(len(arms)), key=lambda i: -pmf[i])
        order.remove(first)
        slate = [arms[first]] + [arms[i] for i in order[: k - 1]]
        if len(self._probabilities) > 100_000:  # unseen slots never come back: forget old ones
            self._probabilities.clear()
        for arm, index in zip(slate, [first, *order[: k - 1]], strict=True):
            self._probabilities[(shared, arm)] = max(float(pmf[index]), 1e-3)
        return slate

    def update(self, context: Context, arm_id: str, reward: float) -> None:
        """Learn from the shown arm alone (VW's default cb_adf regression only uses that one)."""
        shared = self._shared(context)
        probability = self._probabilities.pop((shared, arm_id), 1.0)
        self._workspace.learn([shared, f"0:{-reward}:{probability} |a id={_token(arm_id)}"])
