"""Pacing: a partner's daily budget spread across the day — who sits out a decision, and the read-out."""

from datetime import UTC, datetime

import pytest

from afterglow.models import Partner, PartnerBudget
from afterglow.pacing import SLACK, day_elapsed, paced_out, pacing_rows, serve_share, spent_shares
from afterglow.reconciliation import MoneyLine

DAY = "2026-11-27"
SIX_AM = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def _partner(partner_id: str, **budget: object) -> Partner:
    return Partner(
        partner_id=partner_id,
        name=partner_id,
        default_attribution_window_days=30,
        default_lock_days=30,
        budget=PartnerBudget(currency="EUR", **budget) if budget else None,  # type: ignore[arg-type]
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_the_share_of_the_day_gone_by_is_read_in_utc():
    assert day_elapsed(SIX_AM) == 0.25
    assert day_elapsed(datetime.fromisoformat("2026-11-27T08:00:00+02:00")) == 0.25


def test_a_partner_on_pace_is_served_in_every_decision_and_one_ahead_in_fewer():
    assert serve_share(0.20, 0.25) == 1.0  # behind the clock
    assert serve_share(0.25 + SLACK, 0.25) == 1.0  # ahead, but within the slack
    assert serve_share(0.60, 0.25) == pytest.approx(0.5)  # 60% spent by 06:00: half the decisions
    assert serve_share(0.90, 0.99) == 1.0  # the last hour may spend the rest


def test_which_decisions_a_partner_ahead_of_pace_sits_out_is_reproducible_and_about_its_share():
    # Given a partner that spent 60% of its daily budget by 06:00, and one on pace
    shares = {"ahead": 0.60, "on_pace": 0.10}
    # When 4,000 decisions are made at 06:00
    left_out = [paced_out(shares, DAY, SIX_AM, f"dec_{n}") for n in range(4_000)]
    # Then the one ahead sits out about half of them, the other none
    share_out = sum("ahead" in out for out in left_out) / len(left_out)
    assert 0.46 < share_out < 0.54
    assert not any("on_pace" in out for out in left_out)
    # And a decision's verdict is the same every time it is asked
    assert paced_out(shares, DAY, SIX_AM, "dec_7") == left_out[7]


def test_yesterdays_spend_paces_nobody_today():
    assert paced_out({"ahead": 0.99}, "2026-11-26", SIX_AM, "dec_1") == frozenset()
    assert paced_out({"ahead": 0.99}, None, SIX_AM, "dec_1") == frozenset()


def test_the_trainer_publishes_the_spend_share_of_evenly_paced_daily_budgets_only():
    partners = {
        "even": _partner("even", daily_minor=2000),
        "asap": _partner("asap", daily_minor=2000, pacing="asap"),
        "monthly": _partner("monthly", monthly_minor=9000),
        "idle": _partner("idle", daily_minor=2000),
        "none": _partner("none"),
    }
    spend = {(p, "EUR", DAY): 500 for p in partners if p != "idle"}
    spend[("even", "USD", DAY)] = 10**6  # another currency than the budget's
    assert spent_shares(spend, partners, DAY) == {"even": 0.25}


def _line(
    partner_id: str, at: str, payout: int, kind: str = "conversion", currency: str = "EUR"
) -> MoneyLine:
    return MoneyLine(
        kind=kind,
        partner_id=partner_id,
        conversion_id=f"c-{at}",
        reversal_id="r" if kind == "reversal" else "",
        retailer_id="ret",
        offer_id="off",
        arm="mixed",
        action="signup",
        currency=currency,
        payout_minor=payout,
        recorded_at=f"{DAY}T{at}:00+00:00",
        occurred_at=f"{DAY}T{at}:00+00:00",
        locks_at="",
    )


def test_the_read_out_shows_net_spend_by_each_quarter_of_the_day_against_the_budget():
    # Given a partner with 10,000 a day that earned 4,000 before 06:00, 1,000 in the afternoon
    # (500 of it reversed in the evening), and payouts in another currency and of an unbudgeted partner
    budgets = {"p": PartnerBudget(currency="EUR", daily_minor=10_000)}
    lines = [
        _line("p", "01:30", 4_000),
        _line("p", "13:00", 1_000),
        _line("p", "19:45", 500, kind="reversal"),
        _line("p", "02:00", 9_999, currency="USD"),
        _line("other", "03:00", 7_000),
    ]
    (row,) = pacing_rows(lines, budgets)
    # Then its spend by 06:00, 12:00, 18:00 and the day's end is net, in the budget's currency
    assert row.spent_by_hour == {6: 4_000, 12: 4_000, 18: 5_000, 24: 4_500}
    assert (row.spent_minor, row.share_of_budget) == (4_500, 0.45)
    # And it was ahead of pace: 40% of the budget by 06:00 (a quarter of the day, plus the slack)
    assert row.ahead_of_pace
    (calm,) = pacing_rows([_line("p", "20:00", 4_000)], budgets)
    assert not calm.ahead_of_pace
