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
  figure): one fixed bounty tells an offer's payout, revenue shares need a few. Offers are valued
  at their posterior mean payout, so one whose payout is still unknown is worth what offers pay
  on average, not the typical (median) offer's payout.
- Thompson draws are tempered (`EXPLORATION`): full-width draws over-explore when there are many
  more offers and offer × context cells than conversions to learn them from.

Everything is a function of additive counters, per offer × feature × value (`CounterRow`: shows,
successes, reward sums), so an aggregator can sum them in any order: `update` adds exactly the rows
`increments` gives, and `from_counters` rebuilds a policy that decides exactly like the one updated
event by event. `afterglow_dev.simulation` measures all of this against a family of worlds (its
baselines, `RandomPolicy` and `NonContextualThompson` among them, are in `afterglow_dev.baselines`).

The package, by job: `features` (context → feature cells, the counter row), `posterior` (the Beta /
log-odds arithmetic and the priors), `estimates` (the empirical-Bayes refresh), `policy`
(`HierarchicalThompson`, `from_counters`, `default_policy`). Import from `afterglow.learning`.
"""

from afterglow.learning.estimates import CATEGORY_KEY, REFRESH_EVERY, REFRESH_FRACTION
from afterglow.learning.features import (
    PAIR_JOIN,
    TOTAL,
    Context,
    ContextValue,
    CounterRow,
    context_features,
    feature_value,
    pair_features,
)
from afterglow.learning.policy import (
    DEFAULT_PAIRS,
    EXPLORATION,
    MAX_FEATURES,
    MAX_VALUES_PER_FEATURE,
    RESERVED_ARMS,
    HierarchicalThompson,
    Policy,
    default_policy,
    from_counters,
    from_published,
)
from afterglow.learning.posterior import (
    ARM_SPREAD,
    CATALOG_PAYOUT_SPREAD,
    CELL_SPREAD,
    IGNORABLE_SPREAD,
    MAX_COUNT,
    MAX_SPREAD,
    MIN_SPREAD,
    PAYOUT_LOG_SPREAD,
    PRIOR_CELL_SHOWS,
    PRIOR_CELLS,
    RELEVANCE_LIFT,
)

__all__ = [
    "ARM_SPREAD",
    "CATALOG_PAYOUT_SPREAD",
    "CATEGORY_KEY",
    "CELL_SPREAD",
    "DEFAULT_PAIRS",
    "EXPLORATION",
    "IGNORABLE_SPREAD",
    "MAX_COUNT",
    "MAX_FEATURES",
    "MAX_SPREAD",
    "MAX_VALUES_PER_FEATURE",
    "MIN_SPREAD",
    "PAIR_JOIN",
    "PAYOUT_LOG_SPREAD",
    "PRIOR_CELLS",
    "PRIOR_CELL_SHOWS",
    "REFRESH_EVERY",
    "REFRESH_FRACTION",
    "RELEVANCE_LIFT",
    "RESERVED_ARMS",
    "TOTAL",
    "Context",
    "ContextValue",
    "CounterRow",
    "HierarchicalThompson",
    "Policy",
    "context_features",
    "default_policy",
    "feature_value",
    "from_counters",
    "from_published",
    "pair_features",
]
