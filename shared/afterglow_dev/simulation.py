"""A simulated post-purchase world with known ground truth, to evaluate learning policies offline.

Each round a customer has just bought something (purchase category, segment, gift or not, order
value, device), some offers are eligible, the policy ranks a slate of three, the customer sees
each position with a position-dependent probability (only seen offers are reported, as real
impressions are) and converts with the ground-truth P(engage | context) × the offer's
P(convert | engaged); the reward is the payout of the conversion (a fixed bounty, or a revenue
share that varies with the basket), else 0.

The truth is *not* the policy's model: engagement log-odds add a taxonomy relevance effect, an
offer × purchase category affinity the taxonomy does not know, an offer × segment affinity, gift
and order-value effects, and a low-rank purchase category × segment × offer interaction that no
additive model captures. High payouts engage less, so expected value is a real trade-off. The
device is pure noise. Every policy sees the same customers, eligibility and random draws (common
random numbers), so differences between policies are not luck of the draw.
"""

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from afterglow.learning import NonContextualThompson, Policy, RandomPolicy, ThompsonPolicy, default_policy
from afterglow.taxonomy import CATEGORIES, relevance

SEGMENTS = ("new", "returning", "vip", "deal_seeker")
SEGMENT_WEIGHTS = (0.35, 0.40, 0.10, 0.15)
DEVICES = ("mobile", "desktop", "tablet")
GIFT_SHARE = 0.15
GIFT_CATEGORIES = frozenset({"gifts", "flowers", "charity"})
POSITION_SEEN = (1.0, 0.8, 0.6)  # chance that a customer actually sees slot 1, 2, 3
SLATE_SIZE = 3
ELIGIBLE = (20, 40)  # how many offers pass the rules for one transaction (drawn uniformly)
RELEVANCE_WEIGHT = 2.0  # log-odds lift of an offer whose category is the one just bought
MEDIAN_ORDER_VALUE = 60.0
INTERACTION_DIMENSIONS = 2

PolicyFactory = Callable[["World"], Policy]


@dataclass(frozen=True)
class SimulatedOffer:
    """An offer's ground truth: what it pays and how likely each kind of customer converts."""

    offer_id: str
    category: str
    payout: float  # mean payout of one conversion
    payout_sigma: float  # 0 for a fixed bounty; > 0 for a revenue share that varies per basket
    convert_given_engage: float
    gift_affinity: float
    value_affinity: float  # log-odds per standard deviation of log order value


@dataclass(frozen=True)
class World:
    """Offers, the customer mix, and engagement log-odds per purchase category × segment × offer."""

    offers: tuple[SimulatedOffer, ...]
    category_weights: tuple[float, ...]  # purchase frequency of each taxonomy category
    logits: dict[tuple[str, str], tuple[float, ...]]  # (category, segment) -> per offer

    @property
    def offer_categories(self) -> dict[str, str]:
        """The catalog's offer → category mapping, as a production policy would know it."""
        return {offer.offer_id: offer.category for offer in self.offers}

    @property
    def offer_payouts(self) -> dict[str, float]:
        """What one conversion of each offer pays on average, as the catalog states it."""
        return {offer.offer_id: offer.payout for offer in self.offers}

    def conversion_probabilities(self, context: dict[str, str | float], indices: list[int]) -> list[float]:
        """Ground truth P(convert | seen) for the offers at `indices` in this context."""
        base = self.logits[(str(context["purchase_category"]), str(context["segment"]))]
        gift = context["is_gift"] == "yes"
        value_z = (math.log(float(context["order_value"])) - math.log(MEDIAN_ORDER_VALUE)) / 0.7
        probabilities = []
        for index in indices:
            offer = self.offers[index]
            z = base[index] + offer.value_affinity * value_z + (offer.gift_affinity if gift else 0.0)
            probabilities.append(offer.convert_given_engage / (1.0 + math.exp(-z)))
        return probabilities


def make_world(seed: int, offers: int = 120) -> World:
    """A world drawn from `seed`: the same seed always gives the same offers and customers."""
    rng = random.Random(f"world:{seed}")  # noqa: S311 - simulation, not secrets
    ranked = list(CATEGORIES)
    rng.shuffle(ranked)
    popularity = {category: 1.0 / (rank + 1) ** 0.8 for rank, category in enumerate(ranked)}
    catalog = []
    raw: list[tuple[float, dict[str, float], dict[str, float], list[float]]] = []
    for number in range(offers):
        category = rng.choice(CATEGORIES)
        payout = round(12.0 * math.exp(rng.gauss(0.0, 0.7)), 2)
        gift = 1.2 if category in GIFT_CATEGORIES else rng.gauss(0.0, 0.3)
        value = rng.gauss(0.0, 0.25) + (0.3 if category in {"insurance", "finance", "travel"} else 0.0)
        catalog.append(
            SimulatedOffer(
                offer_id=f"sim_{number:03d}",
                category=category,
                payout=payout,
                payout_sigma=0.4 if rng.random() < 0.3 else 0.0,
                convert_given_engage=rng.uniform(0.25, 0.6),
                gift_affinity=gift,
                value_affinity=value,
            )
        )
        # High payouts are harder to earn: the base rate falls with the payout.
        base = rng.gauss(-2.8, 0.5) - 0.35 * math.log(payout / 12.0)
        affinity = {c: rng.gauss(0.0, 0.6) for c in CATEGORIES}
        segment = {s: rng.gauss(0.0, 0.4) for s in SEGMENTS}
        raw.append((base, affinity, segment, [rng.gauss(0.0, 1.0) for _ in range(INTERACTION_DIMENSIONS)]))
    latent = {
        (c, s): [rng.gauss(0.0, 0.25) for _ in range(INTERACTION_DIMENSIONS)]
        for c in CATEGORIES
        for s in SEGMENTS
    }
    logits = {
        (c, s): tuple(
            base
            + RELEVANCE_WEIGHT * relevance(c, offer.category)
            + affinity[c]
            + segment[s]
            + sum(u * v for u, v in zip(latent[(c, s)], vector, strict=True))
            for offer, (base, affinity, segment, vector) in zip(catalog, raw, strict=True)
        )
        for c in CATEGORIES
        for s in SEGMENTS
    }
    return World(tuple(catalog), tuple(popularity[c] for c in CATEGORIES), logits)


class OraclePolicy:
    """Knows the ground truth: ranks by true expected value. The ceiling for every policy."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._index = {offer.offer_id: number for number, offer in enumerate(world.offers)}

    def rank(self, context: dict[str, str | float], arm_ids: list[str], k: int) -> list[str]:
        """The `k` arms with the highest true P(convert) × payout."""
        indices = [self._index[arm] for arm in arm_ids]
        probabilities = self._world.conversion_probabilities(context, indices)
        values = [p * self._world.offers[i].payout for p, i in zip(probabilities, indices, strict=True)]
        order = sorted(range(len(indices)), key=values.__getitem__, reverse=True)
        return [arm_ids[i] for i in order[:k]]

    def update(self, context: dict[str, str | float], arm_id: str, reward: float) -> None:
        """Nothing to learn."""


@dataclass
class RunResult:
    """What one policy earned, round by round, realised and in ground-truth expectation."""

    name: str
    revenue: list[float] = field(default_factory=list)
    expected_revenue: list[float] = field(default_factory=list)
    impressions: int = 0
    conversions: int = 0
    seconds: float = 0.0

    def per_transaction(self, *, last_half: bool = False, expected: bool = False) -> float:
        """Mean revenue per transaction (round), optionally over the second half of the run only."""
        series = self.expected_revenue if expected else self.revenue
        part = series[len(series) // 2 :] if last_half else series
        return sum(part) / len(part) if part else 0.0


def _customer(rng: random.Random, world: World) -> dict[str, str | float]:
    return {
        "purchase_category": rng.choices(CATEGORIES, world.category_weights)[0],
        "segment": rng.choices(SEGMENTS, SEGMENT_WEIGHTS)[0],
        "is_gift": "yes" if rng.random() < GIFT_SHARE else "no",
        "order_value": round(MEDIAN_ORDER_VALUE * math.exp(rng.gauss(0.0, 0.7)), 2),
        "device": rng.choice(DEVICES),
    }


def run(policy_factory: PolicyFactory, rounds: int, seed: int, name: str = "policy") -> RunResult:
    """Drive one policy through `rounds` transactions of the world of `seed`."""
    world = make_world(seed)
    policy = policy_factory(world)
    customers = random.Random(f"customers:{seed}")  # noqa: S311 - simulation, not secrets
    outcomes = random.Random(f"outcomes:{seed}")  # noqa: S311
    index = {offer.offer_id: number for number, offer in enumerate(world.offers)}
    offer_ids = [offer.offer_id for offer in world.offers]
    result = RunResult(name)
    started = time.perf_counter()
    for _ in range(rounds):
        context = _customer(customers, world)
        # Budgets, caps, schedules and targeting leave a different subset eligible each time.
        eligible = customers.sample(offer_ids, customers.randint(*ELIGIBLE))
        slate = policy.rank(context, eligible, SLATE_SIZE)[:SLATE_SIZE]
        # Always draw the same numbers per round, whatever the slate: common random numbers.
        draws = [(outcomes.random(), outcomes.random(), outcomes.gauss(0.0, 1.0)) for _ in range(SLATE_SIZE)]
        chosen = [index[arm] for arm in slate]
        probabilities = world.conversion_probabilities(context, chosen)
        earned = expected = 0.0
        for position, (arm, offer_index, p) in enumerate(zip(slate, chosen, probabilities, strict=True)):
            offer = world.offers[offer_index]
            expected += POSITION_SEEN[position] * p * offer.payout
            seen_draw, convert_draw, payout_draw = draws[position]
            if seen_draw >= POSITION_SEEN[position]:
                continue  # never seen: no impression, nothing to learn from
            reward = 0.0
            if convert_draw < p:
                sigma = offer.payout_sigma
                reward = round(offer.payout * math.exp(sigma * payout_draw - sigma * sigma / 2), 2)
                result.conversions += 1
            result.impressions += 1
            earned += reward
            policy.update(context, arm, reward)
        result.revenue.append(earned)
        result.expected_revenue.append(expected)
    result.seconds = time.perf_counter() - started
    return result


ORACLE = "oracle"


def lineup(seed: int) -> dict[str, PolicyFactory]:
    """The learning policies `compare` runs against the oracle, best informed first."""
    return {
        "thompson + catalog priors": lambda world: ThompsonPolicy(
            world.offer_categories, offer_payouts=world.offer_payouts, seed=seed
        ),
        "thompson, default_policy()": lambda world: default_policy(seed),
        "non-contextual thompson": lambda world: NonContextualThompson(seed=seed),
        "uniform random": lambda world: RandomPolicy(seed=seed),
    }


def compare(
    rounds: int, seed: int, policies: dict[str, PolicyFactory] | None = None, curve_points: int = 50
) -> dict[str, Any]:
    """Run `policies` (default: `lineup`) and the oracle on one world; revenue per transaction
    overall and over the last half, as realised and as ground-truth expectation, and curves."""
    runs = {**(lineup(seed) if policies is None else policies), ORACLE: OraclePolicy}
    results = [run(factory, rounds, seed, name) for name, factory in runs.items()]
    oracle = results[-1]
    block = max(rounds // curve_points, 1)
    world = make_world(seed)
    report: dict[str, Any] = {
        "rounds": rounds,
        "seed": seed,
        "offers": len(world.offers),
        "curve_block": block,
        "seconds": sum(result.seconds for result in results),
        "policies": {},
    }
    for result in results:
        series = result.expected_revenue
        last_half = result.per_transaction(last_half=True)
        expected_last_half = result.per_transaction(last_half=True, expected=True)
        report["policies"][result.name] = {
            "revenue_per_transaction": result.per_transaction(),
            "last_half_revenue_per_transaction": last_half,
            "last_half_pct_of_oracle": _percent(last_half, oracle.per_transaction(last_half=True)),
            "expected_last_half_revenue_per_transaction": expected_last_half,
            "expected_last_half_pct_of_oracle": _percent(
                expected_last_half, oracle.per_transaction(last_half=True, expected=True)
            ),
            "conversions_per_impression": result.conversions / result.impressions
            if result.impressions
            else 0.0,
            "seconds": result.seconds,
            "curve": [
                sum(series[i : i + block]) / len(series[i : i + block]) for i in range(0, len(series), block)
            ],
        }
    return report


def _percent(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def table(report: dict[str, Any]) -> str:
    """The comparison as a plain-text table."""
    lines = [
        f"afterglow simulate: {report['rounds']:,} transactions, seed {report['seed']}:"
        f" {report['offers']} offers, {ELIGIBLE[0]}-{ELIGIBLE[1]} eligible each time, slates of {SLATE_SIZE}",
        "",
        f"{'policy':<26} {'rev/txn':>8} {'last half':>10} {'% oracle':>9} {'% oracle (E)':>13}"
        f" {'conv/imp':>9} {'secs':>6}",
    ]
    for name, row in report["policies"].items():
        lines.append(
            f"{name:<26} {row['revenue_per_transaction']:>8.3f}"
            f" {row['last_half_revenue_per_transaction']:>10.3f}"
            f" {row['last_half_pct_of_oracle']:>8.1f}% {row['expected_last_half_pct_of_oracle']:>12.1f}%"
            f" {row['conversions_per_impression']:>9.4f} {row['seconds']:>6.1f}"
        )
    lines += [
        "",
        "rev/txn: realised revenue per transaction; % oracle over the last half of the run;",
        "(E): the same from ground-truth expected revenue of the slates shown (no conversion luck).",
        f"{report['seconds']:.1f} s of simulation in all.",
    ]
    return "\n".join(lines)


def plot(report: dict[str, Any], png_path: str) -> None:
    """Write the learning curves (expected revenue per transaction, per block of rounds) as a PNG."""
    import matplotlib  # a dev dependency: imported only when a picture is asked for

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5))
    block = report["curve_block"]
    for name, row in report["policies"].items():
        curve = row["curve"]
        axes.plot([block * (i + 1) for i in range(len(curve))], curve, label=name)
    axes.set_xlabel("transactions")
    axes.set_ylabel(f"expected revenue per transaction (mean of {block:,})")
    axes.set_title(f"afterglow simulate — seed {report['seed']}")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(png_path, dpi=110)
    plt.close(figure)


def main(rounds: int, seed: int, png_path: str | None = None) -> str:
    """`afterglow simulate`: compare the lineup, write the learning-curve PNG, return the table."""
    report = compare(rounds, seed)
    if png_path:
        plot(report, png_path)
    return table(report)
