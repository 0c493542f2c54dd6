"""The category taxonomy and the relevance prior its relations give."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afterglow.taxonomy import CATEGORIES, RELATION_RELEVANCE, RELATIONS, relevance


def test_categories_are_unique():
    assert len(CATEGORIES) == len(set(CATEGORIES))


def test_every_relation_refers_to_known_categories():
    assert set(RELATIONS) <= set(CATEGORIES)
    for purchased, related in RELATIONS.items():
        unknown = set(related) - set(CATEGORIES)
        assert not unknown, f"{purchased} relates to unknown categories {unknown}"


def test_every_category_has_an_entry_in_the_relations():
    assert set(RELATIONS) == set(CATEGORIES)


def test_relations_use_known_relation_kinds_and_never_relate_a_category_to_itself():
    for purchased, related in RELATIONS.items():
        assert purchased not in related  # "same" is implied, never listed
        assert set(related.values()) <= set(RELATION_RELEVANCE) - {"same"}


@pytest.mark.parametrize(
    ("purchased", "offered", "expected"),
    [
        ("kitchen", "kitchen", 1.0),  # same
        ("kitchen", "coffee", 0.8),  # complements
        ("kitchen", "grocery", 0.7),  # refills
        ("kitchen", "meal_kits", 0.6),  # extends
        ("kitchen", "insurance", 0.0),  # unrelated
        ("electronics", "insurance", 0.6),
        ("insurance", "electronics", 0.0),  # relations are directional
        ("not_a_category", "coffee", 0.0),
    ],
)
def test_relevance_of_an_offer_category_to_a_purchase(purchased, offered, expected):
    assert relevance(purchased, offered) == expected


def test_a_closer_relation_is_more_relevant():
    order = ["same", "complements", "refills", "extends"]
    values = [RELATION_RELEVANCE[kind] for kind in order]
    assert values == sorted(values, reverse=True)
    assert all(0.0 < value <= 1.0 for value in values)


@settings(max_examples=200)
@given(purchased=st.sampled_from(CATEGORIES), offered=st.sampled_from(CATEGORIES))
def test_relevance_is_between_zero_and_one_and_highest_for_the_same_category(purchased, offered):
    score = relevance(purchased, offered)
    assert 0.0 <= score <= 1.0
    assert score <= relevance(purchased, purchased) == 1.0
    assert (score > 0.0) == (purchased == offered or offered in RELATIONS[purchased])
