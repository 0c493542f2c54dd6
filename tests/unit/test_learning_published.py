"""The published learning model: a decide that loads it ranks exactly like the policy rebuilt
from every counter, while reading only the offers it ranks."""

import json
import random

import pytest

from afterglow.learning import HierarchicalThompson, from_counters
from afterglow.learning.published import counter_rows, model_rows_of, policy_of, published_model

ARMS = [f"off_{n:02d}" for n in range(40)]
CATEGORIES = {arm: ("coffee", "camping", "books", "insurance")[n % 4] for n, arm in enumerate(ARMS)}


def trained_rows(seed: int = 4) -> list[list[object]]:
    """Counter rows of a policy that saw 3,000 events over 40 offers, as the trainer sums them."""
    rng = random.Random(seed)
    live = HierarchicalThompson(CATEGORIES, seed=seed)
    for _ in range(3_000):
        context: dict[str, str | float] = {
            "purchase_category": rng.choice(["camping", "coffee", "books"]),
            "segment": rng.choice(["new", "vip", "returning"]),
            "gift": rng.choice(["yes", "no"]),
        }
        live.update(context, rng.choice(ARMS), rng.choice([0.0] * 20 + [700.0, 1200.0]))
    fields = ("arm_id", "feature", "value", "shown", "successes", "reward_sum", "reward_sq_sum")
    return sorted([row[field] for field in fields] for row in live.to_counters())  # type: ignore[literal-required]


def published(rows: list[list[object]], payouts: dict[str, float] | None = None) -> dict[str, object]:
    """What a decide reads: the trainer's model through JSON, as S3 hands it back."""
    budgets = {"budget_day": "2026-12-06", "exhausted_partners": [], "pacing": {}}
    model = published_model(rows, offer_categories=CATEGORIES, budgets=budgets, offer_payouts=payouts)
    return json.loads(json.dumps(model, sort_keys=True, separators=(",", ":")))


def test_a_published_model_ranks_exactly_like_the_policy_rebuilt_from_every_counter():
    # Given a trained model, published, and the same counters rebuilt the slow way
    rows = trained_rows()
    payouts = {arm: 300.0 + 100 * n for n, arm in enumerate(ARMS) if n % 3}  # the catalog's, for some
    loaded = policy_of(published(rows, payouts), offer_categories=CATEGORIES, offer_payouts=payouts)
    rebuilt = from_counters(counter_rows(rows), offer_categories=CATEGORIES, offer_payouts=payouts)
    # When both rank the candidates of 300 decisions (each a different subset, so the loaded
    # policy reads offers as they first come up)
    rng = random.Random(11)
    for decision in range(300):
        context: dict[str, str | float] = {
            "purchase_category": rng.choice(["camping", "coffee", "books", "garden"]),
            "segment": rng.choice(["new", "vip", "other"]),
        }
        candidates = [*rng.sample(ARMS, rng.randint(1, 12)), "off_new"]  # and one never shown
        # Then they show the same offers in the same order, decision by decision
        assert loaded.rank(context, candidates, 3, seed=decision) == rebuilt.rank(
            context, candidates, 3, seed=decision
        )


def test_a_cold_decide_reads_only_the_offers_it_ranks():
    # Given a published model in which one offer's counters cannot be read
    model = published(trained_rows())
    model["arms"]["off_07"] = "not json"  # type: ignore[index]
    policy = policy_of(model, offer_categories=CATEGORIES)
    # When decisions rank other offers, Then they never read it
    assert len(policy.rank({"segment": "vip"}, ["off_01", "off_02", "off_03"], 3, seed=1)) == 3
    # And the first decision that ranks it does
    with pytest.raises(json.JSONDecodeError):
        policy.rank({"segment": "vip"}, ["off_01", "off_07"], 2, seed=1)


def test_a_model_an_older_trainer_published_still_loads_and_ranks_alike():
    # Given a format-1 model (every counter row in one list) and its format-2 publication
    rows = trained_rows(seed=5)
    older = {"format": 1, "budget_day": "2026-12-06", "rows": rows, "exhausted_partners": []}
    newer = published(rows)
    # Then both hold the same rows and rank alike
    assert model_rows_of(newer) == model_rows_of(older) == rows
    context: dict[str, str | float] = {"purchase_category": "coffee", "segment": "vip"}
    old_policy = policy_of(older, offer_categories=CATEGORIES)
    new_policy = policy_of(newer, offer_categories=CATEGORIES)
    assert old_policy.rank(context, ARMS, 3, seed=2) == new_policy.rank(context, ARMS, 3, seed=2)
