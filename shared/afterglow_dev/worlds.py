"""A family of simulated post-purchase worlds with known ground truth, drawn at random.

A learning policy that wins on one simulated world may only have learned that world's quirks. So
`draw_world(seed)` draws every knob a real deployment could differ in, and `afterglow simulate`
(`afterglow_dev.simulation`) scores policies over many of them:

- catalog: 50-2,000 offers (log-uniform) over 10,000-30,000 transactions; 10-60 of them eligible
  per transaction; a share of them (0-30%) arriving only mid-run (cold start);
- conversion: mean P(convert | seen) 0.3-5% (log-uniform); offers differ around it by a log-odds
  sd of 0.3-1.2; payouts spread 2-100x (log-uniform) and are often harder to earn the higher they
  are; some pay a revenue share that varies per basket;
- context: purchase category (6-31, uneven traffic), segment (2-6), device, gift answer, country
  and order value. Which of them move which offers, and how much, is drawn per world, none at all
  in some; the purchase category's effect is partly shared by offers of one kind, partly their own;
  a purchase category × segment interaction no additive model holds; effects on every offer alike;
- time: each offer's appeal drifts slowly (a random walk); feedback arrives in batches (a policy
  rebuilt every few minutes) and conversions later than the impressions that led to them;
- slates: slot j of a k=3 slate is seen with probability decay**j (decay 0.4-0.9).

Everything is a pure function of the seed (numpy's generator): the same seed, the same world.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from afterglow.taxonomy import CATEGORIES

SEGMENTS = ("new", "returning", "vip", "deal_seeker", "business", "student")
DEVICES = ("mobile", "desktop", "tablet")
COUNTRIES = ("de", "fr", "nl", "es", "it", "at", "be", "pl", "se", "dk", "ie", "pt")
GIFT = ("no", "yes")
# Categorical context features, in the order the truth tables hold them.
CATEGORICAL = ("purchase_category", "segment", "device", "is_gift", "country")
KIND_SHARE = 0.3  # share of an effect's variance an offer's kind holds (the category's: drawn per world)
COMMON_SD = 0.3  # sd of a value's effect on every offer alike, where its feature matters


@dataclass(frozen=True)
class WorldKnobs:
    """What was drawn for one world: printed beside its scores, so a loss can be understood."""

    seed: int
    offers: int
    rounds: int
    eligible: tuple[int, int]
    mean_conversion: float
    offer_spread: float  # sd of offers' log-odds around the mean
    payout_spread: float  # highest / lowest payout
    payout_penalty: float  # log-odds lost per unit of log payout: high payouts convert less
    revenue_share: float  # share of offers whose payout varies per basket
    effects: dict[str, float]  # feature -> sd of its per-offer log-odds effect (0: it does not matter)
    interaction: float  # sd of the purchase category × segment × offer effect
    drift: float  # sd of an offer's log-odds random walk over the whole run
    arriving: float  # share of offers that arrive mid-run
    position_decay: float
    batch_lag: int  # rounds before any feedback reaches the policy
    conversion_delay: float  # mean extra rounds before a conversion does

    def describe(self) -> str:
        """One line: the knobs that matter most."""
        strong = ",".join(f"{name[:4]}{sd:.1f}" for name, sd in self.effects.items() if sd > 0) or "none"
        return (
            f"seed {self.seed}: {self.offers} offers, {self.rounds:,} rounds,"
            f" conv {self.mean_conversion:.2%},"
            f" payout x{self.payout_spread:.0f}, effects {strong}, ix {self.interaction:.1f},"
            f" drift {self.drift:.1f}, new {self.arriving:.0%}, decay {self.position_decay:.2f},"
            f" lag {self.batch_lag}+{self.conversion_delay:.0f}"
        )


@dataclass
class World:
    """Ground truth of one world: engagement log-odds tables, payouts, arrivals and drift."""

    knobs: WorldKnobs
    offer_ids: list[str]
    offer_kinds: list[str]  # the catalog category of each offer (offers of a kind behave alike)
    payouts: np.ndarray  # mean payout of one conversion, per offer
    payout_sigma: np.ndarray  # 0 for a fixed bounty, > 0 for a revenue share
    intercept: np.ndarray  # log-odds per offer
    tables: dict[str, np.ndarray]  # feature -> [value index, offer] log-odds
    value_slope: np.ndarray  # log-odds per sd of log order value, per offer
    interaction: np.ndarray  # [category, segment, offer]
    drift_knots: np.ndarray  # [knot, offer]: the random walk, interpolated between knots
    arrival_round: np.ndarray  # round from which each offer is active
    vocabularies: dict[str, tuple[str, ...]]
    traffic: dict[str, np.ndarray]  # feature -> value probabilities
    order_value_median: float
    order_value_sigma: float
    # feature -> the share of its effect's variance that offers of one kind have in common
    kind_shares: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def offer_categories(self) -> dict[str, str]:
        """What a catalog would say each offer's category is."""
        return dict(zip(self.offer_ids, self.offer_kinds, strict=True))

    @property
    def offer_payouts(self) -> dict[str, float]:
        """What a catalog would say one conversion of each offer pays."""
        return {offer: float(payout) for offer, payout in zip(self.offer_ids, self.payouts, strict=True)}

    def drift_at(self, round_number: int) -> np.ndarray:
        """Each offer's drift in log-odds at `round_number`."""
        knots = self.drift_knots
        position = round_number / max(self.knobs.rounds, 1) * (len(knots) - 1)
        low = min(int(position), len(knots) - 2)
        share = position - low
        result: np.ndarray = knots[low] * (1.0 - share) + knots[low + 1] * share
        return result

    def logits(self, codes: tuple[int, ...], order_value: float, drift: np.ndarray) -> np.ndarray:
        """Every offer's engagement log-odds for one customer (`codes`: value index per CATEGORICAL)."""
        z = self.intercept + drift + self.value_slope * self.value_z(order_value)
        for feature, code in zip(CATEGORICAL, codes, strict=True):
            z = z + self.tables[feature][code]
        result: np.ndarray = z + self.interaction[codes[0], codes[1]]
        return result

    def value_z(self, order_value: float) -> float:
        """An order value in sds of log order value from the world's median (what slopes multiply)."""
        return (math.log(max(order_value, 0.01)) - math.log(self.order_value_median)) / self.order_value_sigma

    def context_codes(self, context: Mapping[str, object]) -> tuple[int, ...]:
        """A policy's context as value indexes per CATEGORICAL feature (an unknown value: the first)."""
        codes = self._value_codes
        return tuple(codes[feature].get(str(context.get(feature)), 0) for feature in CATEGORICAL)

    @cached_property
    def _value_codes(self) -> dict[str, dict[str, int]]:
        return {
            feature: {value: i for i, value in enumerate(self.vocabularies[feature])}
            for feature in CATEGORICAL
        }

    def base_rate_prior(self) -> tuple[np.ndarray, float]:
        """What each offer's base log-odds was drawn around (lower the better it pays) and the
        sd of that draw: what a learner told the world's structure knows before any data."""
        log_payout = np.log(self.payouts)
        penalty = -self.knobs.payout_penalty * (log_payout - log_payout.mean())
        center: np.ndarray = penalty + float(np.mean(self.intercept - penalty))
        return center, self.knobs.offer_spread


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _traffic(rng: np.random.Generator, values: int, unevenness: float) -> np.ndarray:
    """Value probabilities, Zipf-like: a few values take most of the traffic."""
    weights = 1.0 / np.arange(1, values + 1) ** unevenness
    weights = weights[rng.permutation(values)]
    result: np.ndarray = weights / weights.sum()
    return result


def draw_knobs(seed: int, rounds: int | None = None, max_offers: int | None = None) -> WorldKnobs:
    """The knobs of world `seed` (`rounds`/`max_offers` override the drawn size, e.g. for tests)."""
    rng = np.random.default_rng([seed, 1])
    offers = round(_log_uniform(rng, 50, 2_000))
    if max_offers is not None:
        offers = min(offers, max_offers)
    low = int(rng.integers(10, 41))
    no_context = rng.random() < 0.1
    effects = {
        feature: 0.0 if no_context or rng.random() < chance else float(rng.uniform(low_sd, high_sd))
        for feature, chance, low_sd, high_sd in (
            ("purchase_category", 0.15, 0.4, 1.5),
            ("segment", 0.4, 0.2, 1.0),
            ("device", 0.6, 0.1, 0.6),
            ("is_gift", 0.4, 0.3, 1.5),
            ("country", 0.6, 0.1, 0.6),
            ("order_value", 0.4, 0.1, 0.8),
        )
    }
    drawn_rounds = round(_log_uniform(rng, 10_000, 30_000))
    return WorldKnobs(
        seed=seed,
        offers=offers,
        rounds=drawn_rounds if rounds is None else rounds,
        eligible=(low, low + int(rng.integers(0, 21))),
        mean_conversion=_log_uniform(rng, 0.003, 0.05),
        offer_spread=float(rng.uniform(0.3, 1.2)),
        payout_spread=_log_uniform(rng, 2, 100),
        payout_penalty=float(rng.uniform(0.0, 0.8)),
        revenue_share=float(rng.uniform(0.0, 0.5)),
        effects=effects,
        interaction=0.0 if no_context or rng.random() < 0.5 else float(rng.uniform(0.2, 0.8)),
        drift=float(rng.uniform(0.0, 0.6)),
        arriving=float(rng.uniform(0.0, 0.3)),
        position_decay=float(rng.uniform(0.4, 0.9)),
        batch_lag=int(rng.integers(0, 501)),
        conversion_delay=float(rng.uniform(0.0, 2_000.0)),
    )


def draw_world(seed: int, rounds: int | None = None, max_offers: int | None = None) -> World:
    """World `seed`: the same seed (and overrides) always gives the same world."""
    knobs = draw_knobs(seed, rounds, max_offers)
    rng = np.random.default_rng([seed, 2])
    n = knobs.offers
    vocabularies = {
        "purchase_category": tuple(
            rng.choice(CATEGORIES, size=int(rng.integers(6, len(CATEGORIES) + 1)), replace=False)
        ),
        "segment": SEGMENTS[: int(rng.integers(2, len(SEGMENTS) + 1))],
        "device": DEVICES,
        "is_gift": GIFT,
        "country": COUNTRIES[: int(rng.integers(2, len(COUNTRIES) + 1))],
    }
    gift_share = rng.uniform(0.05, 0.3)
    traffic = {
        feature: _traffic(rng, len(values), float(rng.uniform(0.3, 1.5)))
        for feature, values in vocabularies.items()
    }
    traffic["is_gift"] = np.array([1.0 - gift_share, gift_share])

    # Offers come in kinds (a catalog category); a kind's offers share part of their category taste.
    kinds = int(rng.integers(4, 21))
    kind_of = rng.integers(0, kinds, size=n)
    kind_names = [f"kind_{i:02d}" for i in range(kinds)]
    log_payout = rng.uniform(0.0, math.log(knobs.payout_spread), size=n)
    payouts = np.round(2.0 * np.exp(log_payout), 2)
    payout_sigma = np.where(rng.random(n) < knobs.revenue_share, rng.uniform(0.2, 0.7, size=n), 0.0)
    intercept = rng.normal(0.0, knobs.offer_spread, size=n)
    intercept -= knobs.payout_penalty * (log_payout - log_payout.mean())

    tables: dict[str, np.ndarray] = {}
    # How much of each effect a kind's offers share (of the purchase category's: drawn).
    category_share = float(rng.uniform(0.2, 0.9))
    kind_shares = {f: category_share if f == "purchase_category" else KIND_SHARE for f in vocabularies}
    for feature, values in vocabularies.items():
        sd = knobs.effects[feature]
        size = len(values)
        own = rng.normal(0.0, 1.0, size=(size, n))
        by_kind = rng.normal(0.0, 1.0, size=(size, kinds))[:, kind_of]
        share = kind_shares[feature]
        effect = sd * (math.sqrt(share) * by_kind + math.sqrt(1.0 - share) * own)
        # Some values lift or lower every offer alike (VIPs buy more of everything).
        common = rng.normal(0.0, COMMON_SD, size=(size, 1)) if knobs.effects[feature] > 0 else 0.0
        tables[feature] = effect + common
    value_slope = rng.normal(0.0, knobs.effects["order_value"], size=n)
    rank = 2
    categories, segments = len(vocabularies["purchase_category"]), len(vocabularies["segment"])
    left = rng.normal(0.0, 1.0, size=(categories, segments, rank))
    right = rng.normal(0.0, 1.0, size=(rank, n))
    interaction = knobs.interaction * np.einsum("csr,rn->csn", left, right) / math.sqrt(rank)
    knots = 11
    steps = rng.normal(0.0, knobs.drift / math.sqrt(knots - 1), size=(knots - 1, n))
    drift_knots = np.vstack([np.zeros((1, n)), np.cumsum(steps, axis=0)])
    arrival_round = np.where(
        rng.random(n) < knobs.arriving,
        rng.integers(int(0.1 * knobs.rounds), int(0.8 * knobs.rounds) + 1, size=n),
        0,
    )
    world = World(
        knobs=knobs,
        offer_ids=[f"o{number:04d}" for number in range(n)],
        offer_kinds=[kind_names[k] for k in kind_of],
        payouts=payouts,
        payout_sigma=payout_sigma,
        intercept=intercept,
        tables=tables,
        value_slope=value_slope,
        interaction=interaction,
        drift_knots=drift_knots,
        arrival_round=arrival_round,
        vocabularies=vocabularies,
        traffic=traffic,
        order_value_median=float(rng.uniform(30.0, 120.0)),
        order_value_sigma=float(rng.uniform(0.4, 1.0)),
        kind_shares=kind_shares,
    )
    world.intercept = world.intercept + _calibrate(world, rng)
    return world


def _calibrate(world: World, rng: np.random.Generator) -> float:
    """The log-odds shift that makes a random slate convert at the world's mean conversion rate."""
    samples = 400
    rows = []
    for _ in range(samples):
        codes = tuple(int(rng.choice(len(p), p=p)) for p in (world.traffic[f] for f in CATEGORICAL))
        value = world.order_value_median * math.exp(rng.normal(0.0, world.order_value_sigma))
        rows.append(world.logits(codes, value, world.drift_at(int(rng.integers(0, world.knobs.rounds)))))
    z = np.concatenate(rows)
    low, high = -15.0, 10.0
    for _ in range(50):
        middle = (low + high) / 2
        if float(np.mean(1.0 / (1.0 + np.exp(-(z + middle))))) < world.knobs.mean_conversion:
            low = middle
        else:
            high = middle
    return (low + high) / 2
