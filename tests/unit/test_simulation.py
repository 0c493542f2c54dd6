"""The offline simulator: a reproducible world, fair comparisons, and the learning policy winning them."""

import pytest

from afterglow.learning import NonContextualThompson, RandomPolicy, default_policy
from afterglow_dev.simulation import ORACLE, SLATE_SIZE, OraclePolicy, compare, main, make_world, run


class Recorder:
    """A random policy that remembers what it was asked and told."""

    def __init__(self, seed: int) -> None:
        self.inner = RandomPolicy(seed=seed)
        self.contexts: list[dict[str, str | float]] = []
        self.updates: list[tuple[str, float]] = []

    def rank(self, context: dict[str, str | float], arm_ids: list[str], k: int) -> list[str]:
        self.contexts.append(context)
        return self.inner.rank(context, arm_ids, k)

    def update(self, context: dict[str, str | float], arm_id: str, reward: float) -> None:
        self.updates.append((arm_id, reward))


def test_the_learning_policy_beats_random_and_non_contextual_thompson():
    # Given one world, seed 2, and 3,000 transactions for each policy
    report = compare(
        3_000,
        2,
        {
            "policy": lambda world: default_policy(2),
            "non-contextual": lambda world: NonContextualThompson(seed=2),
            "random": lambda world: RandomPolicy(seed=2),
        },
    )
    rows = report["policies"]
    # Then the contextual policy earns more per transaction, realised and in expectation
    for key in ("revenue_per_transaction", "expected_last_half_revenue_per_transaction"):
        assert rows["policy"][key] > 1.1 * rows["non-contextual"][key]
        assert rows["non-contextual"][key] > rows["random"][key]
        assert rows[ORACLE][key] > rows["policy"][key]


def test_the_same_seed_builds_the_same_world_and_another_seed_another():
    assert make_world(5) == make_world(5)
    assert make_world(5).offers != make_world(6).offers
    assert 50 <= len(make_world(5).offers) <= 200


def test_every_policy_meets_the_same_customers():
    first, second = Recorder(seed=1), Recorder(seed=2)
    run(lambda world: first, 200, 7)
    run(lambda world: second, 200, 7)
    assert first.contexts == second.contexts
    assert {"purchase_category", "segment", "is_gift", "order_value"} <= set(first.contexts[0])


def test_only_seen_offers_are_reported_and_rewards_are_payouts():
    recorder = Recorder(seed=3)
    result = run(lambda world: recorder, 1_000, 8)
    assert len(recorder.updates) == result.impressions < 1_000 * SLATE_SIZE
    assert sum(reward for _, reward in recorder.updates) == pytest.approx(sum(result.revenue))
    assert sum(reward > 0 for _, reward in recorder.updates) == result.conversions > 0


def test_the_oracle_slate_is_never_worse_in_expectation():
    oracle = run(OraclePolicy, 300, 9)
    random_policy = run(lambda world: RandomPolicy(seed=9), 300, 9)
    assert all(
        best >= other - 1e-12
        for best, other in zip(oracle.expected_revenue, random_policy.expected_revenue, strict=True)
    )


def test_simulate_prints_the_comparison_and_draws_the_learning_curve(tmp_path):
    png = tmp_path / "curve.png"
    text = main(200, 1, str(png))
    for name in ("default_policy()", "catalog", "non-contextual", "uniform random", ORACLE):
        assert name in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
