"""The policy's empirical-Bayes estimates, re-estimated from all counters now and then: the
platform's rate, how far offers and their context cells spread around their parents (method of
moments), offers' payouts around the platform's, and catalog categories' pooled cells. Mixed into
`HierarchicalThompson`, whose counters it reads.
"""

import math
from collections.abc import Mapping
from typing import Any, Final

from afterglow.learning.features import FeatureValue
from afterglow.learning.posterior import (
    ARM_SPREAD,
    CELL_SPREAD,
    PAYOUT_LOG_SPREAD,
    PRIOR_CELL_SHOWS,
    PRIOR_CELLS,
    RELEVANCE_LIFT,
    clamp_spread,
    clean_counts,
    excess_variance,
    logit_posterior,
    sigmoid,
)
from afterglow.taxonomy import relevance

CATEGORY_KEY: Final = "purchase_category"
REFRESH_EVERY = 500  # updates between empirical-Bayes refreshes, and at least 1/REFRESH_FRACTION of all
REFRESH_FRACTION = 3
PAYOUT_BANDS = 4  # bands of offers by catalog payout, for the payout slope
PAYOUT_SLOPE_PRIOR = 0.25  # variance of the payout slope before data (log-odds per log payout)

# A counter: [shown, successes, reward_sum, reward_sq_sum] as stored (raw sums, clamped finite),
# then a cache. Arm totals: [.., version, state]; cells: [.., stamp of the arm state, deviation, variance].
Counter = list[Any]
ArmState = list[float]  # [generation, version, log-odds, variance, log payout, its sd, stamp]


class EmpiricalBayes:
    """The estimates `HierarchicalThompson` refreshes from its counters (see the module docstring)."""

    # The policy's counters and estimates, as `HierarchicalThompson.__init__` sets them.
    _offer_categories: dict[str, str]
    _totals: dict[str, Counter]
    _cells: dict[FeatureValue, dict[str, Counter]]
    _unseen: dict[str, ArmState]
    _updates: float
    _refreshed_at: float
    _generation: float
    _base: float
    _arm_spread: float
    _spread: dict[str, float]
    _log_payout: float
    _payout_spread: float
    _payout_noise: float
    _global_devs: dict[FeatureValue, float]
    _groups: dict[str, tuple[float, float]]
    _group_devs: dict[tuple[str, str, str], float]
    _offer_payouts: Mapping[str, float]
    # How offers' log-odds move per unit of the log of their catalog payout, around its mean.
    _payout_slope: float = 0.0
    _payout_center: float = 0.0
    _estimates_fixed: bool = False  # published estimates in use (`use_estimates`)

    def refresh(self) -> None:
        """Re-estimate from all counters now (`rank` does it by itself as the counters grow)."""
        self._refresh()
        self._refreshed_at = self._updates

    def estimates(self) -> dict[str, Any]:
        """The current estimates as JSON-ready data, which `use_estimates` takes back exactly (a
        trainer publishes them, so that a decide does not re-estimate from every counter)."""
        return {
            "base": self._base,
            "arm_spread": self._arm_spread,
            "spread": dict(sorted(self._spread.items())),
            "log_payout": self._log_payout,
            "payout_spread": self._payout_spread,
            "payout_noise": self._payout_noise,
            "global_devs": [[f, v, dev] for (f, v), dev in sorted(self._global_devs.items())],
            "groups": {category: list(group) for category, group in sorted(self._groups.items())},
            "group_devs": [[c, f, v, dev] for (c, f, v), dev in sorted(self._group_devs.items())],
            "payout_slope": self._payout_slope,
            "payout_center": self._payout_center,
        }

    def use_estimates(self, data: Mapping[str, Any]) -> None:
        """Take published `estimates()` and keep them: this policy never re-estimates by itself
        (its counters may be loaded only in part, offer by offer, as decisions need them)."""
        self._base = float(data["base"])
        self._arm_spread = float(data["arm_spread"])
        self._spread = {str(f): float(spread) for f, spread in data["spread"].items()}
        self._log_payout = float(data["log_payout"])
        self._payout_spread = float(data["payout_spread"])
        self._payout_noise = float(data["payout_noise"])
        self._global_devs = {(str(f), str(v)): float(dev) for f, v, dev in data["global_devs"]}
        self._groups = {str(c): (float(n), float(s)) for c, (n, s) in data["groups"].items()}
        self._group_devs = {(str(c), str(f), str(v)): float(dev) for c, f, v, dev in data["group_devs"]}
        self._payout_slope = float(data.get("payout_slope", 0.0))  # older models: none
        self._payout_center = float(data.get("payout_center", 0.0))
        self._generation += 1.0
        self._unseen = {}
        self._estimates_fixed = True

    def _maybe_refresh(self) -> None:
        if self._estimates_fixed:
            return
        # The schedule depends only on the counters, so a policy rebuilt from counters and one
        # updated event by event refresh alike; a fifth of the total keeps the cost amortised O(1).
        since = self._updates - self._refreshed_at
        if self._refreshed_at < 0 or since >= max(REFRESH_EVERY, self._refreshed_at // REFRESH_FRACTION):
            self.refresh()

    def _refresh(self) -> None:
        """Re-estimate the platform rate, the spreads of offers and cells, payouts, categories."""
        arms = {arm: clean_counts(c) for arm, c in self._totals.items()}
        shown = sum(n for n, _ in arms.values())
        won = sum(s for _, s in arms.values())
        self._base = (won + 0.5) / (shown + 1.0)
        prior_weight = PRIOR_CELLS * (PRIOR_CELL_SHOWS * self._base * (1 - self._base)) ** 2
        num = den = 0.0
        for n, s in arms.values():
            part_num, part_den = excess_variance(s, n, self._base, n / shown if shown else 0.0)
            num, den = num + part_num, den + part_den
        self._arm_spread = clamp_spread((num + ARM_SPREAD * prior_weight) / (den + prior_weight))
        rates = {arm: (s + self._base) / (n + 1.0) for arm, (n, s) in arms.items()}
        self._global_devs = {}
        parts: dict[str, list[float]] = {}
        for cell, by_arm in self._cells.items():
            counts = [
                (clean_counts(c), arms.get(arm, (0.0, 0.0))[0], rates.get(arm, self._base))
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
                    part_num, part_den = excess_variance(s, n, min(rate * lift, 0.99), n / total)
                    acc[0] += part_num
                    acc[1] += part_den
        self._spread = {
            f: clamp_spread((n + CELL_SPREAD * prior_weight) / (d + prior_weight))
            for f, (n, d) in parts.items()
        }
        self._refresh_payouts()
        self._refresh_payout_slope(arms)
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

    def catalog_log_payout(self, arm: str) -> float | None:
        """The log of what the catalog says one conversion of `arm` pays (None: not said)."""
        payout = self._offer_payouts.get(arm)
        if payout is None or not math.isfinite(payout) or payout <= 0:
            return None
        return math.log(payout)

    def _refresh_payout_slope(self, arms: dict[str, tuple[float, float]]) -> None:
        """How offers' conversion log-odds move with the log of their catalog payout: often down
        (the better paid actions are harder to earn). Told the payouts but not this, the policy
        would try every well-paid offer as if it converted like the rest. Pooled over four payout
        bands of offers (sparse conversions make single offers' rates useless), a weighted
        regression of the bands' log-odds on their mean log payout, shrunk toward 0 by its variance."""
        self._payout_slope = self._payout_center = 0.0
        points = []
        for arm, (shown, won) in arms.items():
            log_payout = self.catalog_log_payout(arm)
            if log_payout is not None and shown > 0:
                points.append((log_payout, shown, won))
        if len(points) < 2 * PAYOUT_BANDS:
            return
        points.sort()
        total = sum(shown for _, shown, _ in points)
        self._payout_center = sum(x * shown for x, shown, _ in points) / total
        bands = []
        for band in range(PAYOUT_BANDS):
            part = points[band * len(points) // PAYOUT_BANDS : (band + 1) * len(points) // PAYOUT_BANDS]
            shown = sum(n for _, n, _ in part)
            won = sum(s for _, _, s in part)
            rate = (won + 0.5) / (shown + 1.0)
            x = sum(x * n for x, n, _ in part) / shown
            bands.append((x, math.log(rate / (1.0 - rate)), shown * rate * (1.0 - rate)))
        weights = sum(w for _, _, w in bands)
        x_mean = sum(x * w for x, _, w in bands) / weights
        y_mean = sum(y * w for _, y, w in bands) / weights
        sxx = sum(w * (x - x_mean) ** 2 for x, _, w in bands)
        if sxx <= 1e-9:
            return
        slope = sum(w * (x - x_mean) * (y - y_mean) for x, y, w in bands) / sxx
        self._payout_slope = slope * PAYOUT_SLOPE_PRIOR / (PAYOUT_SLOPE_PRIOR + 1.0 / sxx)

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
                    n, s = clean_counts(c)
                    acc = pooled.setdefault((category, feature, value), [0.0, 0.0])
                    acc[0] += n
                    acc[1] += s
        for key, (n, s) in pooled.items():
            self._group_devs[key] = self._group_dev(key[0], key[1], key[2], n, s)

    def _group_dev(self, category: str, feature: str, value: str, shown: float, won: float) -> float:
        """How a category's offers deviate in one cell: pooled evidence around the taxonomy's prior."""
        group_shown, group_won = self._groups.get(category, (0.0, 0.0))
        theta = logit_posterior(group_shown, group_won, self._base, self._arm_spread)[0]
        prior = RELEVANCE_LIFT * relevance(value, category) if feature == CATEGORY_KEY else 0.0
        spread = self._spread.get(feature, CELL_SPREAD)
        return logit_posterior(shown, won, sigmoid(theta + prior), spread)[0] - theta

    def _prior_dev(self, arm: str, feature: str, value: str) -> float:
        """Where an offer's cell starts: its category's deviation there (0 without a catalog)."""
        category = self._offer_categories.get(arm)
        if category is None:
            return self._global_devs.get((feature, value), 0.0)
        known = self._group_devs.get((category, feature, value))
        if known is not None:
            return known
        return self._group_dev(category, feature, value, 0.0, 0.0)
