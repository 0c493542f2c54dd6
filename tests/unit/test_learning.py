"""The learning policy: the Protocol's contract, exploration, expected value, counters, determinism."""

import random
from collections import Counter
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from afterglow.learning import (
    MAX_VALUES_PER_FEATURE,
    CounterRow,
    HierarchicalThompson,
    Policy,
    default_policy,
    feature_value,
    from_counters,
)
from afterglow_dev.baselines import NonContextualThompson, RandomPolicy

CONTEXT: dict[str, str | float] = {"purchase_category": "camping", "segment": "new"}


def teach(policy: Policy, events: list[tuple[dict[str, str | float], str, float]]) -> None:
    for context, arm, reward in events:
        policy.update(context, arm, reward)


def bernoulli_events(
    rates: dict[str, float], *, n: int, payouts: dict[str, float] | None = None, seed: int = 0
) -> list[tuple[dict[str, str | float], str, float]]:
    """`n` shows of each arm in CONTEXT, converting at `rates`, paying `payouts` (default 1)."""
    rng = random.Random(seed)
    return [
        (CONTEXT, arm, (payouts or {}).get(arm, 1.0) if rng.random() < rate else 0.0)
        for _ in range(n)
        for arm, rate in rates.items()
    ]


def first_choices(
    policy: Policy, context: dict[str, str | float], arms: list[str], times: int
) -> Counter[str]:
    return Counter(policy.rank(context, arms, 1)[0] for _ in range(times))


def test_every_policy_returns_at_most_k_distinct_arms_from_those_given():
    arms = ["a", "b", "b", "c", "d", "a"]
    for policy in (
        default_policy(),
        HierarchicalThompson(seed=1),
        NonContextualThompson(seed=1),
        RandomPolicy(seed=1),
    ):
        for k in (0, 1, 3, 10):
            slate = policy.rank(CONTEXT, arms, k)
            assert len(slate) == min(k, 4)
            assert len(set(slate)) == len(slate)
            assert set(slate) <= set(arms)
        assert policy.rank(CONTEXT, [], 3) == []


def test_default_policy_needs_no_arguments_and_satisfies_the_protocol():
    policy: Policy = default_policy()
    policy.update({"anything": "goes"}, "arm-1", 1.0)
    assert policy.rank({"anything": "goes"}, ["arm-1", "arm-2"], 2) in (
        ["arm-1", "arm-2"],
        ["arm-2", "arm-1"],
    )


def test_an_unseen_arm_is_explored_next_to_a_known_mediocre_one():
    # Given an arm shown 2,000 times that converts 2% of the time
    policy = HierarchicalThompson(seed=3)
    teach(policy, bernoulli_events({"known": 0.02}, n=2_000))
    # When a new arm competes with it, Then the new arm gets shown a fair share of the time
    picks = first_choices(policy, CONTEXT, ["known", "new"], 400)
    assert picks["new"] >= 80


def test_revenue_rewards_move_the_ranking_to_the_higher_expected_value():
    # Given "often" converts 10% for 5.00 (EV 0.50) and "rich" converts 5% for 30.00 (EV 1.50)
    policy = HierarchicalThompson(seed=4)
    events = bernoulli_events({"often": 0.10, "rich": 0.05}, n=1_500, payouts={"often": 5.0, "rich": 30.0})
    teach(policy, events)
    # Then the rarer but better-paying arm leads
    assert first_choices(policy, CONTEXT, ["often", "rich"], 200)["rich"] >= 170


def test_an_offer_not_yet_converted_is_worth_what_offers_pay_on_average_not_the_typical_payout():
    # Given nine offers converting 2% each, for fixed payouts from 1.00 to 10,000.00 (×10 steps of √10)
    payouts = {f"paid_{n}": 10 ** (n / 2) for n in range(9)}
    # and one of them paying the typical (median) amount: 100.00, proven over 3,000 shows
    assert payouts["paid_4"] == 100.0
    policy = HierarchicalThompson(seed=6)
    teach(policy, bernoulli_events(dict.fromkeys(payouts, 0.02), n=3_000, payouts=payouts))
    # When an offer that has never converted competes with the typical one
    picks = first_choices(policy, CONTEXT, ["paid_4", "new"], 400)
    # Then it is tried most of the time: unknown, it is worth the offers' mean payout (16× the median),
    # not a coin flip against the median's
    assert picks["new"] >= 300


def test_zero_one_rewards_rank_by_conversion_rate():
    policy = HierarchicalThompson(seed=5)
    teach(policy, bernoulli_events({"low": 0.2, "high": 0.5}, n=400))
    assert first_choices(policy, CONTEXT, ["low", "high"], 200)["high"] >= 180


def test_the_best_arm_per_context_is_learned_whatever_the_keys_are_called():
    # Given contexts with keys the policy has never heard of (a string, a float, an int, a bool)
    rng = random.Random(6)
    policy = HierarchicalThompson(seed=6)
    colours = ("red", "blue")
    best = {"red": "arm-x", "blue": "arm-y"}
    for _ in range(3_000):
        colour = rng.choice(colours)
        context: dict[str, str | float] = {"colour": colour, "score": rng.random(), "n": 3, "flag": True}  # type: ignore[dict-item]
        for arm in ("arm-x", "arm-y"):
            rate = 0.3 if arm == best[colour] else 0.1
            policy.update(context, arm, 1.0 if rng.random() < rate else 0.0)
    # Then each colour gets its own best arm
    for colour in colours:
        context = {"colour": colour, "score": 0.5, "n": 3, "flag": True}  # type: ignore[dict-item]
        assert first_choices(policy, context, ["arm-x", "arm-y"], 100)[best[colour]] >= 85


def test_a_catalog_prior_favours_offers_related_to_the_purchase_before_any_feedback():
    # Given no feedback yet, an offer that complements camping (outdoor) and one unrelated (baby)
    policy = HierarchicalThompson({"tent-pegs": "outdoor", "nappies": "baby"}, seed=7)
    policy.update({"purchase_category": "books"}, "other", 0.0)  # any first event starts the estimates
    picks = first_choices(policy, CONTEXT, ["tent-pegs", "nappies"], 300)
    assert picks["tent-pegs"] >= 200


def test_a_policy_rebuilt_from_counters_decides_like_the_one_that_saw_the_events():
    rng = random.Random(8)
    events = []
    for _ in range(2_000):
        context: dict[str, str | float] = {
            "purchase_category": rng.choice(["camping", "coffee", "books"]),
            "segment": rng.choice(["new", "vip"]),
            "order_value": rng.uniform(10, 300),
        }
        arm = rng.choice(["a", "b", "c", "d"])
        events.append((context, arm, rng.choice([0.0, 0.0, 0.0, 0.0, 12.5])))
    categories = {"a": "outdoor", "b": "kitchen", "c": "books", "d": "streaming"}
    live = HierarchicalThompson(categories, seed=9)
    teach(live, events)
    rebuilt = from_counters(live.to_counters(), offer_categories=categories, seed=9)
    assert rebuilt.to_counters() == live.to_counters()
    for context, _, _ in events[:50]:
        assert rebuilt.rank(context, ["a", "b", "c", "d"], 3) == live.rank(context, ["a", "b", "c", "d"], 3)


def test_counter_rows_add_up_whatever_their_order_or_number_type():
    # Given the increments of three events, as a DynamoDB table would sum them (Decimal numbers)
    policy = HierarchicalThompson(seed=10)
    rows: list[CounterRow] = []
    for reward in (0.0, 12.5, 0.0):
        rows += policy.increments(CONTEXT, "a", reward)
        policy.update(CONTEXT, "a", reward)
    as_decimals = [
        {**row, "reward_sum": Decimal(str(row["reward_sum"])), "shown": Decimal(row["shown"])}  # type: ignore[typeddict-item]
        for row in reversed(rows)
    ]
    rebuilt = from_counters(as_decimals, seed=10)  # type: ignore[arg-type]
    totals = {(r["arm_id"], r["feature"], r["value"]): r for r in rebuilt.to_counters()}
    assert totals[("a", "*", "*")]["shown"] == 3
    assert totals[("a", "*", "*")]["successes"] == 1
    assert totals[("a", "segment", "new")]["reward_sum"] == 12.5


def test_the_same_seed_gives_the_same_decisions():
    def decisions(seed: int) -> list[list[str]]:
        policy = HierarchicalThompson(seed=seed)
        rng = random.Random(0)
        slates = []
        for _ in range(200):
            slate = policy.rank(CONTEXT, ["a", "b", "c", "d", "e"], 3)
            slates.append(slate)
            policy.update(CONTEXT, slate[0], 1.0 if rng.random() < 0.1 else 0.0)
        return slates

    assert decisions(11) == decisions(11)
    assert decisions(11) != decisions(12)


def test_a_decision_seed_reproduces_that_decision_whatever_came_before():
    policy = default_policy(seed=17)
    teach(policy, bernoulli_events({"a": 0.1, "b": 0.1, "c": 0.1}, n=200))
    first = policy.rank(CONTEXT, ["a", "b", "c"], 3, seed=42)
    for _ in range(25):  # other decisions move the policy's own random stream
        policy.rank(CONTEXT, ["a", "b", "c"], 3)
    assert policy.rank(CONTEXT, ["a", "b", "c"], 3, seed=42) == first
    assert len({tuple(policy.rank(CONTEXT, ["a", "b", "c"], 3, seed=s)) for s in range(30)}) > 1


def test_a_context_key_with_endless_values_cannot_grow_memory_without_bound():
    policy = HierarchicalThompson(seed=13)
    for number in range(MAX_VALUES_PER_FEATURE + 500):
        policy.update({"customer_id": f"c{number}"}, "a", 0.0)
    cells = {row["value"] for row in policy.to_counters() if row["feature"] == "customer_id"}
    assert len(cells) == MAX_VALUES_PER_FEATURE
    assert policy.rank({"customer_id": "c-new"}, ["a", "b"], 2)


def test_float_context_values_fall_in_coarse_buckets():
    assert feature_value(0.49) == feature_value(0.51) == "0.5"
    assert feature_value(100.0) == feature_value(110.0) != feature_value(300.0)
    assert feature_value("vip") == "vip"
    assert feature_value(True) == "true"


def test_update_adds_exactly_the_increments_an_aggregator_would_sum():
    # Given the same events, once as updates and once as counter rows summed in reverse order
    rng = random.Random(14)
    live, summed = default_policy(seed=14), default_policy(seed=14)
    rows: list[CounterRow] = []
    for _ in range(500):
        context: dict[str, str | float] = {"purchase_category": rng.choice(["tea", "bikes"]), "basket": 42.0}
        arm, reward = rng.choice(["a", "b"]), rng.choice([0.0, 0.0, 7.5])
        live.update(context, arm, reward)
        rows += live.increments(context, arm, reward)
    summed.add_counters(reversed(rows))
    # Then both hold the same counters and rank alike, draw for draw
    assert sorted(map(str, summed.to_counters())) == sorted(map(str, live.to_counters()))
    assert [live.rank({"purchase_category": "tea"}, ["a", "b"], 2) for _ in range(20)] == [
        summed.rank({"purchase_category": "tea"}, ["a", "b"], 2) for _ in range(20)
    ]


def test_counters_without_platform_rows_are_enough_and_older_rows_are_ignored():
    # Given production rows: per offer totals and per offer × feature value, no platform row, and
    # the platform and category rows an older policy wrote (which must not count twice)
    rows = [
        CounterRow(arm_id="a", feature="*", value="*", shown=1_000, successes=40, reward_sum=400.0),
        CounterRow(arm_id="b", feature="*", value="*", shown=1_000, successes=10, reward_sum=100.0),
        CounterRow(arm_id="*", feature="*", value="*", shown=10**6, successes=0, reward_sum=0.0),
        CounterRow(arm_id="offer_category:x", feature="*", value="*", shown=5, successes=5, reward_sum=1e9),
    ]
    policy = from_counters(rows, seed=15)
    # Then the better offer leads
    assert first_choices(policy, CONTEXT, ["a", "b"], 100)["a"] >= 95


def test_a_declared_pair_learns_an_interaction_no_single_feature_shows():
    # Given offer x converting for (tea, new) and (bikes, vip) only, offer y the other way round:
    # per category and per segment alone both offers look the same
    def train(policy: HierarchicalThompson) -> HierarchicalThompson:
        rng = random.Random(16)
        for _ in range(4_000):
            context: dict[str, str | float] = {
                "purchase_category": rng.choice(["tea", "bikes"]),
                "segment": rng.choice(["new", "vip"]),
            }
            x_wins = (context["purchase_category"] == "tea") == (context["segment"] == "new")
            for arm in ("x", "y"):
                rate = 0.3 if (arm == "x") == x_wins else 0.05
                policy.update(context, arm, 1.0 if rng.random() < rate else 0.0)
        return policy

    paired = train(HierarchicalThompson(seed=16, pairs=[("purchase_category", "segment")]))
    # Then a policy that declares the pair shows each offer where it converts
    for category, segment, best in (("tea", "new", "x"), ("bikes", "vip", "x"), ("tea", "vip", "y")):
        context: dict[str, str | float] = {"purchase_category": category, "segment": segment}
        assert first_choices(paired, context, ["x", "y"], 100)[best] >= 90


# --- any counter state, however inconsistent, ranks with finite scores ------------------------

counts = st.integers(min_value=-5, max_value=10**9) | st.floats(allow_nan=True, allow_infinity=True)
stored_rows = st.lists(
    st.builds(
        CounterRow,
        arm_id=st.sampled_from(["a", "b", "c", "*", "offer_category:coffee"]),
        feature=st.sampled_from(["*", "purchase_category", "segment", "*relevance"]),
        value=st.sampled_from(["*", "coffee", "camping", "vip", "0.5"]),
        shown=counts,
        successes=counts,
        reward_sum=counts,
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(rows=stored_rows, catalog=st.booleans())
def test_any_counter_state_ranks_every_arm_without_an_error(rows, catalog):
    # Given counters as any store could hold them: more conversions than shows, negative or
    # enormous counts, NaN and infinities (e.g. conversions recorded with no impression at all)
    categories = {"a": "coffee", "b": "camping", "c": "coffee"} if catalog else None
    policy = from_counters(rows, offer_categories=categories, seed=3)
    # When it ranks, Then it answers a slate of the arms given, every time
    for _ in range(3):
        slate = policy.rank({"purchase_category": "coffee", "segment": "vip"}, ["a", "b", "c"], 3)
        assert sorted(slate) == ["a", "b", "c"]


def test_conversions_without_impressions_still_rank_the_converting_offer():
    # Given an offer with two conversions and no recorded impression (a fast click, the README tour)
    rows = [
        CounterRow(arm_id=arm, feature=feature, value=value, shown=0, successes=2, reward_sum=800.0)
        for arm in ("*", "a")
        for feature, value in (("*", "*"), ("purchase_category", "coffee"))
    ]
    policy = from_counters(rows, seed=1)
    # When the policy ranks it against an unseen offer, Then both are ranked, no error
    assert sorted(policy.rank({"purchase_category": "coffee"}, ["a", "b"], 2)) == ["a", "b"]


def test_what_the_catalog_says_an_offer_pays_ranks_it_before_it_ever_converts():
    # Given two offers shown alike and never converted, one paying ten times the other, and
    # conversions of other offers that set the platform's payout in between
    events = [(CONTEXT, arm, 0.0) for arm in ("rich", "poor") for _ in range(50)]
    events += [(CONTEXT, "other", 1_500.0 if n % 20 == 0 else 0.0) for n in range(400)]
    told = HierarchicalThompson(offer_payouts={"rich": 5_000.0, "poor": 500.0}, seed=3)
    blind = HierarchicalThompson(seed=3)
    teach(told, events)
    teach(blind, events)
    # When each ranks them in 100 decisions
    told_first = Counter(told.rank(CONTEXT, ["poor", "rich"], 1, seed=s)[0] for s in range(100))
    blind_first = Counter(blind.rank(CONTEXT, ["poor", "rich"], 1, seed=s)[0] for s in range(100))
    # Then the policy told the payouts always shows the richer one; the blind one cannot tell them apart
    assert told_first["rich"] == 100
    assert 20 <= blind_first["rich"] <= 80


def _payout_world(rate_of_payout: dict[float, float], seed: int = 2) -> HierarchicalThompson:
    """A policy told 16 offers' catalog payouts, after 3,000 shows of each converting at the rate
    their payout band has."""
    payouts = {f"off_{n:02d}": float(100 * 2 ** (n // 4)) for n in range(16)}
    policy = HierarchicalThompson(offer_payouts=payouts, seed=seed)
    rng = random.Random(seed)
    for arm, payout in payouts.items():
        for _ in range(3_000):
            policy.update(CONTEXT, arm, payout if rng.random() < rate_of_payout[payout] else 0.0)
    policy.refresh()
    return policy


def test_the_policy_learns_how_much_less_a_better_paid_offer_converts():
    # Given offers whose conversion halves each time their payout doubles
    falling = _payout_world({100.0: 0.04, 200.0: 0.02, 400.0: 0.01, 800.0: 0.005})
    flat = _payout_world({100.0: 0.02, 200.0: 0.02, 400.0: 0.02, 800.0: 0.02})
    # Then it estimates about -1 log-odds per unit of log payout, and about none where rates are flat
    assert -1.2 < falling.estimates()["payout_slope"] < -0.7
    assert abs(flat.estimates()["payout_slope"]) < 0.2
    # And a new offer that pays 8× is expected to convert much less than one paying the least
    new = HierarchicalThompson(offer_payouts={"cheap_new": 100.0, "rich_new": 800.0}, seed=1)
    new.use_estimates(falling.estimates())
    rates = dict(
        zip(
            ["cheap_new", "rich_new"],
            (d[0] for d in new.score_distributions(CONTEXT, ["cheap_new", "rich_new"])),
            strict=True,
        )
    )
    assert rates["rich_new"] < rates["cheap_new"] - 1.5


def test_a_model_published_before_the_payout_slope_still_loads_without_one():
    estimates = _payout_world({100.0: 0.02, 200.0: 0.02, 400.0: 0.02, 800.0: 0.02}).estimates()
    older = {key: value for key, value in estimates.items() if key not in ("payout_slope", "payout_center")}
    policy = HierarchicalThompson(seed=1)
    policy.use_estimates(older)
    assert policy.estimates()["payout_slope"] == 0.0
