"""The product-type vocabulary: what a line item's title, SKU or brand says was bought."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from afterglow.product_types import (
    CATEGORY_OF,
    PRODUCT_TYPES,
    RUNS_OUT_AFTER_DAYS,
    product_type_of,
    product_types_of,
    runs_out_after_days,
)
from afterglow.taxonomy import CATEGORIES


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Trailhead 2-person tent", "tent"),
        ("Down sleeping bag", "sleeping_bag"),
        ("Stride Pro road running shoes", "running_shoes"),
        ("Merino running socks", "socks"),
        ("Barista Duo espresso machine", "espresso_machine"),
        ("Ethiopia Yirgacheffe coffee beans, 1 kg", "coffee_beans"),
        ("Quiet Comfort headphones", "headphones"),
        ("Gravel bike Grail CF 7", "bicycle"),
        ("E-Bike Cargo Family", "bicycle"),
        ("Fresh dog food, 12 pouches", "dog_food"),
        ("Hand-tied bouquet of tulips", "bouquet"),
    ],
)
def test_a_shop_title_names_its_product_type(title, expected):
    assert product_type_of(title) == expected


def test_case_accents_punctuation_and_plurals_do_not_matter():
    assert {product_type_of(t) for t in ("TENT", "Tënt", "tents", "  tent!  ", "Zelt")} == {"tent"}
    assert product_type_of("KAFFEEBOHNEN Espresso") == "coffee_beans"


def test_the_longest_phrase_wins_over_a_word_inside_it():
    # "espresso machine" is a machine, "espresso blend" are beans; "bike helmet" is not a bicycle
    assert product_type_of("Subscribe to espresso blend: 20% off") == "coffee_beans"
    assert product_type_of("Aero bike helmet, size M") == "bike_helmet"
    assert product_type_of("Phone case for the new model") == "phone_case"


def test_a_title_says_more_than_a_sku_and_a_sku_more_than_a_brand():
    assert product_type_of("Backpacking stove", sku="TENT-2P") == "camping_stove"
    assert product_type_of(None, sku="TENT-2P", brand="Brompton") == "tent"
    assert product_type_of(None, sku="X-991", brand="Brompton") == "bicycle"
    assert product_type_of(None, sku="X-991", brand="De'Longhi") == "espresso_machine"


def test_the_items_category_breaks_a_tie_between_equally_long_matches():
    # "tablet" is a computer in computing; the vocabulary has one type per phrase, so the category
    # only ever breaks ties between different phrases of the same length
    assert product_type_of("Tablet and pen bundle", category="computing") == "tablet"


def test_unknown_or_empty_text_is_no_product_type():
    assert product_type_of("Gift wrapping") is None
    assert product_type_of("") is None
    assert product_type_of(None, sku="SKU-123", brand="Unknown Brand Ltd") is None
    assert product_type_of("🎁✨ ??? ---") is None


def test_several_items_give_the_set_of_their_types_unknowns_left_out():
    items = [
        ("Trailhead tent", "TENT-2P", None, "camping"),
        ("Mystery box", "MB-1", None, "gifts"),
        (None, "BAG", "Big Agnes", "camping"),
    ]
    assert product_types_of(items) == frozenset({"tent"})


def test_every_type_sits_in_a_category_of_the_taxonomy_and_the_vocabulary_stays_small():
    assert set(CATEGORY_OF.values()) <= set(CATEGORIES)
    assert 30 <= len(PRODUCT_TYPES) <= 100  # tens, not thousands: the types are learning features


@given(st.text(max_size=300), st.text(max_size=130), st.text(max_size=130))
def test_any_text_gives_a_known_type_or_none(title, sku, brand):
    found = product_type_of(title, sku, brand)
    assert found is None or found in PRODUCT_TYPES


def test_consumables_run_out_and_durable_goods_do_not():
    assert runs_out_after_days("coffee_beans") == 30
    assert runs_out_after_days("dog_food") == 30
    assert runs_out_after_days("bicycle") is None and runs_out_after_days(None) is None
    assert all(7 <= days <= 120 for days in RUNS_OUT_AFTER_DAYS.values())  # a follow-up, not a year out
