"""The offline simulator: reproducible worlds, fair comparisons, a readable report."""

import statistics

import pytest

from afterglow_dev.baselines import RandomPolicy, SegmentedThompson
from afterglow_dev.cli import parser
from afterglow_dev.simulation import (
    HELD_OUT_SEEDS,
    LINEUP,
    POLICY,
    TOLD_PRIORS,
    TUNING_SEEDS,
    WITH_CATALOG,
    WORLD_AWARE,
    compare,
    lineup_names,
    main,
    policy_seed,
    run_world,
    summary,
    table,
    world_lines,
)
from afterglow_dev.worlds import draw_knobs, draw_world

TINY = {"rounds": 800, "max_offers": 60}


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


def test_tuning_and_held_out_worlds_never_overlap():
    assert len(HELD_OUT_SEEDS) >= 20
    assert not set(TUNING_SEEDS) & set(HELD_OUT_SEEDS)


def test_the_same_seed_draws_the_same_world_and_worlds_differ():
    assert draw_knobs(5) == draw_knobs(5)
    assert (draw_world(5, **TINY).payouts == draw_world(5, **TINY).payouts).all()
    knobs = [draw_knobs(seed) for seed in range(1, 41)]
    assert len({k.offers for k in knobs}) > 30
    assert all(50 <= k.offers <= 2_000 and 0.003 <= k.mean_conversion <= 0.05 for k in knobs)
    assert all(2 <= k.payout_spread <= 100 for k in knobs)
    # Some worlds have no context effect at all, some have every one
    assert any(not any(k.effects.values()) for k in knobs)
    assert (
        any(all(k.effects.values()) for k in knobs)
        or max(sum(map(bool, k.effects.values())) for k in knobs) >= 5
    )


def test_every_policy_meets_the_same_customers_and_offers():
    first, second = Recorder(seed=1), Recorder(seed=2)
    factories = {"first": lambda world, seed: first, "second": lambda world, seed: second}
    run_world(7, 3, ["first", "second"], factories=factories, **TINY)
    assert first.contexts == second.contexts
    assert {"purchase_category", "segment", "is_gift", "device", "order_value"} <= set(first.contexts[0])


def test_offers_arriving_mid_run_are_never_offered_before_they_arrive():
    # Given a world where some offers arrive mid-run (seed 1001: about a quarter of its offers)
    world = draw_world(1001, **TINY)
    arrivals = dict(zip(world.offer_ids, world.arrival_round.tolist(), strict=True))
    assert any(arrivals.values())
    offered: list[list[str]] = []

    class Watcher(Recorder):
        def rank(self, context: dict[str, str | float], arm_ids: list[str], k: int) -> list[str]:
            offered.append(arm_ids)
            return super().rank(context, arm_ids, k)

    run_world(1001, 1, ["watcher"], factories={"watcher": lambda world, seed: Watcher(seed)}, **TINY)
    # Then round t only offers what has arrived by then, and late offers do get offered
    assert all(arrivals[arm] <= t for t, arms in enumerate(offered) for arm in arms)
    assert any(arrivals[arm] > 0 for arms in offered for arm in arms)


def test_only_seen_offers_are_reported_and_conversions_pay():
    recorder = Recorder(seed=3)
    result = run_world(8, 3, ["recorder"], factories={"recorder": lambda world, seed: recorder}, **TINY)
    run = result.policies["recorder"]
    # Feedback arrives late (batches, delayed conversions): what has arrived is at most what was seen
    assert len(recorder.updates) <= run.impressions < TINY["rounds"] * 3
    assert all(reward >= 0 for _, reward in recorder.updates)
    assert sum(reward > 0 for _, reward in recorder.updates) <= run.conversions


def test_the_oracle_earns_more_than_random_and_shares_are_fractions():
    result = run_world(9, 1, ["uniform random", POLICY], **TINY)
    assert 0 < result.share("uniform random") < 1
    assert 0 < result.share(POLICY) <= 1


def test_the_report_has_every_policy_and_both_slate_sizes_and_is_reproducible():
    names = [name for name in lineup_names(vowpal_wabbit=False)]
    runs = [run_world(seed, k, names, **TINY) for seed in (11, 12) for k in (1, 3)]
    text = table(runs)
    for name in names:
        assert name in text
    assert "k=1 min" in text and "k=3 min" in text and "beats all" in text
    again = [run_world(seed, k, names, **TINY) for seed in (11, 12) for k in (1, 3)]
    assert [run.share(n) for run in runs for n in names] == [run.share(n) for run in again for n in names]
    stats = summary(runs)
    assert set(stats) == {1, 3} and 0.0 <= stats[1][POLICY]["beats_all"] <= 1.0


def test_repeats_score_each_world_by_the_mean_of_runs_with_other_policy_seeds():
    # Given two policies and a tiny world, each run three times with other policy seeds
    names = [POLICY, "uniform random"]
    runs = compare([12], names=names, slate_sizes=(1,), repeats=3, **TINY)
    singles = [run_world(12, 1, names, repeat=repeat, **TINY) for repeat in range(3)]
    # Then the repeats are those single runs: the same world draws, other policy seeds
    assert [run.repeat for run in runs] == [0, 1, 2]
    assert {run.oracle for run in runs} == {singles[0].oracle}
    assert len({policy_seed(12, 1, repeat) for repeat in range(3)}) == 3
    assert len({run.share("uniform random") for run in singles}) > 1
    # And the world's figure (min, median and mean over one world) is the mean of the singles' shares
    stats = summary(runs)[1]
    means = {name: statistics.fmean(run.share(name) for run in singles) for name in names}
    for name in names:
        assert stats[name]["min"] == stats[name]["median"] == stats[name]["mean"] == means[name]
    assert stats[POLICY]["beats_all"] == float(means[POLICY] > means["uniform random"])
    assert "each world run 3 times" in table(runs)
    assert len(world_lines(runs).splitlines()) == 1


def test_one_repeat_is_the_plain_run_and_the_cli_defaults_to_it():
    names = ["uniform random"]
    runs = compare([11], names=names, slate_sizes=(3,), **TINY)
    assert len(runs) == 1 and runs[0].repeat == 0
    assert runs[0].share(names[0]) == run_world(11, 3, names, **TINY).share(names[0])
    assert "each world run" not in table(runs)
    assert parser().parse_args(["simulate"]).repeats == 1
    assert parser().parse_args(["simulate", "--repeats", "3"]).repeats == 3
    with pytest.raises(SystemExit):
        parser().parse_args(["simulate", "--repeats", "0"])


def test_the_line_up_holds_the_required_baselines():
    assert {
        POLICY,
        "uniform random",
        "payout-weighted thompson",
        "per-category thompson",
        "per-category×segment thompson",
        "per-category thompson, pooled",
        "vowpal wabbit cb_adf",
        WITH_CATALOG,
        TOLD_PRIORS,
        WORLD_AWARE,
    } <= set(LINEUP)


def test_simulate_quick_prints_the_table_and_draws_the_learning_curves(tmp_path):
    png = tmp_path / "curve.png"
    text = main(quick=True, png_path=str(png))
    assert "held-out worlds" in text and POLICY in text and "uniform random" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("k", [1, 3])
def test_the_policy_beats_random_and_context_blind_thompson_on_a_small_world(k):
    # Given a small world (seed 1003: 69 offers, strong purchase-category effects) and 3,000 rounds
    names = [POLICY, "uniform random", "payout-weighted thompson"]
    result = run_world(1003, k, names, rounds=3_000)
    # Then the contextual policy earns more, in ground-truth expectation
    assert result.share(POLICY) > result.share("payout-weighted thompson") > result.share("uniform random")


def test_references_are_reported_but_never_count_against_the_policy():
    # Given a small world where the learners told the world's structure earn far more than anyone
    names = [POLICY, "uniform random", WORLD_AWARE, TOLD_PRIORS, WITH_CATALOG]
    run = run_world(1003, 1, names, rounds=4_000)
    for reference in (WORLD_AWARE, TOLD_PRIORS):
        assert run.share(reference) > run.share("uniform random")
        assert run.share(reference) > run.share(POLICY)
    # Then "beats all" and a world's best other policy are about the rivals alone
    stats = summary([run])[1]
    assert stats[POLICY]["beats_all"] == float(run.share(POLICY) > run.share("uniform random"))
    assert "best other uniform random" in world_lines([run])
    assert "(ref) rows are references" in table([run]) and TOLD_PRIORS in table([run])


def test_a_pooled_prior_does_not_bet_on_every_offer_it_has_not_seen():
    # Given a per-category Thompson sampler that has seen one offer convert 1% of 2,000 times
    def firsts(pooled: bool) -> int:
        policy = SegmentedThompson(("purchase_category",), seed=5, pooled_prior=pooled)
        for n in range(2_000):
            policy.update({"purchase_category": "coffee"}, "proven", 10.0 if n % 100 == 0 else 0.0)
        ranked = [policy.rank({"purchase_category": "coffee"}, ["proven", "fresh"], 1)[0] for _ in range(200)]
        return ranked.count("fresh")

    # Then with a flat Beta(1, 1) prior an unseen offer wins nearly every draw; with the pooled
    # prior (the platform's rate) it wins a few, as rarely as its rate might really be that high
    assert firsts(pooled=False) > 180
    assert firsts(pooled=True) < 60
