"""The Beta / log-odds arithmetic of the policy's posteriors, and the priors it starts from.

Each cell is a Beta posterior on P(reward > 0) summarised in log-odds (mean, variance); how hard a
level shrinks toward its parent (its spread) is estimated by the method of moments. Stored counters
may be corrupt: every amount is made finite and consistent before the maths sees it.
"""

import math
from statistics import NormalDist
from typing import Final

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
MAX_COUNT = 1e12  # any one stored sum beyond this is corrupt, not traffic
NORMALS = 4096  # standard normal draws come from this many quantiles (fast and plenty for sampling)
NORMAL_QUANTILES: Final = tuple(NormalDist().inv_cdf((i + 0.5) / NORMALS) for i in range(NORMALS))


def sigmoid(z: float) -> float:
    """The probability whose log-odds are `z`."""
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


def finite(value: float) -> float:
    """A stored amount as the maths can use it: NaN and infinities (corrupt rows) count as 0."""
    return min(max(value, -MAX_COUNT), MAX_COUNT) if math.isfinite(value) else 0.0


def clean_counts(counter: list[float]) -> tuple[float, float]:
    """(shows, successes) that always make sense: a success implies a show, nothing is negative."""
    successes = max(counter[1], 0.0)
    return max(counter[0], successes), successes


def logit_posterior(shown: float, successes: float, prior: float, spread: float) -> tuple[float, float]:
    """Log-odds mean and variance of a Beta cell with prior mean `prior` and log-odds variance `spread`."""
    prior = min(max(prior, 1e-9), 1.0 - 1e-9)
    strength = 1.0 / (spread * prior * (1.0 - prior))  # pseudo-shows: a Beta's log-odds variance is 1/α + 1/β
    alpha = successes + strength * prior
    beta = max(shown - successes, 0.0) + strength * (1.0 - prior)
    return math.log(alpha / beta), 1.0 / alpha + 1.0 / beta


def excess_variance(successes: float, shown: float, rate: float, share: float) -> tuple[float, float]:
    """Method-of-moments parts (numerator, denominator) of a cell's extra log-odds variance around
    `rate`; `share` is the cell's part of its parent's shows (a cell that *is* its parent says
    nothing about the spread)."""
    q = rate * (1.0 - rate)
    if shown < 2 or q <= 0.0 or share >= 1.0:
        return 0.0, 0.0
    residual = successes - shown * rate
    return residual * residual - shown * q * (1.0 - share), (shown * (1.0 - share) * q) ** 2


def clamp_spread(spread: float) -> float:
    """An estimated spread kept within [MIN_SPREAD, MAX_SPREAD]."""
    return min(max(spread, MIN_SPREAD), MAX_SPREAD)
