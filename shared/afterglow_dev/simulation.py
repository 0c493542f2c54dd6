"""`afterglow simulate`: learning policies against a family of simulated worlds (`worlds`).

Every policy meets the same customers, the same eligible offers and the same random draws (common
random numbers): each round the world draws a customer and the offers eligible for them, every
policy ranks a slate of `k`, and slot j of a slate is seen, converts and pays from draws that are
the same for every policy. Only seen offers are reported (as real impressions are), in batches and
late (`worlds`). A policy's score in a world is its share of the oracle: the ground-truth expected
revenue of the slates it showed over the whole run, divided by that of the oracle, which ranks by
true expected value.

World seeds are split: `TUNING_SEEDS` are the worlds the policy was tuned on, `HELD_OUT_SEEDS` the
worlds it is reported on. A policy counts as better only if it wins on worlds it was not tuned on.

In a sparse world one run's share moves by tenths with the policies' own random seeds alone, so
`repeats` runs each world again with other policy seeds (every policy, the same world draws) and
scores each policy by its mean share over the repeats.
"""

import heapq
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from afterglow.learning import HierarchicalThompson, Policy, default_policy
from afterglow_dev.baselines import (
    NonContextualThompson,
    RandomPolicy,
    SegmentedThompson,
    VowpalWabbitPolicy,
    vowpal_wabbit_available,
)
from afterglow_dev.told_priors import ToldPriorsThompson
from afterglow_dev.world_aware import WorldAwareThompson
from afterglow_dev.worlds import CATEGORICAL, World, draw_world

TUNING_SEEDS: tuple[int, ...] = tuple(range(1001, 1025))
HELD_OUT_SEEDS: tuple[int, ...] = tuple(range(1, 21))
SLATE_SIZES = (1, 3)
POLICY = "default_policy()"
ORACLE = "oracle"
VOWPAL_WABBIT = "vowpal wabbit cb_adf"
WITH_CATALOG = "(ref) policy + catalog"
WORLD_AWARE = "(ref) world-aware thompson"
TOLD_PRIORS = "(ref) bayes told the priors"
PolicyFactory = Callable[[World, int], Policy]


def _vowpal_wabbit(world: World, seed: int) -> Policy:
    return VowpalWabbitPolicy(seed=seed)


# name -> factory(world, seed). The policy first; the others are the baselines it must beat.
LINEUP: dict[str, PolicyFactory] = {
    POLICY: lambda world, seed: default_policy(seed),
    "uniform random": lambda world, seed: RandomPolicy(seed=seed),
    "payout-weighted thompson": lambda world, seed: NonContextualThompson(seed=seed),
    "per-category thompson": lambda world, seed: SegmentedThompson(("purchase_category",), seed=seed),
    "per-category×segment thompson": lambda world, seed: SegmentedThompson(
        ("purchase_category", "segment"), seed=seed
    ),
    "per-category thompson, pooled": lambda world, seed: SegmentedThompson(
        ("purchase_category",), seed=seed, pooled_prior=True
    ),
    VOWPAL_WABBIT: _vowpal_wabbit,
    # References, not rivals (never in "beats all"): the production policy as decide builds it, told
    # each offer's catalog category and payout; a Bayesian learner told the payouts and every
    # prior, which learns the effects; and a learner told everything but the base rates.
    WITH_CATALOG: lambda world, seed: HierarchicalThompson(
        world.offer_categories, offer_payouts=world.offer_payouts, seed=seed
    ),
    TOLD_PRIORS: lambda world, seed: ToldPriorsThompson(world, seed=seed),
    WORLD_AWARE: lambda world, seed: WorldAwareThompson(world, seed=seed),
}
REFERENCES = (WITH_CATALOG, TOLD_PRIORS, WORLD_AWARE)


def lineup_names(*, vowpal_wabbit: bool | None = None) -> list[str]:
    """The line-up's policy names; Vowpal Wabbit only when it is installed (or asked not to be)."""
    with_vw = vowpal_wabbit_available() if vowpal_wabbit is None else vowpal_wabbit
    return [name for name in LINEUP if with_vw or name != VOWPAL_WABBIT]


@dataclass
class PolicyRun:
    """One policy in one world at one slate size."""

    expected: float = 0.0  # ground-truth expected revenue of its slates
    impressions: int = 0
    conversions: int = 0
    rank_seconds: float = 0.0
    ranks: int = 0
    curve: list[float] = field(default_factory=list)  # expected revenue per block of rounds


@dataclass
class WorldRun:
    """Every policy's result in one world at one slate size, and the oracle's."""

    seed: int
    k: int
    description: str
    oracle: float
    oracle_curve: list[float]
    policies: dict[str, PolicyRun]
    repeat: int = 0

    def share(self, name: str) -> float:
        """The policy's share of the oracle's expected revenue."""
        return self.policies[name].expected / self.oracle if self.oracle > 0 else 0.0


def policy_seed(seed: int, k: int, repeat: int = 0) -> int:
    """The random seed every policy of world `seed` at slate size `k` gets in repeat `repeat`."""
    return seed * 10 + k + 100_000 * repeat


def run_world(
    seed: int,
    k: int,
    names: Sequence[str],
    *,
    repeat: int = 0,
    rounds: int | None = None,
    max_offers: int | None = None,
    factories: dict[str, PolicyFactory] | None = None,
    curve_points: int = 40,
) -> WorldRun:
    """Drive the named policies through world `seed` in lockstep, slates of `k`; `repeat` changes
    only the policies' own random seeds (`policy_seed`), never the world's draws."""
    world = draw_world(seed, rounds, max_offers)
    knobs = world.knobs
    total = knobs.rounds
    makers = {**LINEUP, **(factories or {})}
    policies = {name: makers[name](world, policy_seed(seed, k, repeat)) for name in names}
    runs = {name: PolicyRun() for name in names}
    pending: dict[str, list[tuple[int, int, dict[str, str | float], str, float]]] = {n: [] for n in names}
    weights = [knobs.position_decay**slot for slot in range(k)]

    draws = np.random.default_rng([seed, 3])
    codes = np.stack(
        [draws.choice(len(world.traffic[f]), size=total, p=world.traffic[f]) for f in CATEGORICAL]
    )
    order_values = np.round(
        world.order_value_median * np.exp(draws.normal(0.0, world.order_value_sigma, size=total)), 2
    )
    sizes = draws.integers(knobs.eligible[0], knobs.eligible[1] + 1, size=total)
    outcome_draws = draws.random((total, k, 4))
    eligibility = np.random.default_rng([seed, 4])
    vocabularies = [world.vocabularies[f] for f in CATEGORICAL]
    block = max(total // curve_points, 1)
    oracle_total, oracle_curve, sequence = 0.0, [], 0
    drift = world.drift_at(0)
    offer_ids = world.offer_ids

    for t in range(total):
        if t % 100 == 0:
            drift = world.drift_at(t)
        if t % block == 0:
            oracle_curve.append(0.0)
            for result in runs.values():
                result.curve.append(0.0)
        keys = eligibility.random(knobs.offers)
        keys[world.arrival_round > t] = 2.0
        size = min(int(sizes[t]), knobs.offers)
        eligible = np.argpartition(keys, size - 1)[:size] if size < knobs.offers else np.arange(size)
        eligible = eligible[keys[eligible] < 2.0]
        if len(eligible) == 0:
            continue
        row = tuple(int(c) for c in codes[:, t])
        z = (
            world.intercept[eligible]
            + drift[eligible]
            + world.value_slope[eligible]
            * ((math.log(order_values[t]) - math.log(world.order_value_median)) / world.order_value_sigma)
            + world.interaction[row[0], row[1], eligible]
        )
        for feature, code in zip(CATEGORICAL, row, strict=True):
            z = z + world.tables[feature][code, eligible]
        probability = 1.0 / (1.0 + np.exp(-z))
        values = probability * world.payouts[eligible]
        best = sorted(values.tolist(), reverse=True)[:k]
        oracle_value = sum(w * v for w, v in zip(weights, best, strict=False))
        oracle_total += oracle_value
        oracle_curve[-1] += oracle_value
        context: dict[str, str | float] = {
            feature: vocabulary[code]
            for feature, vocabulary, code in zip(CATEGORICAL, vocabularies, row, strict=True)
        }
        context["order_value"] = float(order_values[t])
        ids = [offer_ids[i] for i in eligible.tolist()]
        local = {offer: j for j, offer in enumerate(ids)}
        value_list, probability_list = values.tolist(), probability.tolist()
        for name, policy in policies.items():
            queue = pending[name]
            while queue and queue[0][0] <= t:
                _, _, seen_context, arm, reward = heapq.heappop(queue)
                policy.update(seen_context, arm, reward)
            result = runs[name]
            started = time.perf_counter()
            slate = policy.rank(dict(context), list(ids), k)[:k]
            result.rank_seconds += time.perf_counter() - started
            result.ranks += 1
            expected = 0.0
            for slot, arm in enumerate(slate):
                j = local[arm]
                expected += weights[slot] * value_list[j]
                seen, convert, noise, delay = outcome_draws[t, slot]
                if seen >= weights[slot]:
                    continue  # never seen: no impression, nothing to learn from
                reward, arrives = 0.0, t + 1.0
                if convert < probability_list[j]:
                    offer = int(eligible[j])
                    sigma = float(world.payout_sigma[offer])
                    gauss = _standard_normal(float(noise))
                    reward = round(
                        float(world.payouts[offer]) * math.exp(sigma * gauss - sigma * sigma / 2), 2
                    )
                    arrives -= knobs.conversion_delay * math.log(1.0 - float(delay))
                    result.conversions += 1
                result.impressions += 1
                lag = knobs.batch_lag
                deliver = math.ceil(arrives / lag) * lag if lag else math.ceil(arrives)
                sequence += 1
                heapq.heappush(queue, (deliver, sequence, context, arm, reward))
            result.expected += expected
            result.curve[-1] += expected
    return WorldRun(seed, k, knobs.describe(), oracle_total, oracle_curve, runs, repeat)


def _standard_normal(u: float) -> float:
    """A standard normal quantile (Acklam's approximation is plenty for payout noise)."""
    u = min(max(u, 1e-12), 1.0 - 1e-12)
    return math.sqrt(2.0) * _erfinv(2.0 * u - 1.0)


def _erfinv(x: float) -> float:
    # Giles' single-precision approximation: accurate to ~1e-7, enough for a simulation's noise.
    w = -math.log((1.0 - x) * (1.0 + x))
    if w < 5.0:
        w -= 2.5
        p = 2.81022636e-08
        for c in (
            3.43273939e-07,
            -3.5233877e-06,
            -4.39150654e-06,
            0.00021858087,
            -0.00125372503,
            -0.00417768164,
            0.246640727,
            1.50140941,
        ):
            p = c + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        for c in (
            0.000100950558,
            0.00134934322,
            -0.00367342844,
            0.00573950773,
            -0.0076224613,
            0.00943887047,
            1.00167406,
            2.83297682,
        ):
            p = c + p * w
    return p * x


def _task(arguments: tuple[int, int, int, tuple[str, ...], int | None, int | None]) -> WorldRun:
    seed, k, repeat, names, rounds, max_offers = arguments
    return run_world(seed, k, names, repeat=repeat, rounds=rounds, max_offers=max_offers)


def compare(
    seeds: Iterable[int],
    *,
    names: Sequence[str] | None = None,
    slate_sizes: Sequence[int] = SLATE_SIZES,
    rounds: int | None = None,
    max_offers: int | None = None,
    jobs: int = 1,
    repeats: int = 1,
) -> list[WorldRun]:
    """Every (world, slate size, repeat) run, in seed order; `jobs` > 1 runs them in parallel
    processes."""
    chosen = tuple(names or lineup_names())
    tasks = [
        (seed, k, repeat, chosen, rounds, max_offers)
        for seed in seeds
        for k in slate_sizes
        for repeat in range(repeats)
    ]
    if jobs <= 1:
        return [_task(task) for task in tasks]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(_task, tasks))


def world_shares(runs: list[WorldRun]) -> dict[tuple[int, int], dict[str, float]]:
    """Per (world seed, k), in the runs' order: each policy's share of the oracle, the mean over
    that world's repeats."""
    grouped: dict[tuple[int, int], list[WorldRun]] = {}
    for run in runs:
        grouped.setdefault((run.seed, run.k), []).append(run)
    return {
        key: {name: statistics.fmean(run.share(name) for run in repeats) for name in repeats[0].policies}
        for key, repeats in grouped.items()
    }


def summary(runs: list[WorldRun], policy: str = POLICY) -> dict[int, dict[str, dict[str, float]]]:
    """Per slate size and policy: min, median and mean over worlds of the share of the oracle (a
    world's share: its mean over repeats), mean rank time (µs), and for `policy` the share of worlds
    where it beats every other policy (`beats_all`)."""
    result: dict[int, dict[str, dict[str, float]]] = {}
    per_world = world_shares(runs)
    for k in sorted({run.k for run in runs}):
        at_k = [run for run in runs if run.k == k]
        worlds = [shares for (_, size), shares in per_world.items() if size == k]
        names = list(at_k[0].policies)
        table: dict[str, dict[str, float]] = {}
        for name in names:
            shares = [world[name] for world in worlds]
            seconds = sum(run.policies[name].rank_seconds for run in at_k)
            ranks = sum(run.policies[name].ranks for run in at_k)
            table[name] = {
                "min": min(shares),
                "median": statistics.median(shares),
                "mean": statistics.fmean(shares),
                "rank_us": 1e6 * seconds / ranks if ranks else 0.0,
            }
        if policy in names:
            rivals = [name for name in names if name != policy and name not in REFERENCES]
            wins = [all(world[policy] > world[other] for other in rivals) for world in worlds]
            table[policy]["beats_all"] = sum(wins) / len(wins)
        result[k] = table
    return result


def table(runs: list[WorldRun], *, title: str = "", policy: str = POLICY) -> str:
    """The comparison as plain text: per policy, min / median share of the oracle at each k."""
    stats = summary(runs, policy)
    sizes = sorted(stats)
    names = list(stats[sizes[0]])
    worlds = sorted({run.seed for run in runs})
    repeats = len({run.repeat for run in runs})
    header = (
        f"{'policy':<30}"
        + "".join(f" {f'k={k} min':>9} {'median':>7} {'beats all':>9}" for k in sizes)
        + f" {'rank µs':>8}"
    )
    lines = [
        title or f"afterglow simulate: {len(worlds)} worlds (seeds {_ranges(worlds)})",
        "share of the oracle's expected revenue over the whole run; 'beats all': share of worlds",
        f"where {policy} beats every other policy listed but the (ref) rows; rank µs: mean time of one",
        "rank call in the run (10-60 candidates, with the learning done between calls)",
        "(ref) rows are references, not rivals: 'policy + catalog' is the same policy told each",
        "offer's category and payout, as decide tells it from the catalog; 'bayes told the priors' is",
        "told every payout and the distributions every effect was drawn from, and learns the effects",
        "(approximate Bayes): about what is learnable in a world's run; 'world-aware thompson' is told",
        "the effects too and learns only each offer's base rate: what knowing them is worth",
        *(
            [f"each world run {repeats} times with other policy seeds: a world's share is their mean"]
            if repeats > 1
            else []
        ),
        "",
        header,
    ]
    for name in names:
        line = f"{name:<30}"
        for k in sizes:
            row = stats[k][name]
            wins = f"{row['beats_all']:.0%}" if "beats_all" in row else "—"
            line += f" {row['min']:>9.3f} {row['median']:>7.3f} {wins:>9}"
        line += f" {statistics.fmean(stats[k][name]['rank_us'] for k in sizes):>8.0f}"
        lines.append(line)
    if VOWPAL_WABBIT not in names:
        lines += ["", f"({VOWPAL_WABBIT} skipped: the optional `vowpalwabbit` package is not installed)"]
    return "\n".join(lines)


def world_lines(runs: list[WorldRun], policy: str = POLICY) -> str:
    """Per world and k: the knobs drawn, the policy's share and the best other policy's."""
    lines = []
    descriptions = {(run.seed, run.k): run.description for run in runs}
    for (seed, k), shares in world_shares(runs).items():
        others = {name: share for name, share in shares.items() if name != policy and name not in REFERENCES}
        rival = max(others, key=others.__getitem__)
        lines.append(
            f"k={k} {descriptions[seed, k]}: {policy} {shares[policy]:.3f},"
            f" best other {rival} {others[rival]:.3f}"
        )
    return "\n".join(lines)


def _ranges(numbers: list[int]) -> str:
    parts: list[str] = []
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        parts.append(f"{start}-{previous}" if previous != start else f"{start}")
        if number is not None:
            start = previous = number
    return ", ".join(parts)


def rank_timing(candidates: int = 40, offers: int = 200, rounds: int = 20_000, seed: int = 7) -> float:
    """Microseconds `default_policy().rank` takes for `candidates` offers, after it has learned
    from `rounds` transactions of a simulated world with `offers` offers (median of 2,000 calls)."""
    world = draw_world(seed, rounds=rounds, max_offers=offers)
    policy = default_policy(seed)
    rng = np.random.default_rng([seed, 9])
    contexts = []
    for _ in range(rounds):
        context: dict[str, str | float] = {
            f: world.vocabularies[f][int(rng.choice(len(world.traffic[f]), p=world.traffic[f]))]
            for f in CATEGORICAL
        }
        context["order_value"] = float(np.round(world.order_value_median * math.exp(rng.normal()), 2))
        contexts.append(context)
        arm = world.offer_ids[int(rng.integers(0, len(world.offer_ids)))]
        policy.update(context, arm, 10.0 if rng.random() < 0.02 else 0.0)
    timings = []
    for number in range(2_000):
        arms = [world.offer_ids[int(i)] for i in rng.choice(len(world.offer_ids), candidates, replace=False)]
        started = time.perf_counter()
        policy.rank(contexts[number], arms, 3)
        timings.append(time.perf_counter() - started)
    return 1e6 * statistics.median(timings)


def plot(runs: list[WorldRun], png_path: str, policy: str = POLICY) -> None:
    """Learning curves: per k, the share of the oracle per block of rounds, median over worlds (of
    the mean over a world's repeats)."""
    import matplotlib  # a dev dependency: imported only when a picture is asked for

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({run.k for run in runs})
    figure, axes = plt.subplots(1, len(sizes), figsize=(6 * len(sizes), 4.5), squeeze=False)
    for axis, k in zip(axes[0], sizes, strict=True):
        at_k = [run for run in runs if run.k == k]
        seeds = list(dict.fromkeys(run.seed for run in at_k))
        for name in at_k[0].policies:
            points = min(len(run.oracle_curve) for run in at_k)
            curve = [
                statistics.median(
                    statistics.fmean(
                        run.policies[name].curve[i] / run.oracle_curve[i] if run.oracle_curve[i] else 0.0
                        for run in at_k
                        if run.seed == seed
                    )
                    for seed in seeds
                )
                for i in range(points)
            ]
            axis.plot(
                [(i + 1) / points for i in range(points)],
                curve,
                label=name,
                linewidth=2 if name == policy else 1,
            )
        axis.set_xlabel("share of the run")
        axis.set_ylabel("share of the oracle (median over worlds)")
        axis.set_title(f"k={k}, {len(seeds)} worlds")
        axis.set_ylim(0, 1)
        axis.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    Path(png_path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png_path, dpi=110)
    plt.close(figure)


def main(
    *,
    seeds: Sequence[int] = HELD_OUT_SEEDS,
    quick: bool = False,
    png_path: str | None = None,
    jobs: int = 1,
    details: bool = False,
    repeats: int = 1,
) -> str:
    """`afterglow simulate`: the line-up over the worlds of `seeds` at k=1 and k=3, as a table
    (quick: the first two worlds, shrunk to 1,000 transactions and at most 80 offers); `repeats`
    runs each world that many times with other policy seeds and reports the mean share."""
    started = time.perf_counter()
    rounds, max_offers = (1_000, 80) if quick else (None, None)
    chosen = list(seeds[:2] if quick else seeds)
    split = "chosen"
    if set(chosen) <= set(HELD_OUT_SEEDS):
        split = "held-out"
    elif set(chosen) <= set(TUNING_SEEDS):
        split = "tuning"
    runs = compare(chosen, rounds=rounds, max_offers=max_offers, jobs=jobs, repeats=repeats)
    title = f"afterglow simulate: {len(chosen)} {split} worlds (seeds {_ranges(sorted(chosen))})"
    text = table(runs, title=title + (", quick: shrunk worlds" if quick else ""))
    if details:
        text += "\n\n" + world_lines(runs)
    if not quick:
        text += f"\n\nrank: {rank_timing():.0f} µs for 40 candidates (median, 200-offer world, warm policy)"
    if png_path:
        plot(runs, png_path)
        text += f"\nlearning curves: {png_path}"
    return text + f"\n{time.perf_counter() - started:.0f} s in all"
