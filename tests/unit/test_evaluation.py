"""Off-policy estimators on logs small enough to check by hand, and on simulated worlds whose truth
is known (`afterglow_dev.offline_evaluation`)."""

import math

import pytest

from afterglow.evaluation import (
    Interval,
    LoggedCandidate,
    LoggedDecision,
    LoggedTarget,
    evaluate,
    prior_target,
    random_target,
)
from afterglow.services.decision_log import LOGGING_DRAWS
from afterglow_dev.offline_evaluation import policy_target, simulated_logs, true_value
from afterglow_dev.worlds import draw_knobs


class Always:
    """A deterministic target: always offer `offer_id` in the top slot."""

    def __init__(self, offer_id: str) -> None:
        self.name = f"always {offer_id}"
        self._offer_id = offer_id

    def slot_probabilities(self, decision):
        return {self._offer_id: [1.0]}


def _decision(number: int, shown: str, propensity: float, reward: float = 0.0) -> LoggedDecision:
    return LoggedDecision(
        decision_id=f"d{number}",
        context={"purchase_category": "coffee"},
        slots=1,
        draws=4,
        candidates=(
            LoggedCandidate("A", "p1", "coffee", 2.0, (2 if shown == "A" else 1,)),
            LoggedCandidate("B", "p2", "kitchen", 1.0, (2 if shown == "B" else 1,)),
        ),
        shown=(shown,),
        propensities=(propensity,),
        rewards={shown: reward} if reward else {},
    )


LOGS = [_decision(1, "A", 0.5, 10.0), _decision(2, "B", 0.25), _decision(3, "A", 0.5)]


def test_inverse_propensity_reweights_the_shown_offers_the_target_would_have_shown():
    result = evaluate(LOGS, Always("A"))
    # IPS: (10 / 0.5 + 0 + 0) / 3; SNIPS: Σ w·r / Σ w = 20 / (2 + 0 + 2)
    assert result.ips.value == pytest.approx(20 / 3)
    assert result.snips.value == pytest.approx(5.0)
    assert result.logged.value == pytest.approx(10 / 3)
    assert result.effective_sample_size == pytest.approx(4**2 / 8)  # weights 2, 0, 2
    assert result.max_weight == pytest.approx(2.0)


def test_the_logged_policy_evaluates_to_what_it_realised():
    # its Monte Carlo counts are the logged propensities' source: weight 1 on every shown offer
    logs = [
        _decision(1, "A", 0.5, 10.0),
        _decision(2, "B", 0.5),
        _decision(3, "A", 0.5),
    ]
    result = evaluate(logs, LoggedTarget())
    assert result.ips.value == pytest.approx(result.logged.value)
    assert result.snips.value == pytest.approx(result.logged.value)
    assert result.effective_sample_size == pytest.approx(3.0)


def test_a_target_outside_the_logging_support_is_flagged_not_hidden():
    logs = [
        LoggedDecision(
            "d1",
            {},
            1,
            4,
            (LoggedCandidate("A", "p1", "coffee", 1.0, (4,)), LoggedCandidate("C", "p3", "home", 0.0, (0,))),
            ("A",),
            (1.0,),
            {"A": 5.0},
        ),
    ]
    result = evaluate(logs, Always("C"))
    assert result.unsupported_share == 1.0
    assert result.ips.value == 0.0  # nothing logged can speak for C


def test_an_interval_is_the_mean_plus_minus_1_96_standard_errors():
    interval = Interval.of_mean([1.0, 2.0, 3.0])
    half = 1.959964 * 1.0 / math.sqrt(3)
    assert (interval.value, interval.low, interval.high) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
    assert interval.covers(2.5) and not interval.covers(3.2)


def test_no_decisions_give_empty_estimates_not_errors():
    result = evaluate([], random_target(10))
    assert result.decisions == 0 and result.ips.value == 0.0 and result.snips.value == 0.0


def test_a_deterministic_prior_ranking_puts_the_best_prior_first():
    probabilities = prior_target().slot_probabilities(LOGS[0])
    assert probabilities == {"A": [1.0]}


# -- simulated worlds: the truth is known ------------------------------------------------------------

SEEDS = [seed for seed in range(1, 400) if draw_knobs(seed).mean_conversion > 0.02][:6]


@pytest.fixture(scope="module")
def simulated():
    """Per world: a frozen, exploring Thompson policy logs 500 decisions (as many draws each as
    decide makes); the candidate is a greedier policy learned from the same warm-up; the truth
    comes from the world's rates."""
    results = []
    for seed in SEEDS:
        logs = simulated_logs(seed, decisions=500, draws=LOGGING_DRAWS)
        target = policy_target("learned", logs.learned_policy, draws=40)
        results.append((true_value(logs, target), evaluate(logs.decisions, target), logs))
    return results


def test_off_policy_estimates_recover_a_known_policy_value_within_their_intervals(simulated):
    # Given six worlds; when another policy's value is estimated from the logs of the first
    for name in ("ips", "snips", "dr"):
        covered = [getattr(result, name).covers(truth) for truth, result, _ in simulated]
        # Then the 95% intervals hold the truth about as often as they should (5.7 of 6 expected)
        assert sum(covered) >= 4, (name, covered)
    # And they are informative: tighter than the value itself, centred near the truth on average
    for truth, result, _ in simulated:
        assert result.dr.high - result.dr.low < 1.6 * truth
        assert result.unsupported_share < 0.05
    bias = sum((result.dr.value - truth) / truth for truth, result, _ in simulated) / len(simulated)
    assert abs(bias) < 0.2


def test_the_logging_policy_evaluates_to_its_own_true_value(simulated):
    covered = [
        evaluate(logs.decisions, LoggedTarget()).ips.covers(true_value(logs, LoggedTarget()))
        for _, _, logs in simulated
    ]
    assert sum(covered) >= 4, covered
