"""Experiment read-out: rates per arm, revenue per transaction, lift over holdout with a 95% CI."""

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from afterglow.experiments import (
    Z_95,
    add_metrics,
    metrics,
    metrics_csv,
    parse_metrics_csv,
    readout,
    sample_variance,
    welch_lift,
)
from afterglow.offer_figures import offer_refunds, top_offers
from afterglow.reconciliation import aggregate_day


def _moments(values):
    return (len(values), sum(values), sum(v * v for v in values))


def test_lift_ci_matches_a_hand_computed_welch_interval():
    # Given arm revenues [1,2,3,4] (mean 2.5, s² 5/3) and holdout [0,0,0,2] (mean 0.5, s² 1)
    lift = welch_lift(_moments([1, 2, 3, 4]), _moments([0, 0, 0, 2]))
    # Then the difference is 2 with SE sqrt(5/12 + 1/4) = sqrt(2/3)
    se = math.sqrt(2 / 3)
    assert lift.difference == 2
    assert lift.ci_low == pytest.approx(2 - 1.959964 * se, abs=1e-5)
    assert lift.ci_high == pytest.approx(2 + 1.959964 * se, abs=1e-5)
    assert lift.ci_low == pytest.approx(0.399696, abs=1e-6)
    assert lift.relative == 4.0
    # Welch–Satterthwaite: (2/3)² / ((5/12)²/3 + (1/4)²/3) = 5.647…
    assert lift.welch_df == pytest.approx(5.647, abs=1e-3)


@given(
    st.lists(st.integers(-5_000, 50_000), min_size=2, max_size=60),
    st.lists(st.integers(-5_000, 50_000), min_size=2, max_size=60),
)
def test_sums_and_squares_give_the_same_interval_as_the_raw_values(arm, holdout):
    lift = welch_lift(_moments(arm), _moments(holdout))
    se = math.sqrt(statistics.variance(arm) / len(arm) + statistics.variance(holdout) / len(holdout))
    difference = statistics.fmean(arm) - statistics.fmean(holdout)
    assert lift.difference == pytest.approx(difference, abs=1e-5)
    assert lift.ci_high - lift.ci_low == pytest.approx(2 * Z_95 * se, abs=1e-4)


def test_variance_needs_two_transactions():
    assert sample_variance(1, 5, 25) is None
    assert welch_lift((1, 5, 25), (10, 0, 0)) is None


def _decision(decision_id, arm, order_value=10_000):
    return {
        "kind": "decision",
        "retailer_id": "ret",
        "arm": arm,
        "currency": "EUR",
        "decision_id": decision_id,
        "order_value_minor": order_value,
    }


def _event(kind, decision_id, arm="mixed", **fields):
    return {"kind": kind, "retailer_id": "ret", "partner_id": "par", "offer_id": "off", "arm": arm} | {
        "decision_id": decision_id,
        **fields,
    }


def test_read_out_counts_transactions_takes_and_revenue_per_transaction_with_holdout_as_baseline():
    records = [_decision(f"h{i}", "holdout") for i in range(4)]
    records += [_decision(f"m{i}", "mixed") for i in range(4)]
    records += [_event("impression", f"m{i}") for i in range(4)]
    records += [_event("engage", "m0"), _event("click", "m0"), _event("click", "m1")]
    records += [
        _event("conversion", "m0", currency="EUR", payout_minor=700, action="signup", conversion_id="c1"),
        _event(
            "conversion", "m0", currency="EUR", payout_minor=300, action="first_purchase", conversion_id="c2"
        ),
        _event("accept", "m2", currency="EUR", own_brand_revenue_minor=200),
    ]
    rows = {row.arm: row for row in readout(metrics(aggregate_day(records)))}
    mixed, holdout = rows["mixed"], rows["holdout"]
    assert (holdout.transactions, holdout.revenue_per_transaction, holdout.take_rate) == (4, 0.0, 0.0)
    assert (mixed.transactions, mixed.taken, mixed.take_rate) == (4, 2, 0.5)
    assert mixed.revenue_minor == 1200 and mixed.revenue_per_transaction == 300.0
    assert (mixed.engagement_rate, mixed.click_through_rate, mixed.conversion_rate) == (0.25, 0.5, 1.0)
    assert mixed.order_value_per_transaction == 10_000.0
    # per transaction: [1000, 0, 200, 0] vs holdout zeros
    expected = welch_lift(_moments([1000, 0, 200, 0]), _moments([0, 0, 0, 0]))
    assert mixed.lift == expected and mixed.small_sample
    assert holdout.lift is None


def test_order_value_lift_compares_the_arms_baskets_with_the_holdouts_and_its_interval():
    # Given baskets of 100, 120, 140 € in the holdout and 110, 150, 190, 230 € in the mixed arm
    records = [_decision(f"h{i}", "holdout", value) for i, value in enumerate((10_000, 12_000, 14_000))]
    mixed_values = (11_000, 15_000, 19_000, 23_000)
    records += [_decision(f"m{i}", "mixed", value) for i, value in enumerate(mixed_values)]
    rows = {row.arm: row for row in readout(metrics(aggregate_day(records)))}
    # Then the mixed arm's baskets are 50 € larger on average, with Welch's interval of the two
    lift = rows["mixed"].order_value_lift
    assert lift is not None and lift.difference == 5_000
    se = math.sqrt(statistics.variance(mixed_values) / 4 + statistics.variance((10_000, 12_000, 14_000)) / 3)
    assert (lift.ci_low, lift.ci_high) == pytest.approx((5_000 - Z_95 * se, 5_000 + Z_95 * se), abs=1e-3)
    # And revenue lift (no offer earned anything) is zero, the holdout has no lift of its own
    assert rows["mixed"].lift is not None and rows["mixed"].lift.difference == 0
    assert rows["holdout"].order_value_lift is None


def test_statistics_of_days_add_up_to_the_statistics_of_the_whole():
    day_one = [
        _decision("a", "mixed"),
        _event("conversion", "a", currency="EUR", payout_minor=500, action="signup"),
    ]
    day_two = [_decision("b", "mixed"), _decision("c", "holdout")]
    summed = add_metrics(metrics(aggregate_day(day_one)), metrics(aggregate_day(day_two)))
    assert parse_metrics_csv(metrics_csv(summed)) == {k: v for k, v in summed.items() if v}
    assert summed[("ret", "mixed", "transactions", "-")] == 2
    assert summed[("ret", "mixed", "revenue_sq", "EUR")] == 250_000


def test_offers_losing_revenue_to_reversals_are_flagged():
    records = [
        _event("conversion", "d1", currency="EUR", payout_minor=1000, action="signup", conversion_id="c1"),
        _event("reversal", "d1", currency="EUR", payout_minor=-200, action="signup", conversion_id="c1"),
        _event("conversion", "d2", currency="EUR", payout_minor=1000, action="signup", conversion_id="c2")
        | {"offer_id": "off_ok"},
    ]
    rows = {row.offer_id: row for row in offer_refunds(aggregate_day(records).cells.items())}
    assert rows["off"].refunded_share == 0.2 and rows["off"].reversal_rate == 1.0 and rows["off"].flagged
    assert not rows["off_ok"].flagged


def test_top_offers_rank_by_revenue_then_impressions():
    records = [
        _event("impression", "d1") | {"offer_id": "quiet"},
        _event("impression", "d2") | {"offer_id": "loud"},
        _event("impression", "d3") | {"offer_id": "loud"},
        _event("conversion", "d1", currency="EUR", payout_minor=900, action="signup")
        | {"offer_id": "earner"},
    ]
    ranked = top_offers(aggregate_day(records).cells.items(), limit=3)
    assert [(o.offer_id, o.revenue_minor, o.impressions) for o in ranked] == [
        ("earner", 900, 0),
        ("loud", 0, 2),
        ("quiet", 0, 1),
    ]
