"""The learning policy: which offers to show, learned from what customers did.

`HierarchicalThompson` ranks offers by a Thompson sample of their expected value per show,
P(reward > 0 | context) × the payout of one success, so engagement and revenue both count and
rewards may be 0/1 or amounts.

- P(reward > 0) is additive in log-odds: an offer's own rate, plus one deviation per context
  feature value (`segment=vip`, `purchase_category=coffee`, an order-value bucket …), each a Beta
  posterior whose prior is the level above it: offers shrink toward the platform (or their catalog
  category), an offer × value cell toward its offer moved by what that value does to every offer
  (or to its category's offers). Any context key works; strings are categories and floats are
  bucketed. Declared key pairs (`pairs`) add interaction cells.
- How hard each level shrinks is estimated from the counters themselves (empirical Bayes, method of
  moments, re-estimated as data comes in): a feature that moves no offer (a device, a customer id)
  adds no noise, one that matters is learned fast.
- The payout of one success is log-normal around the offers' typical payout (or the catalog's
  figure): one fixed bounty tells an offer's payout, revenue shares need a few.
- Thompson draws are tempered (`EXPLORATION`): full-width draws over-explore when there are many
  more offers and offer × context cells than conversions to learn them from.

Everything is a function of additive counters, per offer × feature × value (`CounterRow`: shows,
successes, reward sums), so an aggregator can sum them in any order: `update` adds exactly the rows
`increments` gives, and `from_counters` rebuilds a policy that decides exactly like the one updated
event by event. `afterglow_dev.simulation` measures all of this against a family of worlds.
"""

import heapq
import math
import random
from collections.abc import Iterable, Mapping
from statistics import NormalDist
from typing import Any, Final, NotRequired, Protocol, TypedDict

from afterglow.taxonomy import relevance

ContextValue = str | float
Context = Mapping[str, ContextValue]
_FeatureValue = tuple[str, str]


class Policy(Protocol):
    """What the decision pipeline and the offline simulator need from a learning policy."""

    def rank(self, context: dict[str, str | float], arm_ids: list[str], k: int) -> list[str]: ...
    def update(self, context: dict[str, str | float], arm_id: str, reward: float) -> None: ...


class CounterRow(TypedDict):
    """One learning counter as stored: an arm (offer) × feature × value cell."""

    arm_id: str
    feature: str
    value: str
    shown: int
    successes: int
    reward_sum: float
    reward_sq_sum: NotRequired[float]  # optional: lets payout noise be estimated, else assumed


TOTAL: Final[_FeatureValue] = ("*", "*")  # an arm's totals over every context
PAIR_JOIN: Final = "×"
# Context key pairs whose interaction the policy learns per offer (when both keys are present).
DEFAULT_PAIRS: Final[tuple[tuple[str, str], ...]] = ()
CATEGORY_KEY: Final = "purchase_category"
RESERVED_ARMS: Final = ("*", "offer_category:")  # platform-wide and category rows of older policies

# Prior spreads (variance in log-odds) before the counters say otherwise: offers differ a lot,
# context cells less. Clamped so a noisy estimate can neither freeze nor explode exploration.
ARM_SPREAD, CELL_SPREAD = 1.0, 0.3
MIN_SPREAD, MAX_SPREAD = 0.005, 4.0
IGNORABLE_SPREAD = 0.01  # a deviation of sd ≤ 0.1 in log-odds never changes a ranking much
PRIOR_CELLS = 4.0  # weight of the prior spreads, in cells of PRIOR_CELL_SHOWS shows
PRIOR_CELL_SHOWS = 50.0
PAYOUT_LOG_SPREAD = 1.0  # variance of offers' log payouts around the platform's, before data
CATALOG_PAYOUT_SPREAD = 0.05  # variance of a catalog payout's log around the truth
RELEVANCE_LIFT = 1.5  # log-odds a fully related category is worth, before feedback says otherwise
MAX_FEATURES, MAX_VALUES_PER_FEATURE = 64, 2_000  # memory bound against unbounded context keys
# Thompson draws are tempered: each posterior's sd is scaled by this. Full-width draws over-explore
# when most offer × context cells are seldom revisited (tuned on `afterglow_dev.simulation`'s
# tuning worlds, reported on its held-out ones).
EXPLORATION = 0.2
REFRESH_EVERY = 500  # updates between empirical-Bayes refreshes, and at least 1/REFRESH_FRACTION of all
REFRESH_FRACTION = 3
MAX_COUNT = 1e12  # any one stored sum beyond this is corrupt, not traffic
_NORMALS = 4096  # standard normal draws come from this many quantiles (fast and plenty for sampling)
_QUANTILES: Final = tuple(NormalDist().inv_cdf((i + 0.5) / _NORMALS) for i in range(_NORMALS))


def feature_value(value: object) -> str:
    """The categorical value a context value falls in: floats are bucketed, others taken as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # ints are usually ids or small codes, not measurements
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if -1.0 <= value <= 1.0:  # scores and shares: quarter steps
            return f"{round(value * 4) / 4:g}"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        # Amounts (order value, …): half-octave buckets, fine enough to learn from, never sparse.
        octave = math.floor(math.log2(abs(value)) * 2) / 2
        return f"{'-' if value < 0 else ''}2^{octave:g}"
    return str(value)


def context_features(context: Context) -> list[_FeatureValue]:
    """The (feature, value) cells a context touches; keys starting with `*` are reserved."""
    return [
        (str(key), feature_value(value)) for key, value in context.items() if not str(key).startswith("*")
    ]


def pair_features(features: list[_FeatureValue], pairs: Iterable[tuple[str, str]]) -> list[_FeatureValue]:
    """The interaction cells of declared key pairs present in a context: `a×b` = `value_a×value_b`."""
    values = dict(features)
    return [
        (f"{first}{PAIR_JOIN}{second}", f"{values[first]}{PAIR_JOIN}{values[second]}")
        for first, second in pairs
        if first in values and second in values
    ]


def _unique(arm_ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(arm_ids))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


def _finite(value: float) -> float:
    """A stored amount as the maths can use it: NaN and infinities (corrupt rows) count as 0."""
    return min(max(value, -MAX_COUNT), MAX_COUNT) if math.isfinite(value) else 0.0


def _counts(counter: list[float]) -> tuple[float, float]:
    """(shows, successes) that always make sense: a success implies a show, nothing is negative."""
    successes = max(counter[1], 0.0)
    return max(counter[0], successes), successes


def _logit_posterior(shown: float, successes: float, prior: float, spread: float) -> tuple[float, float]:
    """Log-odds mean and variance of a Beta cell with prior mean `prior` and log-odds variance `spread`."""
    prior = min(max(prior, 1e-9), 1.0 - 1e-9)
    strength = 1.0 / (spread * prior * (1.0 - prior))  # pseudo-shows: a Beta's log-odds variance is 1/α + 1/β
    alpha = successes + strength * prior
    beta = max(shown - successes, 0.0) + strength * (1.0 - prior)
    return math.log(alpha / beta), 1.0 / alpha + 1.0 / beta


def _excess_variance(successes: float, shown: float, rate: float, share: float) -> tuple[float, float]:
    """Method-of-moments parts (numerator, denominator) of a cell's extra log-odds variance around
    `rate`; `share` is the cell's part of its parent's shows (a cell that *is* its parent says
    nothing about the spread)."""
    q = rate * (1.0 - rate)
    if shown < 2 or q <= 0.0 or share >= 1.0:
        return 0.0, 0.0
    residual = successes - shown * rate
    return residual * residual - shown * q * (1.0 - share), (shown * (1.0 - share) * q) ** 2


def _clamp(spread: float) -> float:
    return min(max(spread, MIN_SPREAD), MAX_SPREAD)


# A counter: [shown, successes, reward_sum, reward_sq_sum] as stored (raw sums, clamped finite),
# then a cache. Arm totals: [.., version, state]; cells: [.., stamp of the arm state, deviation, variance].
_Counter = list[Any]
_ArmState = list[float]  # [generation, version, log-odds, variance, log payout, its sd, stamp]


class HierarchicalThompson:
    """Contextual Thompson sampling over hierarchical Beta posteriors (see the module docstring).

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
        self._log_payouts = {
            arm: math.log(payout)
            for arm, payout in (offer_payouts or {}).items()
            if math.isfinite(payout) and payout > 0
        }
        self._totals: dict[str, _Counter] = {}  # arm -> its totals (and cached state)
        self._cells: dict[_FeatureValue, dict[str, _Counter]] = {}  # (feature, value) -> arm -> counter
        self._values_per_feature: dict[str, int] = {}
        self._unseen: dict[str, _ArmState] = {}  # states of arms without counters, per generation
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
        self._global_devs: dict[_FeatureValue, float] = {}  # how a value moves every offer alike
        self._groups: dict[str, tuple[float, float]] = {}  # category -> (shown, successes)
        self._group_devs: dict[tuple[str, str, str], float] = {}  # (category, feature, value) -> dev

    # -- learning ---------------------------------------------------------------------------------

    def update(self, context: Context, arm_id: str, reward: float) -> None:
        """Record that `arm_id` was seen in `context` and earned `reward` (0 when nothing happened):
        exactly what adding the rows of `increments` does."""
        if arm_id.startswith(RESERVED_ARMS):
            return
        reward = _finite(reward)
        amounts = (1.0, 1.0 if reward > 0 else 0.0, reward, _finite(reward * reward))
        for cell in (TOTAL, *self._features(context)):
            self._add(arm_id, cell, amounts)

    def increments(self, context: Context, arm_id: str, reward: float) -> list[CounterRow]:
        """The counter rows one event adds: the arm's totals and the arm × each context feature value."""
        reward = _finite(reward)
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

    def _features(self, context: Context) -> list[_FeatureValue]:
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
                _finite(float(row["shown"])),
                _finite(float(row["successes"])),
                _finite(float(row["reward_sum"])),
                _finite(float(row.get("reward_sq_sum", 0.0))),
            )
            self._add(arm, (str(row["feature"]), str(row["value"])), amounts)

    def _add(self, arm: str, cell: _FeatureValue, amounts: tuple[float, float, float, float]) -> None:
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
            counter[index] = total if -MAX_COUNT <= total <= MAX_COUNT else _finite(total)

    def _cell(self, cell: _FeatureValue, arm: str) -> _Counter | None:
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

    # -- empirical Bayes --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-estimate from all counters now (`rank` does it by itself as the counters grow)."""
        self._refresh()
        self._refreshed_at = self._updates

    def _maybe_refresh(self) -> None:
        # The schedule depends only on the counters, so a policy rebuilt from counters and one
        # updated event by event refresh alike; a fifth of the total keeps the cost amortised O(1).
        since = self._updates - self._refreshed_at
        if self._refreshed_at < 0 or since >= max(REFRESH_EVERY, self._refreshed_at // REFRESH_FRACTION):
            self.refresh()

    def _refresh(self) -> None:
        """Re-estimate the platform rate, the spreads of offers and cells, payouts, categories."""
        arms = {arm: _counts(c) for arm, c in self._totals.items()}
        shown = sum(n for n, _ in arms.values())
        won = sum(s for _, s in arms.values())
        self._base = (won + 0.5) / (shown + 1.0)
        prior_weight = PRIOR_CELLS * (PRIOR_CELL_SHOWS * self._base * (1 - self._base)) ** 2
        num = den = 0.0
        for n, s in arms.values():
            part_num, part_den = _excess_variance(s, n, self._base, n / shown if shown else 0.0)
            num, den = num + part_num, den + part_den
        self._arm_spread = _clamp((num + ARM_SPREAD * prior_weight) / (den + prior_weight))
        rates = {arm: (s + self._base) / (n + 1.0) for arm, (n, s) in arms.items()}
        self._global_devs = {}
        parts: dict[str, list[float]] = {}
        for cell, by_arm in self._cells.items():
            counts = [
                (_counts(c), arms.get(arm, (0.0, 0.0))[0], rates.get(arm, self._base))
                for arm, c in by_arm.items()
            ]
            # How this value moves every offer alike (VIPs buy more of everything): the prior of
            # each offer's cell here, so that the spread measures what is particular to offers.
            observed = sum(s for (_, s), _, _ in counts)
            expected = sum(n * rate for (n, _), _, rate in counts)
            lift = (observed + 2.0) / (expected + 2.0)
            self._global_devs[cell] = math.log(lift)
            acc = parts.setdefault(cell[0], [0.0, 0.0])
            for (n, s), total, rate in counts:
                if total >= 2:
                    part_num, part_den = _excess_variance(s, n, min(rate * lift, 0.99), n / total)
                    acc[0] += part_num
                    acc[1] += part_den
        self._spread = {
            f: _clamp((n + CELL_SPREAD * prior_weight) / (d + prior_weight)) for f, (n, d) in parts.items()
        }
        self._refresh_payouts()
        self._refresh_groups(arms)
        self._generation += 1.0
        self._unseen = {}

    def _refresh_payouts(self) -> None:
        """Offers' log payouts around the platform's: between- and within-offer variances."""
        means: list[tuple[float, float]] = []
        within = within_dof = 0.0
        for c in self._totals.values():
            successes, reward_sum = max(c[1], 0.0), max(c[2], 0.0)
            if successes < 1 or reward_sum <= 0:
                continue
            mean = reward_sum / successes
            means.append((math.log(mean), successes))
            if successes >= 2 and c[3] > 0:  # squared sums are optional (none: noise assumed)
                cv2 = max(c[3] / successes - mean * mean, 0.0) / (mean * mean)
                within += math.log1p(min(cv2, 100.0)) * (successes - 1)
                within_dof += successes - 1
        self._payout_noise = max((within + 0.25) / (within_dof + 1.0), 1e-4)
        if not means:
            return
        # Each offer counts once (a random-effects mean), not once per conversion: else the offers
        # the policy shows most, often cheap ones that convert well, would set every unseen offer's
        # payout, and it would never look for better paid ones.
        spread = PAYOUT_LOG_SPREAD
        for _ in range(3):
            weights = [1.0 / (spread + self._payout_noise / n) for _, n in means]
            center = sum(w * m for w, (m, _) in zip(weights, means, strict=True)) / sum(weights)
            between = sum((m - center) ** 2 - self._payout_noise / n for m, n in means)
            spread = max((between + 2 * PAYOUT_LOG_SPREAD) / (len(means) + 2), 1e-3)
        self._log_payout, self._payout_spread = center, spread

    def _refresh_groups(self, arms: dict[str, tuple[float, float]]) -> None:
        """Per catalog category, its offers' pooled rate and pooled cells (their deviations)."""
        self._groups, self._group_devs = {}, {}
        if not self._offer_categories:
            return
        for arm, (n, s) in arms.items():
            category = self._offer_categories.get(arm)
            if category is not None:
                shown, won = self._groups.get(category, (0.0, 0.0))
                self._groups[category] = (shown + n, won + s)
        pooled: dict[tuple[str, str, str], list[float]] = {}
        for (feature, value), by_arm in self._cells.items():
            for arm, c in by_arm.items():
                category = self._offer_categories.get(arm)
                if category is not None:
                    n, s = _counts(c)
                    acc = pooled.setdefault((category, feature, value), [0.0, 0.0])
                    acc[0] += n
                    acc[1] += s
        for key, (n, s) in pooled.items():
            self._group_devs[key] = self._group_dev(key[0], key[1], key[2], n, s)

    def _group_dev(self, category: str, feature: str, value: str, shown: float, won: float) -> float:
        """How a category's offers deviate in one cell: pooled evidence around the taxonomy's prior."""
        group_shown, group_won = self._groups.get(category, (0.0, 0.0))
        theta = _logit_posterior(group_shown, group_won, self._base, self._arm_spread)[0]
        prior = RELEVANCE_LIFT * relevance(value, category) if feature == CATEGORY_KEY else 0.0
        spread = self._spread.get(feature, CELL_SPREAD)
        return _logit_posterior(shown, won, _sigmoid(theta + prior), spread)[0] - theta

    def _prior_dev(self, arm: str, feature: str, value: str) -> float:
        """Where an offer's cell starts: its category's deviation there (0 without a catalog)."""
        category = self._offer_categories.get(arm)
        if category is None:
            return self._global_devs.get((feature, value), 0.0)
        known = self._group_devs.get((category, feature, value))
        if known is not None:
            return known
        return self._group_dev(category, feature, value, 0.0, 0.0)

    # -- ranking ----------------------------------------------------------------------------------

    def _arm_state(self, arm: str, counter: _Counter | None) -> _ArmState:
        """The arm's log-odds posterior and log payout posterior, cached per counters' version."""
        if counter is not None:
            state = counter[5]
            if state and state[0] == self._generation and state[1] == counter[4]:
                return state  # type: ignore[no-any-return]
        else:
            state = self._unseen.get(arm)
            if state is not None and state[0] == self._generation:
                return state
        shown, won = _counts(counter) if counter is not None else (0.0, 0.0)
        prior = self._base
        category = self._offer_categories.get(arm)
        group = self._groups.get(category) if category is not None else None
        if group is not None:  # a new offer starts where the other offers of its category are
            others_shown = max(group[0] - shown, 0.0)
            others_won = min(max(group[1] - won, 0.0), others_shown)
            prior = _sigmoid(_logit_posterior(others_shown, others_won, prior, self._arm_spread)[0])
        theta, variance = _logit_posterior(shown, won, prior, self._arm_spread)
        prior_log, prior_var = self._log_payout, self._payout_spread
        if arm in self._log_payouts:
            prior_log, prior_var = self._log_payouts[arm], CATALOG_PAYOUT_SPREAD
        successes = max(counter[1], 0.0) if counter is not None else 0.0
        reward_sum = max(counter[2], 0.0) if counter is not None else 0.0
        log_payout, payout_var = prior_log, prior_var
        if successes >= 1 and reward_sum > 0:
            precision = 1.0 / prior_var + successes / self._payout_noise
            observed = math.log(reward_sum / successes)
            log_payout = (prior_log / prior_var + observed * successes / self._payout_noise) / precision
            payout_var = 1.0 / precision
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
        bits, normals = rng.getrandbits, _QUANTILES
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
        its draw's sd, log payout mean, its draw's sd); a score is log σ(mean + sd·N₁) + mean + sd·N₂.
        Lets a caller draw many rankings cheaply (e.g. Monte Carlo propensities of a decision)."""
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

    def _fresh_cell(
        self, cell: _Counter, arm: str, feature: str, value: str, spread: float, state: _ArmState
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
        logit, variance = _logit_posterior(shown, won, _sigmoid(theta + prior_dev), spread)
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


def default_policy(seed: int | None = None) -> HierarchicalThompson:
    """The production policy, with no catalog knowledge: it learns everything from rewards."""
    return HierarchicalThompson(seed=seed)


class RandomPolicy:
    """Baseline: `k` eligible arms uniformly at random; learns nothing."""

    def __init__(self, *, seed: int | None = None) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - sampling, not secrets

    def rank(self, context: Context, arm_ids: list[str], k: int) -> list[str]:
        """A uniformly random slate of at most `k` distinct arms."""
        unique = _unique(arm_ids)
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
        for position, arm in enumerate(_unique(arm_ids)):
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
