"""`afterglow evaluate`: a candidate policy's revenue per order, estimated on a retailer's own traffic.

Reads the retailer's decision records of a date range (with the propensities and shortlist each
logged, `afterglow.services.decision_log`) and their outcomes — conversions net of reversals and
own-brand add-to-order revenue net of returns, booked per decision × offer as reconciliation books
them — from the ledger, then estimates each candidate policy with `afterglow.evaluation`.
"""

import gzip
import hashlib
import heapq
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from afterglow.catalog import CatalogPayouts
from afterglow.evaluation import (
    Evaluation,
    LoggedCandidate,
    LoggedDecision,
    LoggedTarget,
    RankingTarget,
    TargetPolicy,
    counter_thompson_target,
    evaluate,
    prior_target,
    random_target,
)
from afterglow.feedback import policy_context
from afterglow.learning import CounterRow, from_counters
from afterglow.learning.published import counter_rows, model_rows_of
from afterglow.services.catalog_cache import catalog_cache
from afterglow.store import Stores

POLICIES = ("default", "payout-thompson", "category-thompson", "random", "prior", "logged")
EVALUATED_LOGGING = frozenset({"thompson", "no_candidates"})
MAX_DECISIONS = 10_000  # a deterministic sample (by decision id) beyond this: bounded memory and time
OUTCOME_DAYS = 7  # conversions recorded up to this many days after the last decision day count
REWARDED_KINDS = frozenset({"conversion", "reversal", "accept", "return"})
TARGET_DRAWS = 100  # per decision and candidate policy: ~1 min per 10,000 decisions for `default`


@dataclass(frozen=True)
class EvaluationReport:
    """Every candidate policy's estimates for one retailer and date range."""

    retailer_id: str
    first_day: str
    last_day: str
    outcomes_until: str
    currency: str
    decisions_read: int
    decisions_evaluated: int
    excluded: dict[str, int]  # why decisions were left out: holdout, catalog_prior, no_propensities …
    model_version: int | None
    evaluations: list[Evaluation]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def logged_decision(record: Mapping[str, Any]) -> tuple[LoggedDecision | None, str]:
    """A decision record as the evaluator reads it, or None and why it cannot be evaluated."""
    entry = record.get("evaluation")
    if not isinstance(entry, Mapping):
        return None, "no_propensities"  # recorded before decisions logged them
    kind = str(entry.get("logging"))
    if kind not in EVALUATED_LOGGING:
        return None, kind
    try:
        shown = tuple(str(offer_id) for offer_id in record.get("offer_ids") or ())
        candidates = tuple(
            LoggedCandidate(
                str(o),
                str(p),
                str(c),
                float(s),
                tuple(int(n) for n in counts),
                str(tier[0]) if tier and tier[0] else None,
            )
            for o, p, c, s, counts, *tier in entry.get("candidates") or ()
        )
        decision = LoggedDecision(
            decision_id=str(record["decision_id"]),
            context={str(k): str(v) for k, v in (record.get("context") or {}).items()},
            slots=int(entry.get("k") or 0),
            draws=int(entry.get("draws") or 1),
            candidates=candidates,
            shown=shown,
            propensities=tuple(float(p) for p in entry.get("propensities") or ()),
            layout=str(entry.get("layout") or "ranked"),
        )
    except (KeyError, TypeError, ValueError):
        return None, "malformed"
    if len(decision.propensities) != len(shown) or not all(0 < p <= 1 for p in decision.propensities):
        return None, "malformed"
    return decision, kind


def _reward(kind: str, record: Mapping[str, Any]) -> int:
    """What a ledger record adds to its decision × offer's reward: a payout (a reversal's is
    negative), an add-on's revenue, or minus an add-on's refund."""
    if kind == "accept":
        return int(record.get("own_brand_revenue_minor") or 0)
    if kind == "return":
        return -int(record.get("amount_minor") or 0)
    return int(record.get("payout_minor") or 0)


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _sample_key(decision_id: str) -> int:
    return int.from_bytes(hashlib.sha256(decision_id.encode()).digest()[:8], "big")


def read_logs(
    records_of_day: Callable[[str], Iterable[Mapping[str, Any]]],
    retailer_id: str,
    first: date,
    last: date,
    outcomes_until: date,
    *,
    max_decisions: int = MAX_DECISIONS,
) -> tuple[list[LoggedDecision], Counter[str], str, int]:
    """The retailer's evaluable decisions of [first, last] with their rewards (outcomes recorded
    until `outcomes_until`), why others were left out, their currency and how many were read.
    `records_of_day(day)` yields a day's ledger records (every retailer's: others are skipped)."""
    kept: list[tuple[int, str, LoggedDecision]] = []  # a max-heap by sample key (negated)
    excluded: Counter[str] = Counter()
    rewards: dict[tuple[str, str], dict[str, int]] = {}  # (decision, offer) -> currency -> amount
    currencies: Counter[str] = Counter()
    read = 0
    for day in _days(first, outcomes_until):
        for record in records_of_day(day.isoformat()):
            if record.get("retailer_id") != retailer_id:
                continue
            kind = record.get("kind")
            if kind == "decision" and day <= last:
                read += 1
                currencies[str(record.get("currency"))] += 1
                decision, why = logged_decision(record)
                if decision is None:
                    excluded[why] += 1
                    continue
                entry = (-_sample_key(decision.decision_id), decision.decision_id, decision)
                if len(kept) < max_decisions:
                    heapq.heappush(kept, entry)
                else:
                    excluded["sampled_out"] += 1
                    heapq.heappushpop(kept, entry)
            elif kind in REWARDED_KINDS and record.get("decision_id"):
                amount = _reward(kind, record)
                key = (str(record["decision_id"]), str(record.get("offer_id") or ""))
                by_currency = rewards.setdefault(key, {})
                currency = str(record.get("currency"))
                by_currency[currency] = by_currency.get(currency, 0) + int(amount or 0)
    currency = currencies.most_common(1)[0][0] if currencies else ""
    decisions = []
    for _, _, decision in sorted(kept, key=lambda entry: entry[1]):
        earned = {
            offer_id: float(rewards[(decision.decision_id, offer_id)].get(currency, 0))
            for offer_id in decision.shown
            if (decision.decision_id, offer_id) in rewards
        }
        decisions.append(replace(decision, rewards=earned))
    return decisions, excluded, currency, read


def _model_rows(stores: Stores) -> tuple[list[CounterRow], int | None]:
    """The published learning model's counter rows (none before the first publish)."""
    pointer = stores.learning.model_pointer()
    if pointer is None:
        return [], None
    model = json.loads(gzip.decompress(stores.learning.read_model(str(pointer["object_key"]))))
    return counter_rows(model_rows_of(model)), int(pointer["version"])  # either format


def _default_target(
    rows: list[CounterRow],
    decisions: list[LoggedDecision],
    retailer_id: str,
    offer_payouts: Mapping[str, float] | None,
) -> TargetPolicy:
    """The production policy as the published model and the catalog make it, ranking as decide does."""
    categories = {c.offer_id: c.category for d in decisions for c in d.candidates}
    policy = from_counters(rows, offer_categories=categories, offer_payouts=offer_payouts)

    def rank(decision: LoggedDecision, seed: int) -> list[str]:
        by_prior = sorted(decision.candidates, key=lambda c: (-c.prior_score, c.offer_id))
        ids = [c.offer_id for c in by_prior]  # decide's order: ties break alike
        context = policy_context(dict(decision.context), retailer_id)
        return policy.rank(dict(context), ids, len(ids), seed=seed)

    return RankingTarget("default", rank, draws=TARGET_DRAWS)


def target_policies(
    names: Iterable[str],
    rows: list[CounterRow],
    decisions: list[LoggedDecision],
    retailer_id: str,
    *,
    offer_payouts: Mapping[str, float] | None = None,
) -> list[TargetPolicy]:
    """The named candidate policies, frozen at the learning counters `rows` (the published model);
    `offer_payouts` (the catalog's, `afterglow.catalog.CatalogPayouts`) are the default policy's
    payout priors, as in decide."""
    targets: list[TargetPolicy] = []
    for name in names:
        if name == "default":
            targets.append(_default_target(rows, decisions, retailer_id, offer_payouts))
        elif name in ("payout-thompson", "category-thompson"):
            by_category = name == "category-thompson"
            targets.append(counter_thompson_target(name, rows, by_category=by_category, draws=TARGET_DRAWS))
        elif name == "random":
            targets.append(random_target(TARGET_DRAWS))
        elif name == "prior":
            targets.append(prior_target())
        elif name == "logged":
            targets.append(LoggedTarget())
        else:
            raise ValueError(f"unknown policy {name!r} (one of {', '.join(POLICIES)})")
    return targets


def evaluate_retailer(
    stores: Stores,
    retailer_id: str,
    first: date,
    last: date,
    policies: Iterable[str] = POLICIES,
    *,
    outcome_days: int = OUTCOME_DAYS,
    max_decisions: int = MAX_DECISIONS,
    today: date | None = None,
) -> EvaluationReport:
    """Estimate each named policy's revenue per order on the retailer's decisions of [first, last]."""
    if last < first:
        raise ValueError("--until is before --from")
    names = list(dict.fromkeys(policies))
    for name in names:
        if name not in POLICIES:
            raise ValueError(f"unknown policy {name!r} (one of {', '.join(POLICIES)})")
    outcomes_until = min(last + timedelta(days=outcome_days), today or datetime.now(UTC).date())
    decisions, excluded, currency, read = read_logs(
        stores.ledger.read_day,
        retailer_id,
        first,
        last,
        max(outcomes_until, last),
        max_decisions=max_decisions,
    )
    rows, version = _model_rows(stores) if names else ([], None)
    payouts = CatalogPayouts(catalog_cache.get(stores.catalog)) if "default" in names else None
    targets = target_policies(names, rows, decisions, retailer_id, offer_payouts=payouts)
    return EvaluationReport(
        retailer_id=retailer_id,
        first_day=first.isoformat(),
        last_day=last.isoformat(),
        outcomes_until=max(outcomes_until, last).isoformat(),
        currency=currency,
        decisions_read=read,
        decisions_evaluated=len(decisions),
        excluded=dict(sorted(excluded.items())),
        model_version=version,
        evaluations=[evaluate(decisions, target) for target in targets] if decisions else [],
    )


def report_table(report: EvaluationReport) -> str:
    """The report for people: one line per policy, then what the numbers mean."""
    unit = report.currency or "minor units"

    def money(value: float) -> str:
        return f"{value / 100:,.2f}"

    def interval(estimate: Any) -> str:
        return f"{money(estimate.value):>8} [{money(estimate.low)}, {money(estimate.high)}]"

    lines = [
        f"afterglow evaluate: retailer {report.retailer_id}, decisions {report.first_day} to"
        f" {report.last_day} (outcomes recorded until {report.outcomes_until})",
        f"{report.decisions_evaluated:,} of {report.decisions_read:,} decisions evaluated"
        + (
            " (left out: " + ", ".join(f"{why} {n:,}" for why, n in report.excluded.items()) + ")"
            if report.excluded
            else ""
        )
        + (f"; policies frozen at learning model v{report.model_version}" if report.model_version else ""),
    ]
    if not report.evaluations:
        return "\n".join([*lines, "nothing to evaluate: no decision in this range logged its propensities"])
    logged = report.evaluations[0].logged
    lines += [
        f"logged policy, realised: {interval(logged)} {unit} per order",
        "",
        f"{'policy':<18} {'IPS (95% CI)':>28} {'SNIPS (95% CI)':>28} {'DR (95% CI)':>28}"
        f" {'ESS':>8} {'unsupported':>11}",
    ]
    for e in report.evaluations:
        lines.append(
            f"{e.policy:<18} {interval(e.ips):>28} {interval(e.snips):>28} {interval(e.dr):>28}"
            f" {e.effective_sample_size:>8,.0f} {e.unsupported_share:>11.1%}"
        )
    lines += [
        "",
        f"Estimated net revenue per order ({unit}: partner payouts net of reversals, plus add-to-order",
        "revenue) had the policy chosen these orders' slates from the same shortlists, slot by slot (an",
        "offer's reward at a slot assumed independent of the offers beside it). ESS: effective sample size",
        "of the top slot's weights (small: few orders carry the estimate). unsupported: share of the",
        "policy's slots on offers the live policy never drew there — IPS/SNIPS count them as 0, DR as",
        "its reward model's guess; a high share means the data cannot tell. Switch when the candidate's",
        "interval clears the logged value, not on the point estimate alone.",
    ]
    return "\n".join(lines)
