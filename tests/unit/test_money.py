"""Money in minor units: shares rounded half up, and no minor unit ever created or lost."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afterglow.money import percent_of, split_revenue

amounts = st.integers(min_value=0, max_value=10**12)
basis_points = st.integers(min_value=0, max_value=10_000)


@pytest.mark.parametrize(
    ("amount_minor", "bps", "expected"),
    [
        (10_000, 5_000, 5_000),  # exact
        (1, 5_000, 1),  # 0.5 rounds up
        (3, 5_000, 2),  # 1.5 rounds up
        (5, 5_000, 3),  # 2.5 rounds up, not to even
        (1, 4_999, 0),  # 0.4999 rounds down
        (10, 1_250, 1),  # 1.25 rounds down
        (10, 1_500, 2),  # 1.5 rounds up
        (199, 2_500, 50),  # 49.75 rounds up
        (12_345, 1_250, 1_543),  # 1543.125 rounds down
        (0, 7_000, 0),
        (987, 0, 0),
        (987, 10_000, 987),
    ],
)
def test_percent_of_rounds_half_up_to_the_minor_unit(amount_minor, bps, expected):
    assert percent_of(amount_minor, bps) == expected


@settings(max_examples=200)
@given(amount_minor=amounts, bps=basis_points)
def test_percent_of_is_within_half_a_minor_unit_of_the_exact_share(amount_minor, bps):
    exact_times_10k = amount_minor * bps
    assert -5_000 < percent_of(amount_minor, bps) * 10_000 - exact_times_10k <= 5_000


@settings(max_examples=200)
@given(amount_minor=amounts, retailer_bps=basis_points)
def test_revenue_split_always_sums_to_the_amount_and_is_never_negative(amount_minor, retailer_bps):
    # When partner revenue is split between retailer and platform
    retailer, platform = split_revenue(amount_minor, retailer_bps)
    # Then nothing is created or lost, and neither side owes money
    assert retailer + platform == amount_minor
    assert retailer >= 0
    assert platform >= 0
    # And the retailer gets its share rounded half up
    assert retailer == percent_of(amount_minor, retailer_bps)


def test_a_full_share_goes_to_the_retailer_and_none_to_the_retailer_at_zero():
    assert split_revenue(1_001, 10_000) == (1_001, 0)
    assert split_revenue(1_001, 0) == (0, 1_001)
    assert split_revenue(1, 5_000) == (1, 0)  # the half unit goes to the retailer


@pytest.mark.parametrize(("amount_minor", "bps"), [(-1, 5_000), (100, -1), (100, 10_001)])
def test_percent_of_rejects_negative_amounts_and_out_of_range_basis_points(amount_minor, bps):
    with pytest.raises(ValueError):
        percent_of(amount_minor, bps)


@pytest.mark.parametrize(("amount_minor", "bps"), [(-1, 5_000), (100, -1), (100, 10_001)])
def test_split_revenue_rejects_invalid_inputs(amount_minor, bps):
    with pytest.raises(ValueError):
        split_revenue(amount_minor, bps)
