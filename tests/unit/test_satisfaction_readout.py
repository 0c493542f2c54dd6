"""Satisfaction per arm and revenue per session: scores, NPS, intervals, the below-holdout flag,
and sufficient statistics that add up across days and shards."""

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from afterglow.experiments import Z_95, add_metrics, metrics, metrics_csv, parse_metrics_csv, readout
from afterglow.reconciliation import aggregate_day, merge, partial_from_json, partial_to_json
from afterglow.report_html import DayReport, render, render_retailer
from afterglow.report_satisfaction import satisfaction_cell
from afterglow.satisfaction import ScoreRefused, checked_score, nps_vote


def _answer(decision_id, score, arm="mixed", scale="nps", retailer="ret"):
    return {
        "kind": "satisfaction",
        "retailer_id": retailer,
        "decision_id": decision_id,
        "arm": arm,
        "scale": scale,
        "score": score,
    }


def _view(decision_id, arm="mixed", view=1, retailer="ret"):
    return {
        "kind": "page_view",
        "retailer_id": retailer,
        "decision_id": decision_id,
        "arm": arm,
        "view": view,
    }


def _decision(decision_id, arm, retailer="ret"):
    return {
        "kind": "decision",
        "retailer_id": retailer,
        "decision_id": decision_id,
        "arm": arm,
        "currency": "EUR",
        "order_value_minor": 5000,
        "offer_ids": [] if arm == "holdout" else ["off_1"],
    }


def _answers(scores, arm, scale="nps", prefix=""):
    return [_answer(f"{prefix}{arm}-{n}", score, arm, scale) for n, score in enumerate(scores)]


def _arm(rows, arm):
    return next(r for r in rows if r.arm == arm)


@pytest.mark.parametrize(
    ("scale", "raw", "reason"),
    [
        ("nps", -1, "score_must_be_0_to_10"),
        ("nps", 11, "score_must_be_0_to_10"),
        ("nps", True, "score_must_be_0_to_10"),
        ("nps", "9", "score_must_be_0_to_10"),
        ("nps", 9.0, "score_must_be_0_to_10"),
        ("csat", 0, "score_must_be_1_to_5"),
        ("csat", 6, "score_must_be_1_to_5"),
        ("csat", None, "satisfaction_needs_data.score"),
    ],
)
def test_only_whole_numbers_on_the_scale_are_scores(scale, raw, reason):
    with pytest.raises(ScoreRefused) as refused:
        checked_score(scale, raw)
    assert refused.value.reason == reason


def test_the_ends_of_each_scale_are_scores_and_nps_votes_split_at_6_and_9():
    assert [checked_score("nps", 0), checked_score("nps", 10)] == [0, 10]
    assert [checked_score("csat", 1), checked_score("csat", 5)] == [1, 5]
    assert [nps_vote(score) for score in range(11)] == [-1] * 7 + [0, 0, 1, 1]


def test_nps_is_promoters_minus_detractors_with_a_hand_computed_interval():
    # Given 10 answers: five promoters, three passives, two detractors
    rows = readout(metrics(aggregate_day(_answers([10, 9, 9, 10, 9, 8, 7, 7, 3, 6], "mixed"))))
    answers = _arm(rows, "mixed").satisfaction[0]
    # Then NPS = 50% − 20% = +30; the votes +1/0/−1 have mean 0.3 and s² = (10·7 − 3²)/(10·9)
    assert (answers.scale, answers.responses, answers.promoters, answers.detractors) == ("nps", 10, 5, 2)
    assert answers.nps == pytest.approx(30.0)
    half = Z_95 * math.sqrt((10 * 7 - 9) / 90 / 10) * 100
    assert answers.nps_ci_low == pytest.approx(30 - half, abs=1e-3)
    assert answers.nps_ci_high == pytest.approx(30 + half, abs=1e-3)
    # And the mean score's interval is mean ± z·s/√n of the raw scores
    scores = [10, 9, 9, 10, 9, 8, 7, 7, 3, 6]
    half = Z_95 * statistics.stdev(scores) / math.sqrt(len(scores))
    assert answers.mean_score == pytest.approx(7.8)
    assert (answers.mean_ci_low, answers.mean_ci_high) == (
        pytest.approx(7.8 - half, abs=1e-5),
        pytest.approx(7.8 + half, abs=1e-5),
    )
    assert answers.small_sample is True  # 10 < 30 answers


def test_an_arm_significantly_below_the_holdout_is_flagged_and_a_similar_one_is_not():
    # Given a holdout that answers 9s and 10s, an arm that answers 5s and 6s, one like the holdout
    holdout = _answers([9, 10] * 20, "holdout")
    worse = _answers([5, 6] * 20, "partner_only")
    alike = _answers([10, 9] * 19 + [8, 9], "mixed")
    rows = readout(metrics(aggregate_day(holdout + worse + alike)))
    flagged = _arm(rows, "partner_only").satisfaction[0]
    # Then the worse arm's difference and its whole interval lie below zero: flagged
    assert flagged.below_holdout is True
    assert flagged.vs_holdout is not None and flagged.vs_holdout.ci_high < 0
    assert flagged.vs_holdout.difference == pytest.approx(-4.0)
    assert flagged.nps_vs_holdout is not None and flagged.nps_vs_holdout.difference == pytest.approx(-200.0)
    # And neither the similar arm nor the holdout itself is flagged
    assert _arm(rows, "mixed").satisfaction[0].below_holdout is False
    baseline = _arm(rows, "holdout").satisfaction[0]
    assert baseline.below_holdout is False and baseline.vs_holdout is None


def test_a_lower_but_noisy_arm_is_not_flagged():
    # Given an arm whose mean is lower than the holdout's but whose interval spans zero
    holdout = _answers([0, 10] * 5, "holdout")
    noisy = _answers([0, 10, 0, 10, 0, 9, 0, 10, 0, 9], "mixed")
    answers = _arm(readout(metrics(aggregate_day(holdout + noisy))), "mixed").satisfaction[0]
    assert answers.vs_holdout is not None and answers.vs_holdout.difference < 0
    assert answers.vs_holdout.ci_low < 0 < answers.vs_holdout.ci_high
    assert answers.below_holdout is False


def test_a_retailer_that_switched_scales_gets_each_scale_apart():
    records = _answers([9, 10], "mixed") + _answers([4, 5, 3], "mixed", scale="csat", prefix="c")
    (row,) = readout(metrics(aggregate_day(records)))
    assert [(s.scale, s.responses, s.mean_score, s.nps) for s in row.satisfaction] == [
        ("csat", 3, pytest.approx(4.0), None),
        ("nps", 2, pytest.approx(9.5), pytest.approx(100.0)),
    ]


def test_a_ledger_record_off_its_scale_is_no_answer():
    records = [
        _answer("a", 11),
        _answer("b", -3),
        _answer("c", "9"),
        _answer("d", 6, scale="stars"),
        _answer("e", 7),
    ]
    day = aggregate_day(records)
    assert [(key, m.count, m.total) for key, m in day.satisfaction.items()] == [
        (("ret", "mixed", "nps"), 1, 7)
    ]


def test_revenue_per_session_counts_every_page_view_and_the_holdouts_pages():
    # Given a mixed decision viewed twice (a reload) that earned 1,000 and one holdout page view
    records = [
        _decision("m", "mixed"),
        _view("m", view=1),
        _view("m", view=2),
        {
            "kind": "accept",
            "retailer_id": "ret",
            "decision_id": "m",
            "arm": "mixed",
            "partner_id": "ret",
            "offer_id": "off_1",
            "currency": "EUR",
            "own_brand_revenue_minor": 1000,
        },
        _decision("h", "holdout"),
        _view("h", arm="holdout"),
    ]
    rows = readout(metrics(aggregate_day(records)))
    mixed, holdout = _arm(rows, "mixed"), _arm(rows, "holdout")
    assert (mixed.sessions, mixed.revenue_per_session, mixed.revenue_per_transaction) == (2, 500.0, 1000.0)
    assert (holdout.sessions, holdout.revenue_per_session) == (1, 0.0)
    assert mixed.as_json()["revenue_per_session"] == 500.0


_score = st.integers(min_value=0, max_value=10)
_arm_name = st.sampled_from(["holdout", "mixed", "partner_only"])


@given(
    st.lists(st.tuples(_arm_name, _score), max_size=40),
    st.lists(st.tuples(_arm_name, _score), max_size=40),
    st.lists(_arm_name, max_size=20),
)
def test_days_and_shards_add_up_to_the_whole(first, second, views):
    # Given two days (or shards) of answers and page views
    day_one = [_answer(f"a{n}", score, arm) for n, (arm, score) in enumerate(first)]
    day_one += [_view(f"v{n}", arm) for n, arm in enumerate(views)]
    day_two = [_answer(f"b{n}", score, arm) for n, (arm, score) in enumerate(second)]
    whole = metrics(aggregate_day(day_one + day_two))
    # Then the sum of each day's statistics (as written to experiment.csv) is the whole's
    summed = add_metrics(
        parse_metrics_csv(metrics_csv(metrics(aggregate_day(day_one)))), metrics(aggregate_day(day_two))
    )
    assert {k: v for k, v in summed.items() if v} == {k: v for k, v in whole.items() if v}
    assert readout(summed) == readout(whole)
    # And merging the two partials (through their JSON) is aggregating the whole
    merged = merge(partial_from_json(partial_to_json(aggregate_day(day_one))), aggregate_day(day_two))
    assert metrics(merged) == whole


def test_the_report_shows_satisfaction_and_revenue_per_session_beside_revenue():
    records = _answers([9, 10] * 20, "holdout") + _answers([5, 6] * 20, "mixed")
    records += [_decision("m", "mixed"), _view("m"), _decision("h", "holdout"), _view("h", arm="holdout")]
    day = aggregate_day(records)
    rows = readout(metrics(day))
    report = DayReport(
        day="2026-03-01",
        totals={},
        readouts=rows,
        take_rate_history={},
        history_days=[],
        top_offers=[],
        refunds=[],
        rejections_by_reason={},
    )
    operator, retailer = render(report).decode(), render_retailer(report, "ret").decode()
    for page in (operator, retailer):
        assert "revenue / session" in page and "satisfaction (95% CI)" in page
        assert "Satisfaction by arm" in page and "below holdout" in page
    mixed = _arm(rows, "mixed").satisfaction[0]
    assert satisfaction_cell(mixed).startswith("NPS -100.0") and satisfaction_cell(mixed).endswith(
        "▼ below holdout"
    )
