"""The learning policy: which offers to show, learned online from what customers did.

`ThompsonPolicy` ranks offers by a Thompson sample of their expected value, P(reward > 0 | context)
× expected payout, so engagement and revenue both count and rewards may be 0/1 or amounts.

- P(reward > 0) is a hierarchical Beta model over plain counters (shown, successes, reward sums)
  per offer and per offer × context feature value; any context key works (strings are categories,
  floats are bucketed). A sparse cell's prior is its parent's prediction, so it borrows strength
  until it has data of its own, and the cells of several features add up in log-odds.
- How hard each level shrinks is not hand-tuned: it is re-estimated from the counters (empirical
  Bayes, method of moments), so a feature that does not matter (a device, a customer id) stops
  adding noise and one that matters is learned fast.
- Each show also records what the offer's *other* context cells predicted (a log-odds offset), and
  a cell is judged against that: the policy shows an offer where it already looks good, so raw
  per-feature rates would confound one feature with another (a backfitting step).
- With a catalog, offers of one category share a parent (the category's *other* offers, so a
  dominant offer is not its own prior), whose purchase-category cells start from the taxonomy's
  relevance, itself learned across offers; a catalog payout is the prior of an offer's payout.
- Thompson draws are tempered (`EXPLORATION`): full-width draws over-explore when most offer ×
  context cells are seldom revisited. `afterglow_dev.simulation` measures all of this.

The counters are what DynamoDB's atomic ADDs keep (`increments` gives one event's rows), so a policy
can be rebuilt from them (`from_counters`) and decides exactly like one updated event by event.
Arm ids `*` and `offer_category:…` are reserved.
"""

import heapq
import math
import random
from collections.abc import Iterable, Mapping
from typing import Final, NotRequired, Protocol, TypedDict

from afterglow.taxonomy import relevance

ContextValue = str | float
Context = Mapping[str, ContextValue]
_Counter = list[float]  # [shown, successes, reward_sum, reward_sq_sum, offset_sum, …cache, …raw sums]
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
    offset_sum: NotRequired[float]  # optional: the other features' log-odds at each show (see update)


TOTAL: Final[_FeatureValue] = ("*", "*")  # an arm's totals over every context
EVERYONE: Final = "*"  # the arm id of platform-wide counters
GROUP_PREFIX: Final = "offer_category:"  # pseudo-arms pooling the offers of one catalog category
RELEVANCE_FEATURE: Final = "*relevance"  # platform-wide counters per taxonomy relevance
CATEGORY_KEY: Final = "purchase_category"

# Prior spreads (variance in log-odds) before the counters say otherwise: offers differ a lot,
# context cells less. Clamped so a noisy estimate can neither freeze nor explode exploration.
ARM_SPREAD, CELL_SPREAD, RELEVANCE_SPREAD = 1.0, 0.5, 0.25
MIN_SPREAD, MAX_SPREAD = 0.01, 4.0
IGNORABLE_SPREAD = 0.02  # a deviation of sd ≤ 0.14 in log-odds never changes a ranking much
PAYOUT_PRIOR_CONVERSIONS = 5.0  # weight of a catalog payout, in conversions' worth of evidence
MAX_FEATURES, MAX_VALUES_PER_FEATURE = 64, 2_000  # memory bound against unbounded context keys
# Thompson draws are tempered: each posterior's sd is scaled by this. Full-width draws over-explore
# when most offer × context cells are seldom revisited (measured: see `afterglow_dev.simulation`).
EXPLORATION = 0.35
REFRESH_EVERY = 200  # updates between empirical-Bayes refreshes, and at least 1/REFRESH_FRACTION of all
REFRESH_FRACTION = 5


def _logit_relevance_prior(score: float) -> float:
    """A guess of how much relevance lifts log-odds; the relevance counters correct it quickly."""
    return 2.0 * score - 0.6


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
        # Amounts (order value, …): half-octave buckets, fine enough to learn from, never sparse.
        octave = math.floor(math.log2(abs(value)) * 2) / 2
        return f"{'-' if value < 0 else ''}2^{octave:g}"
    return str(value)


def context_features(context: Context) -> list[_FeatureValue]:
    """The (feature, value) cells a context touches; keys starting with `*` are reserved."""
    return [
        (str(key), feature_value(value)) for key, value in context.items() if not str(key).startswith("*")
    ]


def _unique(arm_ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(arm_ids))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


def _logit(p: float) -> float:
    """Log-odds of a probability, kept finite at 0 and 1."""
    p = min(max(p, 1e-12), 1.0 - 1e-12)
    return math.log(p / (1.0 - p))


MAX_COUNT = 1e12  # any one stored sum beyond this is corrupt, not traffic
MAX_OFFSET = 50.0  # a log-odds offset per show beyond this says nothing more


def _finite(value: float) -> float:
    """A stored amount as the maths can use it: NaN and infinities (corrupt rows) count as 0."""
    return min(max(value, -MAX_COUNT), MAX_COUNT) if math.isfinite(value) else 0.0


def _consistent(counter: _Counter) -> None:
    """Derive a cell's counts (slots 0-4) from its raw sums (slots 9-13) so the maths always holds:
    a success implies a show (a conversion recorded without an impression is one), nothing is
    negative and offsets stay within what log-odds can mean. Any stored state gives finite scores."""
    successes = max(counter[10], 0.0)
    shown = max(counter[9], successes)
    counter[0], counter[1] = shown, successes
    counter[2] = max(counter[11], 0.0)
    counter[3] = max(counter[12], 0.0)
    counter[4] = min(max(counter[13], -MAX_OFFSET * shown), MAX_OFFSET * shown)


def _excess_variance(successes: float, shown: float, rate: float, share: float) -> tuple[float, float]:
    """Method-of-moments parts (numerator, denominator) of a cell's extra log-odds variance.

    Compares the cell's successes with what its parent's raw rate predicts; `share` is the cell's
    part of the parent's data (a cell that *is* its parent says nothing about the spread).
    """
    q = rate * (1.0 - rate)
    if shown < 2 or q <= 0.0 or share >= 1.0:
        return 0.0, 0.0
    residual = successes - shown * rate
    return residual * residual - shown * q * (1.0 - share), (shown * (1.0 - share) * q) ** 2


def _logit_posterior(shown: float, successes: float, prior: float, spread: float) -> tuple[float, float]:
    """Log-odds mean and variance of a Beta cell with prior mean `prior` and log-odds variance `spread`."""
    prior = min(max(prior, 1e-9), 1.0 - 1e-9)
    strength = 1.0 / (spread * prior * (1.0 - prior))  # pseudo-shows: a Beta's log-odds variance is 1/α + 1/β
    successes = max(successes, 0.0)
    alpha = successes + strength * prior
    beta = max(shown - successes, 0.0) + strength * (1.0 - prior)
    return math.log(alpha / beta), 1.0 / alpha + 1.0 / beta


def _clamp(spread: float) -> float:
    return min(max(spread, MIN_SPREAD), MAX_SPREAD)


_EMPTY: Final[_Counter] = [0.0, 0.0, 0.0, 0.0, 0.0]
_Amounts = tuple[float, float, float, float, float]


class ThompsonPolicy:
    """Contextual Thompson sampling over hierarchical Beta posteriors (see the module docstring).

    Both catalog arguments are optional. `offer_categories` (arm id → taxonomy category) adds the
    category level and the relevance prior; `offer_payouts` (arm id → what one conversion should
    pay, in the rewards' unit, e.g. `decisioning.expected_payout`) is the prior of each arm's payout,
    which conversions then correct. `seed` (or `rng`) makes the sampling reproducible;
    `exploration` scales the width of each Thompson draw (default `EXPLORATION`).
    """

    def __init__(
        self,
        offer_categories: Mapping[str, str] | None = None,
        *,
        offer_payouts: Mapping[str, float] | None = None,
        seed: int | None = None,
        rng: random.Random | None = None,
        exploration: float | None = None,
    ) -> None:
        self._rng = rng if rng is not None else random.Random(seed)  # noqa: S311 - sampling, not secrets
        self._exploration = EXPLORATION if exploration is None else exploration
        self._offer_categories = dict(offer_categories or {})
        self._offer_payouts = dict(offer_payouts or {})
        # (feature, value) -> arm -> [shown, successes, reward_sum, reward_sq_sum, then a cache:
        # generation, arm's shows when cached, log-odds deviation, its variance]
        self._cells: dict[_FeatureValue, dict[str, _Counter]] = {}
        self._values_per_feature: dict[str, int] = {}
        self._updates = 0
        self._refreshed_at = -1
        # Refresh-level estimates (empirical Bayes and the category level), see `_refresh`.
        self._generation = 0.0
        self._base = 0.5  # platform P(reward > 0): Jeffreys before any data
        self._arm_spread = ARM_SPREAD
        self._spread: dict[str, float] = {}  # per feature: offer cells around their parent
        self._group_spread: dict[str, float] = {}  # per feature: category cells around theirs
        self._relevance_dev: dict[float, float] = {}  # relevance score -> learned log-odds lift
        # Snapshots of the category pseudo-arms' counters: an offer's parent is its category *less
        # the offer itself*, or an offer that dominates its category would be its own prior.
        self._group_totals: dict[str, tuple[float, float, float]] = {}
        self._group_cells: dict[tuple[str, str, str], tuple[float, float]] = {}
        self._payout_mean = 1.0
        self._payout_noise = 0.25  # variance of one positive reward around its arm's mean
        self._payout_spread = 1.0  # variance of arms' mean payouts around the platform mean
        self._arm_state: dict[str, list[float]] = {}
        # (arm, feature, value) -> (the arm's prior log-odds, parent deviation) of cells without
        # data yet, valid for one refresh generation
        self._unseen_parents: dict[tuple[str, str, str], tuple[float, float]] = {}

    # -- learning ---------------------------------------------------------------------------------

    def update(self, context: Context, arm_id: str, reward: float) -> None:
        """Record that `arm_id` was seen in `context` and earned `reward` (0 when nothing happened)."""
        reward = _finite(reward)
        success = 1.0 if reward > 0 else 0.0
        for cell, arm, offset in self._event_cells(context, arm_id):
            self._add(cell, arm, (1.0, success, reward, reward * reward, offset))
        self._updates += 1

    def increments(self, context: Context, arm_id: str, reward: float) -> list[CounterRow]:
        """The counter rows one event adds (what `update` does, as DynamoDB ADDs would do it)."""
        success = 1 if reward > 0 else 0
        return [
            CounterRow(
                arm_id=arm,
                feature=feature,
                value=value,
                shown=1,
                successes=success,
                reward_sum=reward,
                reward_sq_sum=reward * reward,
                offset_sum=offset,
            )
            for (feature, value), arm, offset in self._event_cells(context, arm_id)
        ]

    def _event_cells(self, context: Context, arm_id: str) -> list[tuple[_FeatureValue, str, float]]:
        """Every (cell, arm, log-odds offset) an event counts in: platform, arm, arm × feature value,
        and with a catalog the arm's category and the relevance of its category to the purchase."""
        features = context_features(context)
        offsets = self._offsets(arm_id, features)  # the last one: all the context cells together
        cells = [(TOTAL, EVERYONE, 0.0), (TOTAL, arm_id, offsets[-1])]
        cells += [(cell, arm_id, offset) for cell, offset in zip(features, offsets[:-1], strict=True)]
        category = self._offer_categories.get(arm_id)
        if category is not None:
            group = GROUP_PREFIX + category
            cells += [(TOTAL, group, 0.0)] + [(cell, group, 0.0) for cell in features]
            purchased = context.get(CATEGORY_KEY)
            if isinstance(purchased, str):
                cells.append(((RELEVANCE_FEATURE, f"{relevance(purchased, category):.1f}"), EVERYONE, 0.0))
        return cells

    def _offsets(self, arm: str, features: list[_FeatureValue]) -> list[float]:
        """Per feature, how much the arm's *other* context cells move its log-odds right now, and
        last how much all of them do (what the arm's own mean is judged against).

        Summed per cell, they say what the rest of the model expected of the shows in that cell.
        The policy shows an offer to the segments and categories it seems good for, so raw cell
        rates confound one feature with the others; judging a cell against this expectation
        instead (a backfitting step) keeps each effect its own.
        """
        shown = self._cells.get(TOTAL, {}).get(arm, _EMPTY)[0]
        state = self._arm(arm, shown)
        category = self._offer_categories.get(arm)
        deviations = []
        for feature, value in features:
            spread = self._spread.get(feature, CELL_SPREAD)
            cell = self._cells.get((feature, value), {}).get(arm)
            if spread <= IGNORABLE_SPREAD:
                deviations.append(0.0)
            elif cell is None:
                deviations.append(self._parent_dev(category, feature, value, state[7]) if category else 0.0)
            else:
                if cell[5] != self._generation or cell[6] != shown:
                    self._fresh_cell(cell, state, category, feature, value, spread)
                deviations.append(cell[7])
        total = sum(deviations)
        return [*(total - deviation for deviation in deviations), total]

    def _add(self, cell: _FeatureValue, arm: str, amounts: _Amounts) -> None:
        by_arm = self._cells.get(cell)
        if by_arm is None:
            feature = cell[0]
            values = self._values_per_feature.get(feature, 0)
            if values >= MAX_VALUES_PER_FEATURE or (
                values == 0 and len(self._values_per_feature) >= MAX_FEATURES
            ):
                return  # too many distinct values to learn per offer: the arm level covers it
            self._values_per_feature[feature] = values + 1
            by_arm = self._cells[cell] = {}
        counter = by_arm.get(arm)
        if counter is None:
            counter = by_arm[arm] = [0.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        for index in range(5):
            counter[9 + index] = _finite(counter[9 + index] + _finite(amounts[index]))
        _consistent(counter)

    # -- counters in and out ----------------------------------------------------------------------

    def to_counters(self) -> list[CounterRow]:
        """Every counter as a row, ready to be written (or compared) as DynamoDB items."""
        return [
            CounterRow(
                arm_id=arm,
                feature=feature,
                value=value,
                shown=int(c[9]),
                successes=int(c[10]),
                reward_sum=c[11],
                reward_sq_sum=c[12],
                offset_sum=c[13],
            )
            for (feature, value), by_arm in self._cells.items()
            for arm, c in by_arm.items()
        ]

    def add_counters(self, rows: Iterable[CounterRow]) -> None:
        """Add counter rows (e.g. summed by DynamoDB's atomic ADDs) to this policy's counters."""
        for row in rows:
            cell, arm = (row["feature"], row["value"]), row["arm_id"]
            # float(): DynamoDB hands numbers back as Decimal
            amounts = (
                float(row["shown"]),
                float(row["successes"]),
                float(row["reward_sum"]),
                float(row.get("reward_sq_sum", 0.0)),
                float(row.get("offset_sum", 0.0)),
            )
            self._add(cell, arm, amounts)
            if cell == TOTAL and arm == EVERYONE:
                self._updates += int(max(_finite(amounts[0]), 0.0))

    # -- empirical Bayes --------------------------------------------------------------------------

    def _maybe_refresh(self) -> None:
        # The schedule depends only on the counters, so a policy rebuilt from counters and one
        # updated event by event refresh alike; a fifth of the total keeps the cost amortised O(1).
        since = self._updates - self._refreshed_at
        if self._updates and (
            self._refreshed_at < 0 or since >= max(REFRESH_EVERY, self._refreshed_at // REFRESH_FRACTION)
        ):
            self._refresh()
            self._refreshed_at = self._updates

    def _refresh(self) -> None:
        """Re-estimate the platform rate, relevance lifts, payouts, the category level and spreads."""
        totals = self._cells.get(TOTAL, {})
        everyone = totals.get(EVERYONE, _EMPTY)
        self._base = (everyone[1] + 0.5) / (everyone[0] + 1.0)
        base_logit = _logit(self._base)
        prior_weight = 4 * (50 * self._base * (1 - self._base)) ** 2  # ~ four cells of 50 shows
        self._relevance_dev = {}
        for value, c in self._cells_of(RELEVANCE_FEATURE, EVERYONE):
            try:
                score = float(value)
            except ValueError:
                continue  # not a relevance this policy wrote
            guess = _logit_relevance_prior(score)
            logit, _ = _logit_posterior(c[0], c[1], _sigmoid(base_logit + guess), RELEVANCE_SPREAD)
            self._relevance_dev[score] = logit - base_logit

        num = den = within = within_dof = 0.0
        arm_payouts: list[tuple[float, float]] = []
        for arm, c in totals.items():
            if arm == EVERYONE or arm.startswith(GROUP_PREFIX):
                continue
            n, d = _excess_variance(c[1], c[0], self._base, c[0] / everyone[0] if everyone[0] else 0.0)
            num, den = num + n, den + d
            if c[1] >= 1:
                arm_payouts.append((c[2] / c[1], c[1]))
                within += max(c[3] - c[2] * c[2] / c[1], 0.0)
                within_dof += c[1] - 1
        self._arm_spread = _clamp((num + ARM_SPREAD * prior_weight) / (den + prior_weight))
        self._refresh_payouts(everyone, arm_payouts, within, within_dof)

        # Category cells first: they are the parents of the offer cells, whose spread is what is
        # left around them (the taxonomy and the category explain part of an offer's variation).
        self._group_spread = self._cell_spreads(True, prior_weight)
        self._refresh_categories()
        self._spread = self._cell_spreads(False, prior_weight)
        self._generation += 1.0

    def _cells_of(self, feature: str, arm: str) -> list[tuple[str, _Counter]]:
        return [(v, by_arm[arm]) for (f, v), by_arm in self._cells.items() if f == feature and arm in by_arm]

    def _cell_spreads(self, groups: bool, prior_weight: float) -> dict[str, float]:
        """Per feature, the log-odds variance of cells around their parent's prediction.

        Judged on raw rates, not on the backfitted offsets: offsets depend on the spreads, and
        estimating spreads from them fed back (a pure-noise feature's spread grew to 0.6).
        """
        totals = self._cells.get(TOTAL, {})
        parts: dict[str, list[float]] = {}
        for (feature, value), by_arm in self._cells.items():
            if feature.startswith("*"):
                continue
            for arm, c in by_arm.items():
                parent = totals.get(arm, _EMPTY)
                if arm == EVERYONE or arm.startswith(GROUP_PREFIX) != groups or parent[0] < 2:
                    continue
                rate = (parent[1] + 0.5) / (parent[0] + 1.0)
                category = arm[len(GROUP_PREFIX) :] if groups else self._offer_categories.get(arm)
                deviation = 0.0
                if category is not None and groups:
                    deviation = self._prior_dev(category, feature, value)
                elif category is not None:
                    theta_others = self._arm(arm, parent[0])[7]
                    deviation = self._parent_dev(category, feature, value, theta_others, c)
                if deviation:
                    rate = _sigmoid(_logit(rate) + deviation)
                n, d = _excess_variance(c[1], c[0], rate, c[0] / parent[0])
                acc = parts.setdefault(feature, [0.0, 0.0])
                acc[0] += n
                acc[1] += d
        return {
            f: _clamp((n + CELL_SPREAD * prior_weight) / (d + prior_weight)) for f, (n, d) in parts.items()
        }

    def _refresh_payouts(
        self, everyone: _Counter, arm_payouts: list[tuple[float, float]], within: float, within_dof: float
    ) -> None:
        """A normal model of each arm's mean payout around the platform's, both variances estimated."""
        # Under one success is no evidence of a payout (a corrupt fraction would blow the mean up).
        mean = min(everyone[2] / everyone[1], MAX_COUNT) if everyone[1] >= 1 else 1.0
        # Fixed bounties have no noise, and conversions may all pay 0: keep the maths finite.
        floor = max((0.02 * mean) ** 2, 1e-6)
        self._payout_mean = mean
        self._payout_noise = max(within / within_dof if within_dof else (0.5 * mean) ** 2, floor)
        between = sum((m - mean) ** 2 - self._payout_noise / n for m, n in arm_payouts)
        self._payout_spread = max((between + 2 * mean**2) / (len(arm_payouts) + 2), floor)

    def _refresh_categories(self) -> None:
        """Snapshot the category pseudo-arms' counters: the parents of their offers' posteriors."""
        self._group_totals, self._group_cells, self._unseen_parents = {}, {}, {}
        for arm, c in self._cells.get(TOTAL, {}).items():
            if arm.startswith(GROUP_PREFIX):
                self._group_totals[arm[len(GROUP_PREFIX) :]] = (c[0], c[1], c[2])
        if not self._group_totals:
            return
        for (feature, value), by_arm in self._cells.items():
            if feature.startswith("*"):
                continue
            for arm, cell in by_arm.items():
                if arm.startswith(GROUP_PREFIX):
                    self._group_cells[(arm[len(GROUP_PREFIX) :], feature, value)] = (cell[0], cell[1])

    def _prior_dev(self, category: str, feature: str, value: str) -> float:
        """The taxonomy's prior for a category in a purchase-category cell, learned across offers."""
        if feature != CATEGORY_KEY:
            return 0.0
        score = relevance(value, category)
        learned = self._relevance_dev.get(score)
        return _logit_relevance_prior(score) if learned is None else learned

    def _parent_dev(
        self, category: str, feature: str, value: str, theta_others: float, cell: _Counter | None = None
    ) -> float:
        """Where an offer's cell starts: how the *other* offers of its category deviate there (their
        log-odds mean is `theta_others`; `cell` is the offer's own, taken out), else the taxonomy."""
        group = self._group_cells.get((category, feature, value))
        prior_dev = self._prior_dev(category, feature, value)
        if group is None:
            return prior_dev
        shown, successes = group
        if cell is not None:
            # The snapshot may predate the cell's latest shows: never take out more than is there.
            shown = max(shown - cell[0], 0.0)
            successes = min(max(successes - cell[1], 0.0), shown)
        spread = self._group_spread.get(feature, CELL_SPREAD)
        logit, _ = _logit_posterior(shown, successes, _sigmoid(theta_others + prior_dev), spread)
        return logit - theta_others

    # -- ranking ----------------------------------------------------------------------------------

    def rank(self, context: Context, arm_ids: list[str], k: int) -> list[str]:
        """The `k` arms (of `arm_ids`, no duplicates) with the best sampled expected value, best first."""
        if k <= 0 or not arm_ids:
            return []
        self._maybe_refresh()
        totals = self._cells.get(TOTAL, {})
        # A feature whose offer cells vary no more than chance would add only cost: skip it.
        features = [
            fv for fv in context_features(context) if self._spread.get(fv[0], CELL_SPREAD) > IGNORABLE_SPREAD
        ]
        no_cells: dict[str, _Counter] = {}
        cells = [
            (f, v, self._spread.get(f, CELL_SPREAD), self._cells.get((f, v), no_cells)) for f, v in features
        ]
        generation, width = self._generation, self._exploration
        gauss, sqrt, exp = self._rng.gauss, math.sqrt, math.exp
        categories, states, unseen = self._offer_categories, self._arm_state, self._unseen_parents
        scored: list[tuple[float, int, str]] = []
        for position, arm in enumerate(_unique(arm_ids)):
            shown = totals.get(arm, _EMPTY)[0]
            state = states.get(arm)
            if state is None or state[0] != generation or state[1] != shown:
                state = self._arm(arm, shown)
            z, variance = state[2], state[3]
            category = categories.get(arm) if categories else None
            for feature, value, spread, by_arm in cells:
                cell = by_arm.get(arm)
                if cell is None:  # an unseen cell is its prior: the parent's deviation, ± spread
                    if category is not None:
                        known = unseen.get((arm, feature, value))
                        if known is None or known[0] != state[7]:
                            known = unseen[(arm, feature, value)] = (
                                state[7],
                                self._parent_dev(category, feature, value, state[7]),
                            )
                        z += known[1]
                    variance += spread
                    continue
                if cell[5] != generation or cell[6] != shown:
                    self._fresh_cell(cell, state, category, feature, value, spread)
                z += cell[7]
                variance += cell[8]
            z += width * sqrt(variance) * gauss()
            p = 1.0 / (1.0 + exp(-z)) if z > -700.0 else 0.0
            payout = state[5] + width * state[6] * gauss()
            scored.append((p * payout if payout > 0.0 else 0.0, -position, arm))
        return [arm for _, _, arm in heapq.nlargest(k, scored)]

    def _arm(self, arm: str, shown: float) -> list[float]:
        """[generation, shows, log-odds mean, its variance, mean, payout mean, payout sd, prior log-odds]."""
        state = self._arm_state.get(arm)
        if state is not None and state[0] == self._generation and state[1] == shown:
            return state
        counter = self._cells.get(TOTAL, {}).get(arm, _EMPTY)
        category = self._offer_categories.get(arm)
        prior, payout_prior = self._base, self._payout_mean
        group = self._group_totals.get(category) if category else None
        if group is not None:  # a new offer starts where the other offers of its category are
            others_shown = max(group[0] - counter[0], 0.0)
            others_won = min(max(group[1] - counter[1], 0.0), others_shown)
            prior = _sigmoid(_logit_posterior(others_shown, others_won, prior, self._arm_spread)[0])
            weight = self._payout_noise / self._payout_spread
            payout_prior = (max(group[2] - counter[2], 0.0) + weight * payout_prior) / (others_won + weight)
        prior_precision = 1.0 / self._payout_spread
        if arm in self._offer_payouts:  # the catalog's figure: as good as a few conversions
            payout_prior = self._offer_payouts[arm]
            prior_precision = PAYOUT_PRIOR_CONVERSIONS / self._payout_noise
        # The arm's shows lean to the contexts it seems good in: its intercept is its log-odds less
        # the mean lift its context cells gave those shows (else the lift would count twice).
        lift = counter[4] / counter[0] if counter[0] else 0.0
        theta, variance = _logit_posterior(
            counter[0], counter[1], _sigmoid(_logit(prior) + lift), self._arm_spread
        )
        theta -= lift
        precision = prior_precision + counter[1] / self._payout_noise
        payout = (payout_prior * prior_precision + counter[2] / self._payout_noise) / precision
        state = [
            self._generation,
            shown,
            theta,
            variance,
            _sigmoid(theta),
            payout,
            math.sqrt(1.0 / precision),
            _logit(prior),  # the log-odds of the category's other offers
        ]
        self._arm_state[arm] = state
        return state

    def _fresh_cell(
        self,
        cell: _Counter,
        state: list[float],
        category: str | None,
        feature: str,
        value: str,
        spread: float,
    ) -> None:
        """Cache a cell's log-odds deviation and variance: its Beta posterior, whose prior is what
        the rest of the model expects of its shows (the arm's log-odds plus the other features'
        mean offset there) moved by the parent's deviation, with the feature's spread."""
        theta = state[2]
        parent = self._parent_dev(category, feature, value, state[7], cell) if category else 0.0
        anchor = theta + cell[4] / cell[0] if cell[0] else theta
        prior = state[4] if anchor == theta and parent == 0.0 else _sigmoid(anchor + parent)
        logit, variance = _logit_posterior(cell[0], cell[1], prior, spread)
        cell[5], cell[6] = self._generation, state[1]
        cell[7], cell[8] = logit - anchor, variance


def from_counters(
    rows: Iterable[CounterRow],
    *,
    offer_categories: Mapping[str, str] | None = None,
    offer_payouts: Mapping[str, float] | None = None,
    seed: int | None = None,
) -> ThompsonPolicy:
    """A policy whose posteriors are summarised from stored counter rows (rows for one cell add up).

    It decides exactly like a policy that was `update`d with the events behind the rows, from the
    first refresh of its estimates on (the next `rank`) onwards.
    """
    policy = ThompsonPolicy(offer_categories, offer_payouts=offer_payouts, seed=seed)
    policy.add_counters(rows)
    return policy


def default_policy(seed: int | None = None) -> ThompsonPolicy:
    """The production policy, with no catalog knowledge: it learns everything from rewards."""
    return ThompsonPolicy(seed=seed)


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
        self._counters: dict[str, _Counter] = {}
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
