"""The simulator's reference learners: what they are told about a world, and that they learn."""

import math

import numpy as np

from afterglow_dev.told_priors import ToldPriorsThompson
from afterglow_dev.worlds import CATEGORICAL, draw_world


def _context(world, category: str) -> dict[str, str | float]:
    context: dict[str, str | float] = {feature: world.vocabularies[feature][0] for feature in CATEGORICAL}
    return {**context, "purchase_category": category, "order_value": world.order_value_median}


def _firsts_after_x_not_y(seed: int) -> tuple[int, int]:
    """How often, of 200 draws, offer A ranks above offer B after a purchase in category X and in
    category Y, once A converted a third of 300 times after X and never in 300 shows after Y."""
    world = draw_world(seed, rounds=800, max_offers=60)
    x, y = world.vocabularies["purchase_category"][:2]
    learner = ToldPriorsThompson(world, seed=3)
    for n in range(300):
        learner.update(_context(world, x), "o0000", 5.0 if n % 3 == 0 else 0.0)
        learner.update(_context(world, y), "o0000", 0.0)
    arms = ["o0000", "o0001"]
    firsts_x = sum(learner.rank(_context(world, x), arms, 1) == ["o0000"] for _ in range(200))
    firsts_y = sum(learner.rank(_context(world, y), arms, 1) == ["o0000"] for _ in range(200))
    return firsts_x, firsts_y


def test_told_that_the_purchase_category_matters_it_learns_where_an_offer_converts():
    # Given world 1003, where the purchase category moves offers a lot (sd 1.45 in log-odds)
    firsts_x, firsts_y = _firsts_after_x_not_y(1003)
    # Then the offer leads after X and, having never converted after Y, trails there
    assert firsts_x > 180
    assert firsts_y < 100


def test_told_that_nothing_in_the_context_matters_it_learns_the_offer_is_good_everywhere():
    # Given world 1002, whose context moves no offer: the same history is the offer's own rate
    firsts_x, firsts_y = _firsts_after_x_not_y(1002)
    # Then the offer leads after both categories alike
    assert firsts_x > 180
    assert firsts_y > 180


def test_the_base_rate_prior_is_where_the_offers_base_rates_were_drawn():
    world = draw_world(1)
    center, spread = world.base_rate_prior()
    residuals = world.intercept - center
    assert abs(float(np.mean(residuals))) < 1e-9
    assert 0.75 * spread < float(np.std(residuals)) < 1.25 * spread
    # the better paid offers were drawn lower, by the world's payout penalty
    slope = np.polyfit(np.log(world.payouts), center, 1)[0]
    assert abs(slope + world.knobs.payout_penalty) < 1e-9


def test_a_context_is_read_as_the_worlds_value_indexes():
    world = draw_world(1003, rounds=800, max_offers=60)
    second = {feature: world.vocabularies[feature][1] for feature in CATEGORICAL}
    assert world.context_codes(second) == (1,) * len(CATEGORICAL)
    assert world.context_codes({"segment": "no such segment"}) == (0,) * len(CATEGORICAL)
    assert world.value_z(world.order_value_median) == 0.0
    doubled = world.value_z(2 * world.order_value_median)
    assert math.isclose(doubled, math.log(2) / world.order_value_sigma)
