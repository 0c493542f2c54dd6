"""Experiment read-out per retailer × arm. Pure; constant memory per arm.

Definitions (per retailer, arm and currency of revenue):

- transactions: decisions of the arm (holdout included: it is the baseline);
- offer revenue of a transaction: partner payouts net of reversals plus own-brand add-to-order
  revenue net of its returns, each booked on the day it was recorded (a decision that earns on two
  days counts as a transaction-with-revenue on each: the read-out is by reconciliation day; a
  return, like a reversal, lowers the revenue of the day it is recorded, not of its accept's day,
  so a day's figures never change once the day is over);
- revenue per transaction = offer revenue / transactions (the holdout's is zero by construction,
  so a non-zero one means leakage);
- engagement rate = engagements / impressions; click-through rate = clicks / impressions;
  take rate = transactions with ≥ 1 add-to-order or conversion that day / transactions;
  conversion rate = conversions / clicks;
- lift of an arm over the holdout = difference in mean revenue per transaction, with a 95%
  confidence interval by the normal approximation (z = 1.96) and Welch's unpooled standard error
  sqrt(s²ₐ/nₐ + s²ₕ/nₕ); each s² comes from the count, sum and sum of squares of per-transaction
  revenue (transactions without revenue contribute zeros). Arms with fewer than 30 transactions
  are flagged `small_sample`: the normal approximation is then optimistic;
- order-value lift = the same for the order's own value (the baskets, decided before any offer
  shows: it checks that the arms are comparable);
- sessions = confirmation page views (`page_view` events; a reload is a second session of the
  same decision); revenue per session = offer revenue / sessions;
- satisfaction, per scale the retailer asked on (`nps` 0–10, `csat` 1–5; a retailer that switched
  has both): answers, mean score with a 95% CI (mean ± z·s/√n), for NPS the NPS itself
  (%promoters − %detractors, i.e. 100 × the mean of +1/0/−1 per answer) with its CI, and the
  difference from the holdout's mean score by the same Welch interval as the revenue lift; an arm
  whose interval lies wholly below zero is flagged `below_holdout`. The holdout answers after a
  page without offers: its satisfaction is the baseline.

The read-out is built from *sufficient statistics* (`metrics`: counts, sums, sums of squares keyed
by retailer × arm × metric × currency) that add up across days, so a month's read-out is the sum
of its days' `experiment.csv` files, never a re-read of the ledger.
"""

import csv
import io
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any

from afterglow.reconciliation import NO_PARTNER, Aggregate, AggregateKey, DayAggregation
from afterglow.satisfaction import SCALES

HOLDOUT = "holdout"
Z_95 = 1.959963984540054
SMALL_SAMPLE = 30

MetricKey = tuple[str, str, str, str]  # retailer, arm, metric, currency ("-" for counts)
METRIC_COLUMNS = ["retailer_id", "arm", "metric", "currency", "value"]
_ARM_COUNTS = {
    "decisions": "transactions",
    "impressions": "impressions",
    "engagements": "engagements",
    "dismissals": "dismissals",
    "clicks": "clicks",
    "conversions": "conversions",
    "reversals": "reversals",
    "accepts": "accepts",
    "returns": "returns",
}


def metrics(day: DayAggregation) -> dict[MetricKey, int]:
    """The day's sufficient statistics for the read-out (see the module docstring)."""
    found: dict[MetricKey, int] = {}

    def add(key: MetricKey, value: int) -> None:
        found[key] = found.get(key, 0) + value

    for (retailer, _, _, arm, _), cell in day.cells.items():
        if _in_experiment(retailer, arm):
            for counter, metric in _ARM_COUNTS.items():
                add((retailer, arm, metric, NO_PARTNER), getattr(cell, counter))
    for (retailer, arm), decision_ids in day.taken.items():
        if _in_experiment(retailer, arm):
            add((retailer, arm, "taken", NO_PARTNER), len(decision_ids))
    for (retailer, arm, currency), revenue in day.offer_revenue.items():
        if _in_experiment(retailer, arm):
            add((retailer, arm, "revenue_minor", currency), sum(revenue.values()))
            add((retailer, arm, "revenue_sq", currency), sum(value * value for value in revenue.values()))
    for (retailer, arm, currency), orders in day.order_values.items():
        if not _in_experiment(retailer, arm):
            continue
        add((retailer, arm, "order_count", currency), orders.count)
        add((retailer, arm, "order_value_minor", currency), orders.total)
        add((retailer, arm, "order_value_sq", currency), orders.total_sq)
    for (retailer, arm, scale), answers in day.satisfaction.items():
        if _in_experiment(retailer, arm):
            add((retailer, arm, f"{scale}_count", NO_PARTNER), answers.count)
            add((retailer, arm, f"{scale}_sum", NO_PARTNER), answers.total)
            add((retailer, arm, f"{scale}_sq", NO_PARTNER), answers.total_sq)
            if scale == "nps":
                add((retailer, arm, "nps_promoters", NO_PARTNER), answers.promoters)
                add((retailer, arm, "nps_detractors", NO_PARTNER), answers.detractors)
    for (retailer, arm), sessions in day.sessions.items():
        if _in_experiment(retailer, arm):
            add((retailer, arm, "sessions", NO_PARTNER), sessions)
    return found


def _in_experiment(retailer: str, arm: str) -> bool:
    # Records without an arm (a refused conversion — of a click nobody made, or refused before it
    # counted — has no arm, and maybe no retailer) are no transaction of any arm: they are counted
    # with the rejections and discrepancies, never as an arm "-" of the read-out.
    return arm != NO_PARTNER and retailer != NO_PARTNER


def add_metrics(into: dict[MetricKey, int], other: Mapping[MetricKey, int]) -> dict[MetricKey, int]:
    """Sum two sets of sufficient statistics (two days, two shards); returns `into`."""
    for key, value in other.items():
        into[key] = into.get(key, 0) + value
    return into


def metrics_csv(found: Mapping[MetricKey, int]) -> bytes:
    """Sufficient statistics as a long CSV (one number per row), zero rows left out."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(METRIC_COLUMNS)
    writer.writerows([*key, found[key]] for key in sorted(found) if found[key])
    return buffer.getvalue().encode()


def parse_metrics_csv(body: bytes) -> dict[MetricKey, int]:
    """The statistics a `metrics_csv` wrote."""
    reader = csv.DictReader(io.StringIO(body.decode()))
    return {
        (row["retailer_id"], row["arm"], row["metric"], row["currency"]): int(row["value"]) for row in reader
    }


@dataclass(frozen=True)
class Lift:
    """Arm minus holdout of a per-transaction mean (minor units), with a 95% CI: offer revenue
    (`lift`) or the order's own value (`order_value_lift`)."""

    difference: float
    ci_low: float
    ci_high: float
    relative: float | None  # difference / holdout mean; None when the holdout mean is zero
    welch_df: float | None


@dataclass(frozen=True)
class SatisfactionReadout:
    """One arm's answers on one scale (see the module docstring). Scores are on the scale (mean
    score 0–10 or 1–5); `nps` and its interval are in points (−100..100), NPS only."""

    scale: str
    responses: int
    mean_score: float | None
    mean_ci_low: float | None
    mean_ci_high: float | None
    nps: float | None
    nps_ci_low: float | None
    nps_ci_high: float | None
    promoters: int
    detractors: int
    vs_holdout: Lift | None  # arm − holdout mean score, Welch's 95% CI
    nps_vs_holdout: Lift | None  # arm − holdout NPS, points
    below_holdout: bool  # vs_holdout's interval lies wholly below zero
    small_sample: bool  # fewer than 30 answers: the normal approximation is optimistic


@dataclass(frozen=True)
class ArmReadout:
    retailer_id: str
    arm: str
    currency: str
    transactions: int
    impressions: int
    engagements: int
    clicks: int
    conversions: int
    reversals: int
    accepts: int
    taken: int
    revenue_minor: int
    revenue_per_transaction: float | None
    revenue_sd: float | None
    order_value_per_transaction: float | None
    engagement_rate: float | None
    click_through_rate: float | None
    take_rate: float | None
    conversion_rate: float | None
    small_sample: bool
    lift: Lift | None
    order_value_lift: Lift | None = None
    sessions: int = 0
    revenue_per_session: float | None = None
    satisfaction: tuple[SatisfactionReadout, ...] = ()
    returns: int = 0  # own-brand add-on returns recorded that day (their money is out of revenue)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def sample_variance(count: int, total: int, total_sq: int) -> float | None:
    """Unbiased variance from count, sum and sum of squares, exact in integers until the division."""
    if count < 2:
        return None
    return (count * total_sq - total * total) / (count * (count - 1))


def welch_lift(arm: tuple[int, int, int], holdout: tuple[int, int, int], z: float = Z_95) -> Lift | None:
    """Lift of `arm` over `holdout`, each given as (n, Σx, Σx²); None when either has n < 2."""
    (n_a, s_a, q_a), (n_h, s_h, q_h) = arm, holdout
    var_a, var_h = sample_variance(n_a, s_a, q_a), sample_variance(n_h, s_h, q_h)
    if var_a is None or var_h is None:
        return None
    mean_a, mean_h = s_a / n_a, s_h / n_h
    difference = mean_a - mean_h
    part_a, part_h = var_a / n_a, var_h / n_h
    se = math.sqrt(part_a + part_h)
    denominator = (part_a * part_a) / (n_a - 1) + (part_h * part_h) / (n_h - 1)
    return Lift(
        difference=round(difference, 6),
        ci_low=round(difference - z * se, 6),
        ci_high=round(difference + z * se, 6),
        relative=round(difference / mean_h, 6) if mean_h else None,
        welch_df=round((part_a + part_h) ** 2 / denominator, 3) if denominator else None,
    )


def mean_interval(count: int, total: int, total_sq: int, z: float = Z_95) -> tuple[float, float] | None:
    """The 95% interval of a mean, mean ± z·s/√n, from (n, Σx, Σx²); None when n < 2."""
    variance = sample_variance(count, total, total_sq)
    if variance is None:
        return None
    mean, half = total / count, z * math.sqrt(variance / count)
    return round(mean - half, 6), round(mean + half, 6)


def _points(lift: Lift | None) -> Lift | None:
    """A lift of the mean +1/0/−1 vote in NPS points (× 100)."""
    if lift is None:
        return None
    return replace(
        lift,
        difference=round(lift.difference * 100, 4),
        ci_low=round(lift.ci_low * 100, 4),
        ci_high=round(lift.ci_high * 100, 4),
    )


def satisfaction_readouts(
    value: Callable[[str, str], int], arm: str, *, has_holdout: bool
) -> tuple[SatisfactionReadout, ...]:
    """An arm's satisfaction per scale answered; `value(arm, metric)` reads a statistic."""
    found = []
    for scale in sorted(SCALES):
        n = value(arm, f"{scale}_count")
        if not n:
            continue
        moments = (n, value(arm, f"{scale}_sum"), value(arm, f"{scale}_sq"))
        promoters, detractors = value(arm, "nps_promoters"), value(arm, "nps_detractors")
        votes = (n, promoters - detractors, promoters + detractors)  # Σv and Σv² of +1/0/−1
        is_nps = scale == "nps"
        mean_ci, nps_ci = mean_interval(*moments), mean_interval(*votes) if is_nps else None
        vs_holdout = nps_vs_holdout = None
        holdout_n = value(HOLDOUT, f"{scale}_count")
        if arm != HOLDOUT and has_holdout and holdout_n:
            holdout = (holdout_n, value(HOLDOUT, f"{scale}_sum"), value(HOLDOUT, f"{scale}_sq"))
            vs_holdout = welch_lift(moments, holdout)
            if is_nps:
                held = (value(HOLDOUT, "nps_promoters"), value(HOLDOUT, "nps_detractors"))
                nps_vs_holdout = _points(welch_lift(votes, (holdout_n, held[0] - held[1], held[0] + held[1])))
        found.append(
            SatisfactionReadout(
                scale=scale,
                responses=n,
                mean_score=round(moments[1] / n, 6),
                mean_ci_low=mean_ci[0] if mean_ci else None,
                mean_ci_high=mean_ci[1] if mean_ci else None,
                nps=round(100 * votes[1] / n, 4) if is_nps else None,
                nps_ci_low=round(100 * nps_ci[0], 4) if nps_ci else None,
                nps_ci_high=round(100 * nps_ci[1], 4) if nps_ci else None,
                promoters=promoters if is_nps else 0,
                detractors=detractors if is_nps else 0,
                vs_holdout=vs_holdout,
                nps_vs_holdout=nps_vs_holdout,
                below_holdout=vs_holdout is not None and vs_holdout.ci_high < 0,
                small_sample=n < SMALL_SAMPLE,
            )
        )
    return tuple(found)


def readout(found: Mapping[MetricKey, int]) -> list[ArmReadout]:
    """Per retailer × arm × currency: rates, revenue per transaction and lift over the holdout."""
    arms: dict[str, set[str]] = {}
    currencies: dict[str, set[str]] = {}
    for retailer, arm, _, currency in found:
        arms.setdefault(retailer, set()).add(arm)
        if currency != NO_PARTNER:
            currencies.setdefault(retailer, set()).add(currency)

    def value(retailer: str, arm: str, metric: str, currency: str = NO_PARTNER) -> int:
        return found.get((retailer, arm, metric, currency), 0)

    def revenue_moments(retailer: str, arm: str, currency: str) -> tuple[int, int, int]:
        """(transactions, Σ offer revenue, Σ its squares) per transaction."""
        return (
            value(retailer, arm, "transactions"),
            value(retailer, arm, "revenue_minor", currency),
            value(retailer, arm, "revenue_sq", currency),
        )

    def order_moments(retailer: str, arm: str, currency: str) -> tuple[int, int, int]:
        """(orders, Σ order value, Σ its squares)."""
        return (
            value(retailer, arm, "order_count", currency),
            value(retailer, arm, "order_value_minor", currency),
            value(retailer, arm, "order_value_sq", currency),
        )

    rows = []
    for retailer in sorted(arms):
        for currency in sorted(currencies.get(retailer) or {NO_PARTNER}):
            holdout = revenue_moments(retailer, HOLDOUT, currency)
            holdout_orders = order_moments(retailer, HOLDOUT, currency)
            for arm in sorted(arms[retailer]):
                arm_revenue, arm_orders = (
                    revenue_moments(retailer, arm, currency),
                    order_moments(retailer, arm, currency),
                )
                n, revenue, _ = arm_revenue
                orders, order_value, _ = arm_orders
                variance = sample_variance(*arm_revenue)
                impressions, clicks = value(retailer, arm, "impressions"), value(retailer, arm, "clicks")
                lift = order_value_lift = None
                if arm != HOLDOUT and HOLDOUT in arms[retailer]:
                    lift = welch_lift(arm_revenue, holdout)
                    order_value_lift = welch_lift(arm_orders, holdout_orders)
                rows.append(
                    ArmReadout(
                        retailer_id=retailer,
                        arm=arm,
                        currency=currency,
                        transactions=n,
                        impressions=impressions,
                        engagements=value(retailer, arm, "engagements"),
                        clicks=clicks,
                        conversions=value(retailer, arm, "conversions"),
                        reversals=value(retailer, arm, "reversals"),
                        accepts=value(retailer, arm, "accepts"),
                        taken=value(retailer, arm, "taken"),
                        revenue_minor=revenue,
                        revenue_per_transaction=_ratio(revenue, n),
                        revenue_sd=round(math.sqrt(variance), 6) if variance is not None else None,
                        order_value_per_transaction=_ratio(order_value, orders),
                        engagement_rate=_ratio(value(retailer, arm, "engagements"), impressions),
                        click_through_rate=_ratio(clicks, impressions),
                        take_rate=_ratio(value(retailer, arm, "taken"), n),
                        conversion_rate=_ratio(value(retailer, arm, "conversions"), clicks),
                        small_sample=n < SMALL_SAMPLE,
                        lift=lift,
                        order_value_lift=order_value_lift,
                        sessions=value(retailer, arm, "sessions"),
                        revenue_per_session=_ratio(revenue, value(retailer, arm, "sessions")),
                        satisfaction=satisfaction_readouts(
                            partial(value, retailer), arm, has_holdout=HOLDOUT in arms[retailer]
                        ),
                        returns=value(retailer, arm, "returns"),
                    )
                )
    return rows


# --- revenue by source, per arm ------------------------------------------------------------------


@dataclass(frozen=True)
class ArmRevenue:
    """One arm's revenue by where it comes from, kept apart: partner payouts (net of reversals)
    and the retailer's own-brand add-to-order revenue (net of returns)."""

    retailer_id: str
    arm: str
    currency: str
    transactions: int
    partner_minor: int
    own_brand_minor: int

    def per_transaction(self, minor: int) -> float:
        return minor / self.transactions if self.transactions else 0.0


def revenue_by_source(cells: Iterable[tuple[AggregateKey, Aggregate]]) -> list[ArmRevenue]:
    """Per retailer × arm × currency of money: transactions, partner and own-brand revenue. Arms
    without money that day have no row (nothing to split)."""
    transactions: dict[tuple[str, str], int] = {}
    money: dict[tuple[str, str, str], list[int]] = {}
    for (retailer, _, _, arm, currency), cell in cells:
        if not _in_experiment(retailer, arm):
            continue
        transactions[(retailer, arm)] = transactions.get((retailer, arm), 0) + cell.decisions
        own_brand = cell.own_brand_net_minor
        if currency == NO_PARTNER or not (cell.net_minor or own_brand):
            continue
        earned = money.setdefault((retailer, arm, currency), [0, 0])
        earned[0] += cell.net_minor
        earned[1] += own_brand
    return [
        ArmRevenue(retailer, arm, currency, transactions.get((retailer, arm), 0), *money[key])
        for key in sorted(money)
        for retailer, arm, currency in [key]
    ]


def as_rows(items: Iterable[Any]) -> list[dict[str, Any]]:
    """Dataclasses as JSON-ready dicts."""
    return [asdict(item) for item in items]
