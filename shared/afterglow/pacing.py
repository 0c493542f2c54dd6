"""Pacing: a partner's daily budget spread across the (UTC) day instead of spent by breakfast.

The trainer publishes, with each model, every evenly paced partner's spend today as a share of its
daily budget (`spent_shares`). A decision compares it with the share of the day gone by: a partner
on pace, or behind, is served in every decision; one ahead of the clock by more than `SLACK` is
served in only `allowed / spent` of them (spent 60% of the day's budget by 06:00, allowed 30%:
served in half the decisions), so its spend slows until the clock catches up. Which decisions is
drawn from the decision id and the partner: reproducible, and never the same customers all day.

The read-out (`pacing_rows`) shows, per paced partner, what it spent that day by each quarter of
the day against its budget, from the day's money lines.
"""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from afterglow.models import Partner, PartnerBudget

if TYPE_CHECKING:  # the decide function imports this module; reconciliation is the nightly job's
    from afterglow.reconciliation import MoneyLine

SLACK: Final = 0.05  # ahead of the clock by up to 5% of the day's budget is still on pace
DAY_SECONDS: Final = 86_400
QUARTERS: Final = (6, 12, 18, 24)  # hours (UTC) the read-out reports spend by


def day_elapsed(at: datetime) -> float:
    """The share of the UTC day gone by at `at`."""
    moment = at.astimezone(UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return (moment - midnight).total_seconds() / DAY_SECONDS


def spent_shares(
    spend: Mapping[tuple[str, str, str], int], partners: Mapping[str, Partner], day: str
) -> dict[str, float]:
    """Per evenly paced partner with a daily budget and spend on `day`: spend / daily budget."""
    shares = {}
    for partner_id, partner in sorted(partners.items()):
        budget = partner.budget
        if budget is None or budget.daily_minor is None or budget.pacing != "even":
            continue
        spent = spend.get((partner_id, budget.currency, day), 0)
        if spent > 0 and budget.daily_minor > 0:
            shares[partner_id] = round(spent / budget.daily_minor, 6)
    return shares


def serve_share(spent_share: float, elapsed: float) -> float:
    """The share of decisions a partner stays eligible in: 1 on pace, less the further ahead."""
    allowed = min(elapsed + SLACK, 1.0)
    if spent_share <= allowed:
        return 1.0
    return allowed / spent_share


def paced_out(
    shares: Mapping[str, float], budget_day: str | None, now: datetime, decision_id: str
) -> frozenset[str]:
    """The partners this decision leaves out to keep them on pace (none once the day has turned:
    the shares are of `budget_day`'s spend)."""
    if not shares or budget_day != now.astimezone(UTC).date().isoformat():
        return frozenset()
    elapsed = day_elapsed(now)
    return frozenset(
        partner_id
        for partner_id, spent in shares.items()
        if _draw(decision_id, partner_id) >= serve_share(spent, elapsed)
    )


def _draw(decision_id: str, partner_id: str) -> float:
    """Uniform in [0, 1), fixed by the decision and the partner."""
    digest = hashlib.sha256(f"{decision_id}:pace:{partner_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class PartnerPacing:
    """One paced partner's day: its daily budget and what it had spent by each quarter (UTC)."""

    partner_id: str
    currency: str
    pacing: str  # even | asap
    daily_budget_minor: int
    spent_minor: int
    spent_by_hour: dict[int, int]  # hour (6, 12, 18, 24) -> cumulative net payouts recorded by then
    ahead_of_pace: bool  # spend was ahead of the clock by more than SLACK at some quarter

    @property
    def share_of_budget(self) -> float:
        return self.spent_minor / self.daily_budget_minor if self.daily_budget_minor else 0.0


def pacing_rows(lines: Iterable["MoneyLine"], budgets: Mapping[str, PartnerBudget]) -> list[PartnerPacing]:
    """Per partner with a daily budget (`budgets`: partner -> budget) and payouts that day: the
    day's net payouts (conversions minus reversals, by when they were recorded) against it,
    quarter by quarter."""
    by_hour: dict[str, dict[int, int]] = {}
    for line in lines:
        budget = budgets.get(line.partner_id)
        if budget is None or not budget.daily_minor or line.currency != budget.currency:
            continue
        hour = datetime.fromisoformat(line.recorded_at).astimezone(UTC).hour
        signed = line.payout_minor if line.kind == "conversion" else -line.payout_minor
        hours = by_hour.setdefault(line.partner_id, {})
        hours[hour] = hours.get(hour, 0) + signed
    rows = []
    for partner_id, hours in sorted(by_hour.items()):
        budget = budgets[partner_id]
        daily = budget.daily_minor or 0
        cumulative = {
            quarter: sum(amount for hour, amount in hours.items() if hour < quarter) for quarter in QUARTERS
        }
        ahead = any(cumulative[q] > (q / 24 + SLACK) * daily for q in QUARTERS)
        rows.append(
            PartnerPacing(
                partner_id, budget.currency, budget.pacing, daily, cumulative[24], cumulative, ahead
            )
        )
    return rows
