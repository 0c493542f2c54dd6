"""Off-policy evaluation: what another policy would have earned on the traffic the live one logged.

Pure: decisions and their outcomes in (as `LoggedDecision`s), estimates out.

**What it estimates.** A candidate policy's expected net revenue per decided order (partner payouts
net of reversals, plus own-brand add-to-order revenue, in minor units), had it chosen the slates of
the logged decisions from the same eligible shortlists, under the same slate rule (best first, one
offer per partner, distinct categories first). The slate is evaluated slot by slot (the
*item-position model*): an offer's reward at slot j is assumed to depend on the offer, the slot and
the order, not on the other offers beside it. Each shown offer's reward is reweighted by
π_target(offer at slot j | order) / π_logged(offer at slot j | order), the logging policy's
probability estimated by Monte Carlo over its Thompson draws when it decided (`slot_counts`).

**Estimators**, each with a 95% normal interval over decisions:

- IPS (inverse propensity): the mean of Σ_j w_j r_j — unbiased under the model, noisy;
- SNIPS (self-normalised): per slot, Σ w r / Σ w — a little biased, far less noisy (delta method);
- DR (doubly robust): a reward model's value of the target's slates plus the IPS-weighted residuals
  of the logged ones; the reward model (per offer × slot × purchase category means, shrunk toward
  offer × slot and slot means) is cross-fitted: each fold of decisions is scored by a model fitted
  on the others.

**Limits.** A target can only be evaluated where the logging policy could have done what it does:
an offer the logging policy never drew at a slot (`unsupported_share`) has no logged reward there;
IPS and SNIPS count it as 0, DR as the reward model's guess. Monte Carlo propensities below about
1/draws are rounded up (the decision's own draw counts as one), so a target that favours offers the
live policy rarely shows is underestimated. The target is frozen (e.g. today's learned model), and
when it was learned from the same traffic it is scored on its own training data.
"""

import hashlib
import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast

from afterglow.decisioning import choose_slate

Z_95 = 1.959964
FOLDS = 2
SHRINK_SHOWS = 50.0  # pseudo-shows a reward-model cell borrows from the level above it
PURCHASE_CATEGORY = "purchase_category"

SlotProbabilities = dict[str, list[float]]  # offer id -> probability of being shown at each slot


@dataclass(frozen=True)
class LoggedCandidate:
    """An eligible offer of a logged decision, with what slate rules and target policies need."""

    offer_id: str
    partner_id: str
    category: str
    prior_score: float = 0.0  # relevance × survey boost × expected payout (the catalog prior)
    slot_counts: tuple[int, ...] = ()  # logging policy draws that put it at each slot
    slate_tier: str | None = None  # logged for tiered slates only


@dataclass(frozen=True)
class LoggedDecision:
    """One decision as the evaluator sees it: its order's context, shortlist, slate and outcomes."""

    decision_id: str
    context: Mapping[str, str]
    slots: int  # how many offers the slate could hold (k)
    draws: int  # logging draws behind `slot_counts` (the decision's own included)
    candidates: tuple[LoggedCandidate, ...]
    shown: tuple[str, ...]
    propensities: tuple[float, ...]  # π_logged(shown[j] at slot j)
    rewards: Mapping[str, float] = field(default_factory=dict)  # offer id -> net revenue (minor units)
    layout: str = "ranked"  # the retailer's slate layout when it decided (`choose_slate`)

    def reward(self, slot: int) -> float:
        return float(self.rewards.get(self.shown[slot], 0.0))


class TargetPolicy(Protocol):
    """A candidate policy, as the evaluator needs it: where it would put each candidate."""

    name: str

    def slot_probabilities(self, decision: LoggedDecision) -> SlotProbabilities: ...


# -- Monte Carlo slot probabilities --------------------------------------------------------------


def slot_counts(
    sample: Callable[[int], Sequence[str]], seeds: Iterable[int], slots: int
) -> dict[str, list[int]]:
    """How often each offer lands at each slot over one slate drawn per seed (`sample(seed)`)."""
    counts: dict[str, list[int]] = {}
    for seed in seeds:
        for slot, offer_id in enumerate(sample(seed)[:slots]):
            row = counts.get(offer_id)
            if row is None:
                row = counts[offer_id] = [0] * slots
            row[slot] += 1
    return counts


def draw_seeds(decision_id: str, draws: int, salt: str) -> list[int]:
    """`draws` seeds derived from a decision id: the same decision always gets the same draws."""
    return [
        int.from_bytes(hashlib.sha256(f"{decision_id}#{salt}#{i}".encode()).digest()[:8], "big")
        for i in range(draws)
    ]


def slate_of(
    ranked: Iterable[str], candidates: Mapping[str, LoggedCandidate], limit: int, layout: str = "ranked"
) -> list[str]:
    """The slate the live decision rule makes from a ranking (`afterglow.decisioning.choose_slate`)."""
    offers = [candidates[offer_id] for offer_id in ranked]
    return [offer.offer_id for offer in choose_slate(offers, limit, layout)]


# -- candidate policies -----------------------------------------------------------------------------

Ranker = Callable[[LoggedDecision, int], list[str]]  # (decision, seed) -> candidate ids best first


class RankingTarget:
    """A policy given as a seeded ranking of a decision's candidates; its slot probabilities come from
    `draws` rankings (seeded from the decision id) each cut into a slate as the live rule does.
    `draws=1` for a deterministic ranking."""

    def __init__(self, name: str, rank: Ranker, *, draws: int = 200) -> None:
        self.name = name
        self._rank = rank
        self._draws = draws

    def slot_probabilities(self, decision: LoggedDecision) -> SlotProbabilities:
        by_id = {candidate.offer_id: candidate for candidate in decision.candidates}
        if not by_id or decision.slots <= 0:
            return {}

        def sample(seed: int) -> list[str]:
            return slate_of(self._rank(decision, seed), by_id, decision.slots, decision.layout)

        seeds = draw_seeds(decision.decision_id, self._draws, self.name)
        counts = slot_counts(sample, seeds, decision.slots)
        return {offer_id: [n / self._draws for n in row] for offer_id, row in counts.items()}


class LoggedTarget:
    """The logging policy itself (its logged Monte Carlo counts): IPS of it is the realised value."""

    name = "logged"

    def slot_probabilities(self, decision: LoggedDecision) -> SlotProbabilities:
        draws = max(decision.draws, 1)
        return {
            c.offer_id: [n / draws for n in c.slot_counts] for c in decision.candidates if any(c.slot_counts)
        }


def random_target(draws: int = 200) -> RankingTarget:
    """Uniformly random rankings of the candidates (then the slate rule)."""

    def rank(decision: LoggedDecision, seed: int) -> list[str]:
        ids = [candidate.offer_id for candidate in decision.candidates]
        random.Random(seed).shuffle(ids)  # noqa: S311 - sampling, not secrets
        return ids

    return RankingTarget("random", rank, draws=draws)


def prior_target() -> RankingTarget:
    """The catalog prior (relevance × survey boost × payout), as decide ranks without a model."""

    def rank(decision: LoggedDecision, seed: int) -> list[str]:
        ordered = sorted(decision.candidates, key=lambda c: (-c.prior_score, c.offer_id))
        return [candidate.offer_id for candidate in ordered]

    return RankingTarget("prior", rank, draws=1)


@dataclass
class _Cell:
    shown: float = 0.0
    successes: float = 0.0
    reward_sum: float = 0.0


class CounterThompson:
    """Beta(1, 1) Thompson sampling on P(conversion) per offer (× the order's purchase category
    with `by_category`), times the offer's mean payout — the simple baselines, frozen at the
    learning counters' state (rows as the published model holds them)."""

    def __init__(self, rows: Iterable[Mapping[str, object]], *, by_category: bool) -> None:
        self._by_category = by_category
        self._totals: dict[str, _Cell] = {}
        self._cells: dict[tuple[str, str], _Cell] = {}
        for row in rows:
            arm, feature, value = str(row["arm_id"]), str(row["feature"]), str(row["value"])
            if feature == "*":
                cell = self._totals.setdefault(arm, _Cell())
            elif by_category and feature == PURCHASE_CATEGORY:
                cell = self._cells.setdefault((arm, value), _Cell())
            else:
                continue
            cell.shown += float(cast(float, row["shown"]))
            cell.successes += float(cast(float, row["successes"]))
            cell.reward_sum += float(cast(float, row["reward_sum"]))
        successes = sum(c.successes for c in self._totals.values())
        revenue = sum(c.reward_sum for c in self._totals.values())
        self._platform_payout = revenue / successes if successes else 1.0

    def rank(self, context: Mapping[str, str], offer_ids: Sequence[str], seed: int) -> list[str]:
        """The offers by one Thompson draw of P(conversion) × mean payout, best first."""
        rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
        category = context.get(PURCHASE_CATEGORY, "")
        scored = []
        for position, offer_id in enumerate(offer_ids):
            totals = self._totals.get(offer_id, _Cell())
            cell = self._cells.get((offer_id, category), _Cell()) if self._by_category else totals
            won = min(cell.successes, cell.shown)
            payout = (totals.reward_sum + self._platform_payout) / (totals.successes + 1.0)
            scored.append((rng.betavariate(1.0 + won, 1.0 + cell.shown - won) * payout, -position, offer_id))
        return [offer_id for _, _, offer_id in sorted(scored, reverse=True)]


def counter_thompson_target(
    name: str, rows: Iterable[Mapping[str, object]], *, by_category: bool, draws: int = 200
) -> RankingTarget:
    """`payout-thompson` (per offer) or `category-thompson` (per offer × purchase category)."""
    policy = CounterThompson(rows, by_category=by_category)

    def rank(decision: LoggedDecision, seed: int) -> list[str]:
        return policy.rank(decision.context, [c.offer_id for c in decision.candidates], seed)

    return RankingTarget(name, rank, draws=draws)


# -- estimators -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% confidence interval (minor units per order)."""

    value: float
    low: float
    high: float

    @classmethod
    def of_mean(cls, values: Sequence[float]) -> "Interval":
        """The mean of per-decision values with a normal 95% interval."""
        return cls.around(_mean(values), _stderr(values))

    @classmethod
    def around(cls, value: float, stderr: float) -> "Interval":
        return cls(value, value - Z_95 * stderr, value + Z_95 * stderr)

    def covers(self, truth: float) -> bool:
        return self.low <= truth <= self.high


@dataclass(frozen=True)
class Evaluation:
    """A candidate policy's estimated revenue per order next to the logged policy's realised one."""

    policy: str
    decisions: int  # decisions evaluated
    logged: Interval  # what the logging policy realised on them
    ips: Interval
    snips: Interval
    dr: Interval
    effective_sample_size: float  # of the top slot's importance weights (n when the target = logged)
    unsupported_share: float  # share of the target's slots on offers the logging policy never drew there
    max_weight: float


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else 0.0


def _stderr(values: Sequence[float]) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    mean = _mean(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1) / n)


def _fold(decision_id: str) -> int:
    return hashlib.sha256(decision_id.encode()).digest()[0] % FOLDS


class RewardModel:
    """Expected reward of an offer at a slot in a purchase category: cell means from logged slates,
    shrunk toward the offer × slot mean, itself shrunk toward the slot's mean (`SHRINK_SHOWS`)."""

    def __init__(self, decisions: Iterable[LoggedDecision]) -> None:
        sums: dict[tuple[str, ...], list[float]] = {}
        for decision in decisions:
            category = decision.context.get(PURCHASE_CATEGORY, "")
            for slot, offer_id in enumerate(decision.shown):
                reward = decision.reward(slot)
                for key in ((str(slot),), (str(slot), offer_id), (str(slot), offer_id, category)):
                    acc = sums.setdefault(key, [0.0, 0.0])
                    acc[0] += 1.0
                    acc[1] += reward
        self._sums = sums

    def predict(self, offer_id: str, slot: int, category: str) -> float:
        """Expected reward of `offer_id` at `slot` after a purchase in `category` (minor units)."""
        shown, total = self._sums.get((str(slot),), (0.0, 0.0))
        value = total / shown if shown else 0.0
        for key in ((str(slot), offer_id), (str(slot), offer_id, category)):
            shown, total = self._sums.get(key, (0.0, 0.0))
            value = (total + SHRINK_SHOWS * value) / (shown + SHRINK_SHOWS)
        return value


def evaluate(decisions: Sequence[LoggedDecision], target: TargetPolicy) -> Evaluation:
    """IPS, SNIPS and DR estimates of `target`'s revenue per order over `decisions` (see the module
    docstring), next to the logged policy's realised value."""
    models = [RewardModel(d for d in decisions if _fold(d.decision_id) != fold) for fold in range(FOLDS)]
    n = len(decisions)
    logged, ips, dr = [], [], []
    slot_weights: dict[int, list[tuple[int, float, float]]] = {}  # slot -> (decision, w, r)
    unsupported: list[float] = []
    max_weight = 0.0
    for i, decision in enumerate(decisions):
        probabilities = target.slot_probabilities(decision)
        model = models[_fold(decision.decision_id)]
        category = decision.context.get(PURCHASE_CATEGORY, "")
        direct = math.fsum(
            p * model.predict(offer_id, slot, category)
            for offer_id, row in probabilities.items()
            for slot, p in enumerate(row)
            if p > 0
        )
        realised = weighted = residuals = 0.0
        for slot, offer_id in enumerate(decision.shown):
            reward = decision.reward(slot)
            row = probabilities.get(offer_id)
            weight = (row[slot] if row is not None and slot < len(row) else 0.0) / decision.propensities[slot]
            max_weight = max(max_weight, weight)
            realised += reward
            weighted += weight * reward
            residuals += weight * (reward - model.predict(offer_id, slot, category))
            slot_weights.setdefault(slot, []).append((i, weight, reward))
        logged.append(realised)
        ips.append(weighted)
        dr.append(direct + residuals)
        unsupported.append(_unsupported_share(decision, probabilities))
    top = [w for _, w, _ in slot_weights.get(0, [])]
    ess = math.fsum(top) ** 2 / math.fsum(w * w for w in top) if any(top) else 0.0
    return Evaluation(
        policy=target.name,
        decisions=n,
        logged=Interval.of_mean(logged),
        ips=Interval.of_mean(ips),
        snips=_snips(n, slot_weights),
        dr=Interval.of_mean(dr),
        effective_sample_size=ess,
        unsupported_share=_mean(unsupported),
        max_weight=max_weight,
    )


def _unsupported_share(decision: LoggedDecision, probabilities: SlotProbabilities) -> float:
    """The target's probability mass on (offer, slot) pairs the logging policy never drew, per slot
    it fills."""
    logged = {c.offer_id: c.slot_counts for c in decision.candidates}
    mass = filled = 0.0
    for offer_id, row in probabilities.items():
        counts = logged.get(offer_id, ())
        for slot, p in enumerate(row):
            filled += p
            if slot >= len(counts) or counts[slot] == 0:
                mass += p
    return mass / filled if filled else 0.0


def _snips(n: int, slot_weights: Mapping[int, list[tuple[int, float, float]]]) -> Interval:
    """Per slot Σ w r / Σ w, weighted by the share of decisions that fill the slot; its interval
    from the estimate's influence function per decision (the delta method)."""
    if n == 0:
        return Interval(0.0, 0.0, 0.0)
    value = 0.0
    influence = [0.0] * n
    for entries in slot_weights.values():
        total_weight = math.fsum(w for _, w, _ in entries)
        share = len(entries) / n
        ratio = math.fsum(w * r for _, w, r in entries) / total_weight if total_weight > 0 else 0.0
        value += share * ratio
        mean_weight = total_weight / len(entries) if total_weight > 0 else 1.0
        filled = set()
        for i, w, r in entries:
            influence[i] += w * (r - ratio) / mean_weight + (1.0 - share) * ratio
            filled.add(i)
        for i in range(n):
            if i not in filled:
                influence[i] -= share * ratio
    return Interval.around(value, _stderr(influence))
