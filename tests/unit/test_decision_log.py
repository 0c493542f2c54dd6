"""What a decision logs for off-policy evaluation: slot propensities of its slate and its shortlist."""

import random
from collections import Counter

import pytest

from afterglow.decisioning import Candidate, choose_slate
from afterglow.learning import HierarchicalThompson
from afterglow.models import Arm, Offer
from afterglow.services import decision_log
from afterglow.services.decision_log import MAX_LOGGED_CANDIDATES, evaluation_log
from afterglow.services.evaluation import logged_decision
from tests.unit.builders import make_offer

CONTEXT = {"purchase_category": "coffee", "segment": "ret_1/vip"}


def _candidates(n: int = 8) -> list[Candidate]:
    categories = ("coffee", "kitchen", "grocery", "home")
    tiers = (None, "bundle", "accessory", "low_friction", None)  # a tiered layout reads them
    return [
        Candidate(
            make_offer(f"off_{i}", partner_id=f"par_{i % 6}", category=categories[i % 4], tier=tiers[i % 5]),
            1.0,
            1.0,
            500 + 10 * i,
        )
        for i in range(n)
    ]


def _policy(candidates: list[Candidate]) -> HierarchicalThompson:
    """A policy that has seen some traffic: offers differ, none is certain."""
    rng = random.Random(5)
    policy = HierarchicalThompson(exploration=1.0, seed=1)
    for _ in range(3_000):
        candidate = rng.choice(candidates)
        rate = 0.02 + 0.01 * int(candidate.offer.offer_id.split("_")[1])
        policy.update(CONTEXT, candidate.offer.offer_id, 600.0 if rng.random() < rate else 0.0)
    policy.refresh()
    return policy


def _by_prior(candidates: list[Candidate]) -> list[str]:
    return [c.offer.offer_id for c in sorted(candidates, key=lambda c: (-c.prior_score, c.offer.offer_id))]


@pytest.mark.parametrize("layout", ["ranked", "tiered"])
def test_logged_propensities_are_the_share_of_the_policys_own_draws_that_made_each_slate(monkeypatch, layout):
    # Given a learned policy and eight eligible offers (six partners, four categories, three tiers)
    candidates = _candidates()
    policy = _policy(candidates)
    offers = {c.offer.offer_id: c.offer for c in candidates}
    ids = _by_prior(candidates)

    def slate_of_draw(seed: int) -> list[Offer]:
        return choose_slate((offers[i] for i in policy.rank(CONTEXT, ids, 8, seed=seed)), 3, layout)

    # When a decision logs its propensities with many draws
    monkeypatch.setattr(decision_log, "LOGGING_DRAWS", 4_000)
    shown = [o.offer_id for o in slate_of_draw(1)]
    slate = [offers[i] for i in shown]
    entry = evaluation_log(candidates, slate, 3, policy, CONTEXT, "dec_1", Arm.MIXED, layout)
    # Then each offer's count at each slot matches how often `rank` + the slate rule put it there
    frequency: Counter[tuple[str, int]] = Counter()
    for seed in range(4_000):
        frequency.update((offer.offer_id, slot) for slot, offer in enumerate(slate_of_draw(10_000 + seed)))
    logged = {row[0]: row[4] for row in entry["candidates"]}
    assert entry["logging"] == "thompson" and entry["draws"] == 4_001
    for offer_id in ids:
        for slot in range(3):
            assert logged[offer_id][slot] / 4_001 == pytest.approx(
                frequency[offer_id, slot] / 4_000, abs=0.03
            )
    # And the shown offers' propensities are their counts at their slots
    assert entry["propensities"] == [round(logged[o][slot] / 4_001, 6) for slot, o in enumerate(shown)]
    assert all(p > 0 for p in entry["propensities"])


def test_the_same_decision_logs_the_same_figures():
    candidates = _candidates()
    policy = _policy(candidates)
    slate = [candidates[0].offer]
    first = evaluation_log(candidates, slate, 1, policy, CONTEXT, "dec_same", Arm.MIXED)
    assert evaluation_log(candidates, slate, 1, policy, CONTEXT, "dec_same", Arm.MIXED) == first


def test_holdout_empty_and_fallback_decisions_say_what_they_are():
    candidates = _candidates(3)
    assert evaluation_log([], [], 3, None, CONTEXT, "d", Arm.HOLDOUT) == {"logging": "holdout"}
    assert evaluation_log([], [], 3, _policy(candidates), CONTEXT, "d", Arm.MIXED) == {
        "logging": "no_candidates",
        "k": 3,
    }
    # Without a learned model the ranking is deterministic: propensity 1, flagged so evaluation skips it
    prior = evaluation_log(candidates, [candidates[2].offer], 1, None, CONTEXT, "d", Arm.MIXED)
    assert prior["logging"] == "catalog_prior" and prior["propensities"] == [1.0]


def test_a_failing_policy_logs_the_decision_unscored():
    class Broken(HierarchicalThompson):
        def score_distributions(self, context, arm_ids):
            raise RuntimeError("bug")

    candidates = _candidates(3)
    entry = evaluation_log(candidates, [candidates[0].offer], 1, Broken(), CONTEXT, "d", Arm.MIXED)
    assert entry == {"logging": "unscored", "k": 1}


def test_the_logged_shortlist_is_bounded_and_keeps_the_shown_offers_first():
    candidates = _candidates(80)
    policy = _policy(candidates[:8])
    shown = [candidates[0].offer, candidates[1].offer]  # the two lowest by prior
    entry = evaluation_log(candidates, shown, 2, policy, CONTEXT, "dec_big", Arm.MIXED)
    assert len(entry["candidates"]) == MAX_LOGGED_CANDIDATES
    assert [row[0] for row in entry["candidates"][:2]] == ["off_0", "off_1"]
    assert entry["candidates"][2][3] >= entry["candidates"][3][3]  # then by prior score


def test_a_tiered_decision_logs_its_layout_and_tiers_and_the_evaluator_reads_them_back():
    candidates = _candidates()
    policy = _policy(candidates)
    offers = {c.offer.offer_id: c.offer for c in candidates}
    slate = choose_slate(
        (offers[i] for i in policy.rank(CONTEXT, _by_prior(candidates), 8, seed=3)), 3, "tiered"
    )
    entry = evaluation_log(candidates, slate, 3, policy, CONTEXT, "dec_t", Arm.MIXED, "tiered")
    record = {"decision_id": "dec_t", "offer_ids": [o.offer_id for o in slate], "evaluation": entry}
    decision, kind = logged_decision(record)
    assert kind == "thompson" and decision is not None and decision.layout == "tiered"
    assert {c.offer_id: c.slate_tier for c in decision.candidates} == {
        offer_id: offers[offer_id].slate_tier for offer_id in offers
    }
    ranked_entry = evaluation_log(candidates, slate, 3, policy, CONTEXT, "dec_t", Arm.MIXED)
    assert "layout" not in ranked_entry and all(len(row) == 5 for row in ranked_entry["candidates"])
