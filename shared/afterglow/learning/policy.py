"""The production policy, `HierarchicalThompson` (see the package docstring): learning from events
and counter rows, and ranking; `from_counters` rebuilds it from stored counters, `default_policy`
starts it from nothing. Its empirical-Bayes estimates are in `estimates.py`."""

import heapq
import json
import math
import random
from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol

from afterglow.learning.estimates import ArmState, Counter, EmpiricalBayes
from afterglow.learning.features import (
    TOTAL,
    Context,
    CounterRow,
    FeatureValue,
    context_features,
    pair_features,
)
from afterglow.learning.posterior import (
    ARM_SPREAD,
    CATALOG_PAYOUT_SPREAD,
    IGNORABLE_SPREAD,
    MAX_COUNT,
    NORMAL_QUANTILES,
    PAYOUT_LOG_SPREAD,
    clean_counts,
    finite,
    logit_posterior,
    sigmoid,
)


class Policy(Protocol):
    """What the decision pipeline and the offline simulator need from a learning policy."""

    def rank(self, context: dict[str, str | float], arm_ids: list[str], k: int) -> list[str]: ...
    def update(self, context: dict[str, str | float], arm_id: str, reward: float) -> None: ...


# Context key pairs whose interaction the policy learns per offer (when both keys are present).
DEFAULT_PAIRS: Final[tuple[tuple[str, str], ...]] = ()
RESERVED_ARMS: Final = ("*", "offer_category:")  # platform-wide and category rows of older policies
MAX_FEATURES, MAX_VALUES_PER_FEATURE = 64, 2_000  # memory bound against unbounded context keys
# Thompson draws are tempered: each posterior's sd is scaled by this. Full-width draws over-explore
# when most offer × context cells are seldom revisited (tuned on `afterglow_dev.simulation`'s
# tuning worlds, reported on its held-out ones).
EXPLORATION = 0.2


def _unique(arm_ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(arm_ids))


class HierarchicalThompson(EmpiricalBayes):
    """Contextual Thompson sampling over hierarchical Beta posteriors (see the package docstring).

    Both catalog arguments are optional. `offer_categories` (arm id → taxonomy category) makes each
    offer shrink toward its category, whose purchase-category cells start from the taxonomy's
    relevance; `offer_payouts` (arm id → what one conversion should pay, in the rewards' unit) is
    the prior of each arm's payout. `seed` (or `rng`) makes the sampling reproducible;
    `exploration` scales the width of each Thompson draw (default `EXPLORATION`); `pairs` declares
    context key pairs (e.g. `("purchase_category", "segment")`) whose interaction each offer learns
    (`increments` then gives their rows too).
    """

    def __init__(
        self,
        offer_categories: Mapping[str, str] | None = None,
        *,
        offer_payouts: Mapping[str, float] | None = None,
        seed: int | None = None,
        rng: random.Random | None = None,
        exploration: float | None = None,
        pairs: Iterable[tuple[str, str]] | None = None,
    ) -> None:
        self._pairs = tuple(DEFAULT_PAIRS if pairs is None else pairs)
        self._rng = rng if rng is not None else random.Random(seed)  # noqa: S311 - sampling, not secrets
        self._exploration = EXPLORATION if exploration is None else exploration
        self._offer_categories = dict(offer_categories or {})
        # Looked up per arm when it is first ranked (a catalog may hand a lazy mapping).
        self._offer_payouts: Mapping[str, float] = offer_payouts or {}
        self._totals: dict[str, Counter] = {}  # arm -> its totals (and cached state)
        self._cells: dict[FeatureValue, dict[str, Counter]] = {}  # (feature, value) -> arm -> counter
        self._values_per_feature: dict[str, int] = {}
        self._unseen: dict[str, ArmState] = {}  # states of arms without counters, per generation
        self._updates = 0.0
        self._refreshed_at = -1.0
        self._stamp = 0.0
        # Estimates refreshed from all counters now and then (`_refresh`).
        self._generation = 0.0
        self._base = 0.5  # platform P(reward > 0): Jeffreys before any data
        self._arm_spread = ARM_SPREAD
        self._spread: dict[str, float] = {}  # per feature: offer cells around their offer
        self._log_payout = 0.0  # platform mean log payout of one success
        self._payout_spread = PAYOUT_LOG_SPREAD  # variance of offers' log payouts around it
        self._payout_noise = 0.25  # variance of one success's log payout around its offer's
        self._global_devs: dict[FeatureValue, float] = {}  # how a value moves every offer alike
        self._groups: dict[str, tuple[float, float]] = {}  # category -> (shown, successes)
        self._group_devs: dict[tuple[str, str, str], float] = {}  # (category, feature, value) -> dev
        # Published counters not read yet (`from_published`): arm -> its rows as JSON, read when
        # the arm is first ranked.
        self._pending: dict[str, str] = {}

    # -- learning ---------------------------------------------------------------------------------

    def update(self, context: Context, arm_id: str, reward: float) -> None:
        """Record that `arm_id` was seen in `context` and earned `reward` (0 when nothing happened):
        exactly what adding the rows of `increments` does."""
        if arm_id.startswith(RESERVED_ARMS):
            return
        reward = finite(reward)
        amounts = (1.0, 1.0 if reward > 0 else 0.0, reward, finite(reward * reward))
        for cell in (TOTAL, *self._features(context)):
            self._add(arm_id, cell, amounts)

    def increments(self, context: Context, arm_id: str, reward: float) -> list[CounterRow]:
        """The counter rows one event adds: the arm's totals and the arm × each context feature value."""
        reward = finite(reward)
        success = 1 if reward > 0 else 0
        return [
            CounterRow(
                arm_id=arm_id,
                feature=feature,
                value=value,
                shown=1,
                successes=success,
                reward_sum=reward,
                reward_sq_sum=reward * reward,
            )
            for feature, value in (TOTAL, *self._features(context))
        ]

    def _features(self, context: Context) -> list[FeatureValue]:
        features = context_features(context)
        return features + pair_features(features, self._pairs) if self._pairs else features

    def add_counters(self, rows: Iterable[CounterRow]) -> None:
        """Add counter rows (e.g. summed by DynamoDB's atomic ADDs) to this policy's counters."""
        for row in rows:
            arm = str(row["arm_id"])
            if arm.startswith(RESERVED_ARMS):
                continue  # platform and category rows are sums of arms' rows: derived, not read
            # float(): DynamoDB hands numbers back as Decimal
            amounts = (
                finite(float(row["shown"])),
                finite(float(row["successes"])),
                finite(float(row["reward_sum"])),
                finite(float(row.get("reward_sq_sum", 0.0))),
            )
            self._add(arm, (str(row["feature"]), str(row["value"])), amounts)

    def _add(self, arm: str, cell: FeatureValue, amounts: tuple[float, float, float, float]) -> None:
        if cell == TOTAL:
            counter = self._totals.get(arm)
            if counter is None:
                counter = self._totals[arm] = [0.0, 0.0, 0.0, 0.0, 0.0, None]
                self._unseen.pop(arm, None)
            counter[4] += 1.0  # a new version: its cached state is stale
            self._updates += max(amounts[0], 0.0)
        elif cell[0].startswith("*"):
            return  # reserved features (older policies' relevance rows)
        else:
            found = self._cell(cell, arm)
            if found is None:
                return
            counter = found
            counter[4] = -1.0
            totals = self._totals.get(arm)
            if totals is not None:
                totals[4] += 1.0
        for index in range(4):
            total = counter[index] + amounts[index]
            counter[index] = total if -MAX_COUNT <= total <= MAX_COUNT else finite(total)

    def _cell(self, cell: FeatureValue, arm: str) -> Counter | None:
        by_arm = self._cells.get(cell)
        if by_arm is None:
            feature = cell[0]
            values = self._values_per_feature.get(feature, 0)
            if values >= MAX_VALUES_PER_FEATURE or (
                values == 0 and len(self._values_per_feature) >= MAX_FEATURES
            ):
                return None  # too many distinct values to learn per offer: the arm level covers it
            self._values_per_feature[feature] = values + 1
            by_arm = self._cells[cell] = {}
        counter = by_arm.get(arm)
        if counter is None:
            counter = by_arm[arm] = [0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0]
        return counter

    def to_counters(self) -> list[CounterRow]:
        """Every counter as a row, ready to be written (or compared) as DynamoDB items."""
        rows = [(arm, TOTAL, c) for arm, c in self._totals.items()]
        rows += [(arm, cell, c) for cell, by_arm in self._cells.items() for arm, c in by_arm.items()]
        return [
            CounterRow(
                arm_id=arm,
                feature=feature,
                value=value,
                shown=int(c[0]),
                successes=int(c[1]),
                reward_sum=c[2],
                reward_sq_sum=c[3],
            )
            for arm, (feature, value), c in rows
        ]

    # -- ranking ----------------------------------------------------------------------------------

    def _arm_state(self, arm: str, counter: Counter | None) -> ArmState:
        """The arm's log-odds posterior and log payout posterior, cached per counters' version."""
        if counter is not None:
            state = counter[5]
            if state and state[0] == self._generation and state[1] == counter[4]:
                return state  # type: ignore[no-any-return]
        else:
            state = self._unseen.get(arm)
            if state is not None and state[0] == self._generation:
                return state
        shown, won = clean_counts(counter) if counter is not None else (0.0, 0.0)
        prior = self._base
        category = self._offer_categories.get(arm)
        group = self._groups.get(category) if category is not None else None
        if group is not None:  # a new offer starts where the other offers of its category are
            others_shown = max(group[0] - shown, 0.0)
            others_won = min(max(group[1] - won, 0.0), others_shown)
            prior = sigmoid(logit_posterior(others_shown, others_won, prior, self._arm_spread)[0])
        catalog_log_payout = self.catalog_log_payout(arm)
        prior_log, prior_var = self._log_payout, self._payout_spread
        if catalog_log_payout is not None:
            prior_log, prior_var = catalog_log_payout, CATALOG_PAYOUT_SPREAD
            if self._payout_slope:  # a better paid offer is expected to convert that much less (or more)
                slope = self._payout_slope * (catalog_log_payout - self._payout_center)
                prior = sigmoid(math.log(prior / (1.0 - prior)) + slope)
        theta, variance = logit_posterior(shown, won, prior, self._arm_spread)
        successes = max(counter[1], 0.0) if counter is not None else 0.0
        reward_sum = max(counter[2], 0.0) if counter is not None else 0.0
        log_payout, payout_var = prior_log, prior_var
        if successes >= 1 and reward_sum > 0:
            precision = 1.0 / prior_var + successes / self._payout_noise
            observed = math.log(reward_sum / successes)
            log_payout = (prior_log / prior_var + observed * successes / self._payout_noise) / precision
            payout_var = 1.0 / precision
        # Ranked by the posterior *mean* payout: log-normal, so the median × e^(var/2). Tempered draws
        # around the median would undervalue every offer whose payout is still uncertain, most of
        # all the rare high payers of a wide payout spread that have not converted yet.
        log_payout += 0.5 * payout_var
        self._stamp += 1.0
        version = counter[4] if counter is not None else -1.0
        state = [self._generation, version, theta, variance, log_payout, math.sqrt(payout_var), self._stamp]
        if counter is not None:
            counter[5] = state
        else:
            self._unseen[arm] = state
        return state

    def rank(self, context: Context, arm_ids: list[str], k: int, *, seed: int | None = None) -> list[str]:
        """The `k` arms (of `arm_ids`, no duplicates) with the best sampled expected value, best first.

        `seed` makes this one decision's draws reproducible (e.g. from a decision id), whatever the
        policy ranked before; without it the policy's own random stream is used.
        """
        if k <= 0 or not arm_ids:
            return []
        if self._pending:
            self._read_pending(arm_ids)
        self._maybe_refresh()
        spreads = self._spread
        cells = []
        for feature, value in self._features(context):
            spread = spreads.get(feature, 0.0)  # a feature without counters yet says nothing
            if spread > IGNORABLE_SPREAD:  # a feature that moves no offer would add only noise
                shared = self._global_devs.get((feature, value), 0.0)
                cells.append((feature, value, spread, self._cells.get((feature, value), {}), shared))
        width = self._exploration
        rng = self._rng if seed is None else random.Random(seed)  # noqa: S311 - sampling, not secrets
        bits, normals = rng.getrandbits, NORMAL_QUANTILES
        totals, catalog = self._totals, bool(self._offer_categories)
        log, exp = math.log, math.exp
        scored: list[tuple[float, int, str]] = []
        generation = self._generation
        for position, arm in enumerate(_unique(arm_ids)):
            counter = totals.get(arm)
            state = counter[5] if counter is not None else None
            if state is None or state[0] != generation or state[1] != counter[4]:  # type: ignore[index]
                state = self._arm_state(arm, counter)
            stamp = state[6]
            z, variance = state[2], state[3]
            for feature, value, spread, by_arm, shared in cells:
                cell = by_arm.get(arm)
                if cell is None:  # no data here yet: the prior (its category's deviation) ± spread
                    z += self._prior_dev(arm, feature, value) if catalog else shared
                    variance += spread
                    continue
                if cell[4] != stamp:
                    self._fresh_cell(cell, arm, feature, value, spread, state)
                z += cell[5]
                variance += cell[6]
            z += width * variance**0.5 * normals[bits(12)]
            log_p = -log(1.0 + exp(-z)) if z > -30.0 else z
            score = log_p + state[4] + width * state[5] * normals[bits(12)]
            scored.append((score, -position, arm))
        return [arm for _, _, arm in heapq.nlargest(k, scored)]

    def score_distributions(
        self, context: Context, arm_ids: list[str]
    ) -> list[tuple[float, float, float, float]]:
        """Per arm of `arm_ids` (no duplicates), what `rank` draws its score from: (log-odds mean,
        its draw's sd, log of the mean payout, its draw's sd); a score is log σ(mean + sd·N₁) + mean
        + sd·N₂.
        Lets a caller draw many rankings cheaply (e.g. Monte Carlo propensities of a decision)."""
        if self._pending:
            self._read_pending(arm_ids)
        self._maybe_refresh()
        cells = [
            (
                feature,
                value,
                spread,
                self._cells.get((feature, value), {}),
                self._global_devs.get((feature, value), 0.0),
            )
            for feature, value in self._features(context)
            if (spread := self._spread.get(feature, 0.0)) > IGNORABLE_SPREAD
        ]
        width, catalog = self._exploration, bool(self._offer_categories)
        result = []
        for arm in _unique(arm_ids):
            counter = self._totals.get(arm)
            state = self._arm_state(arm, counter)
            z, variance = state[2], state[3]
            for feature, value, spread, by_arm, shared in cells:
                cell = by_arm.get(arm)
                if cell is None:
                    z += self._prior_dev(arm, feature, value) if catalog else shared
                    variance += spread
                    continue
                if cell[4] != state[6]:
                    self._fresh_cell(cell, arm, feature, value, spread, state)
                z += cell[5]
                variance += cell[6]
            result.append((z, width * variance**0.5, state[4], width * state[5]))
        return result

    def _read_pending(self, arm_ids: Iterable[str]) -> None:
        """Add the published counters of these arms, if not read yet (see `from_published`)."""
        for arm in arm_ids:
            raw = self._pending.pop(arm, None)
            if raw is None:
                continue
            for feature, value, shown, successes, reward_sum, reward_sq_sum in json.loads(raw):
                amounts = (finite(float(shown)), finite(float(successes)), finite(float(reward_sum)))
                self._add(arm, (str(feature), str(value)), (*amounts, finite(float(reward_sq_sum))))

    def _fresh_cell(
        self, cell: Counter, arm: str, feature: str, value: str, spread: float, state: ArmState
    ) -> None:
        """Cache a cell's log-odds deviation from its arm and its variance: a Beta posterior whose
        prior is the arm's rate moved by the prior deviation (its category's, if known)."""
        theta = state[2]
        if self._offer_categories:
            prior_dev = self._prior_dev(arm, feature, value)
        else:
            prior_dev = self._global_devs.get((feature, value), 0.0)
        won = cell[1] if cell[1] > 0.0 else 0.0
        shown = cell[0] if cell[0] > won else won
        logit, variance = logit_posterior(shown, won, sigmoid(theta + prior_dev), spread)
        cell[4], cell[5], cell[6] = state[6], logit - theta, variance


def from_counters(
    rows: Iterable[CounterRow],
    *,
    offer_categories: Mapping[str, str] | None = None,
    offer_payouts: Mapping[str, float] | None = None,
    seed: int | None = None,
) -> HierarchicalThompson:
    """A policy whose posteriors are summarised from stored counter rows (rows for one cell add up).

    It decides exactly like a policy that was `update`d with the events behind the rows.
    """
    policy = HierarchicalThompson(offer_categories, offer_payouts=offer_payouts, seed=seed)
    policy.add_counters(rows)
    policy.refresh()  # the builder pays for the estimates, not the first decision
    return policy


def from_published(
    arms: Mapping[str, str],
    estimates: Mapping[str, Any],
    *,
    offer_categories: Mapping[str, str] | None = None,
    offer_payouts: Mapping[str, float] | None = None,
    seed: int | None = None,
) -> HierarchicalThompson:
    """A policy from a published model: `estimates` as `estimates()` gave them, and per arm its
    counter rows `[feature, value, shown, successes, reward_sum, reward_sq_sum]` as a JSON string,
    read only when a decision first ranks that arm (a cold start parses no offer it does not rank).

    With the rows and catalog categories and payouts `from_counters` was given, it ranks exactly
    like that policy; its estimates stay as published (it never re-estimates by itself).
    """
    policy = HierarchicalThompson(offer_categories, offer_payouts=offer_payouts, seed=seed)
    policy.use_estimates(estimates)
    policy._pending = {arm: raw for arm, raw in arms.items() if not arm.startswith(RESERVED_ARMS)}
    return policy


def default_policy(seed: int | None = None) -> HierarchicalThompson:
    """The production policy, with no catalog knowledge: it learns everything from rewards."""
    return HierarchicalThompson(seed=seed)
