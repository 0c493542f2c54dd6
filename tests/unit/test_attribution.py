"""Attribution: whether a partner's conversion counts, and what it pays. Terms are the click's."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from afterglow.attribution import (
    Attributed,
    Click,
    OfferTerms,
    RecordedConversion,
    Refused,
    TakenBack,
    attribute,
    reversal_amount,
)
from afterglow.models import ConversionWebhook, FixedPayout, Payout, PercentPayout, ReversalWebhook
from afterglow.money import percent_of

CLICKED_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NOW = CLICKED_AT + timedelta(days=2)
WINDOW_DAYS = 30
FIXED = FixedPayout(currency="EUR", amounts={"signup": 700, "first_purchase": 1_500})


def click(payout: Payout = FIXED, *, partner_id: str = "par_1", currency: str = "EUR") -> Click:
    return Click(
        click_id="clk_1",
        retailer_id="ret_1",
        partner_id=partner_id,
        offer_id="off_1",
        decision_id="dec_1",
        arm="mixed",
        clicked_at=CLICKED_AT,
        terms=OfferTerms(
            payout=payout, attribution_window_days=WINDOW_DAYS, lock_days=30, allow_repeat_conversions=False
        ),
        context={},
        currency=currency,
    )


def conversion(
    *,
    occurred_at: datetime = CLICKED_AT + timedelta(hours=1),
    action: str = "signup",
    amount_minor: int | None = None,
    currency: str | None = None,
) -> ConversionWebhook:
    return ConversionWebhook(
        click_id="clk_1",
        conversion_id="conv-1",
        action=action,
        amount_minor=amount_minor,
        currency=currency,
        occurred_at=occurred_at,
    )


# --- which conversions count ---------------------------------------------------------------------


def test_a_conversion_of_an_unknown_click_is_refused():
    assert attribute(conversion(), "par_1", None, NOW) == Refused("unknown_click")


def test_partner_cannot_convert_another_partners_click():
    # Given a click on par_1's offer
    # When par_2 reports a conversion for it
    result = attribute(conversion(), "par_2", click(partner_id="par_1"), NOW)
    # Then nothing is paid
    assert result == Refused("click_belongs_to_another_partner")


def test_a_conversion_before_the_click_is_refused_beyond_clock_skew():
    early = conversion(occurred_at=CLICKED_AT - timedelta(minutes=5, seconds=1))
    assert attribute(early, "par_1", click(), NOW) == Refused("conversion_before_click")


def test_a_conversion_a_few_minutes_before_the_click_is_tolerated_as_clock_skew():
    slightly_early = conversion(occurred_at=CLICKED_AT - timedelta(minutes=5))
    assert attribute(slightly_early, "par_1", click(), NOW) == Attributed(700, "EUR")


def test_a_conversion_after_the_attribution_window_is_refused():
    late = conversion(occurred_at=CLICKED_AT + timedelta(days=WINDOW_DAYS, seconds=1))
    now = CLICKED_AT + timedelta(days=WINDOW_DAYS + 1)
    assert attribute(late, "par_1", click(), now) == Refused("outside_attribution_window")


def test_a_conversion_on_the_last_moment_of_the_window_counts():
    last_moment = conversion(occurred_at=CLICKED_AT + timedelta(days=WINDOW_DAYS))
    now = CLICKED_AT + timedelta(days=WINDOW_DAYS + 1)
    assert attribute(last_moment, "par_1", click(), now) == Attributed(700, "EUR")


def test_a_conversion_said_to_occur_in_the_future_is_refused():
    future = conversion(occurred_at=NOW + timedelta(minutes=5, seconds=1))
    assert attribute(future, "par_1", click(), NOW) == Refused("occurred_in_future")


def test_a_conversion_a_few_minutes_ahead_of_our_clock_is_tolerated():
    ahead = conversion(occurred_at=NOW + timedelta(minutes=5))
    assert attribute(ahead, "par_1", click(), NOW) == Attributed(700, "EUR")


def test_occurred_at_in_another_timezone_is_compared_as_the_same_instant():
    # 13:00+02:00 is 11:00 UTC: an hour before the 12:00 UTC click
    berlin = timezone(timedelta(hours=2))
    before = conversion(occurred_at=datetime(2026, 11, 20, 13, 0, tzinfo=berlin))
    assert attribute(before, "par_1", click(), NOW) == Refused("conversion_before_click")


# --- what a conversion pays ----------------------------------------------------------------------


@pytest.mark.parametrize(("action", "paid"), [("signup", 700), ("first_purchase", 1_500)])
def test_a_fixed_payout_pays_the_amount_of_the_action_in_the_offers_currency(action, paid):
    assert attribute(conversion(action=action), "par_1", click(), NOW) == Attributed(paid, "EUR")


def test_a_fixed_payout_ignores_the_basket_amount_the_partner_reports():
    reported = conversion(action="signup", amount_minor=99_999, currency="USD")
    assert attribute(reported, "par_1", click(), NOW) == Attributed(700, "EUR")


def test_an_action_the_fixed_payout_does_not_pay_for_is_refused():
    assert attribute(conversion(action="subscription"), "par_1", click(), NOW) == Refused(
        "action_not_paid_by_offer"
    )


def test_an_action_the_percent_payout_does_not_pay_for_is_refused():
    percent = PercentPayout(bps=1_000, actions=["first_purchase"])
    signup = conversion(action="signup", amount_minor=10_000, currency="EUR")
    assert attribute(signup, "par_1", click(percent), NOW) == Refused("action_not_paid_by_offer")


def test_a_percent_payout_requires_the_basket_amount():
    percent = PercentPayout(bps=1_000)
    no_amount = conversion(action="first_purchase")
    assert attribute(no_amount, "par_1", click(percent), NOW) == Refused(
        "amount_required_for_percentage_payout"
    )


def test_a_percent_payout_rounds_half_up_and_carries_the_conversions_currency():
    # 12.5% of 12 345 is 1543.125; 15% of 10 is 1.5
    percent = PercentPayout(bps=1_250)
    assert attribute(
        conversion(action="first_purchase", amount_minor=12_345, currency="USD"),
        "par_1",
        click(percent, currency="USD"),
        NOW,
    ) == Attributed(1_543, "USD")
    assert attribute(
        conversion(action="first_purchase", amount_minor=10, currency="GBP"),
        "par_1",
        click(PercentPayout(bps=1_500), currency="GBP"),
        NOW,
    ) == Attributed(2, "GBP")


def test_a_percent_payout_on_a_basket_in_another_currency_than_the_shops_is_refused():
    in_dollars = conversion(action="first_purchase", amount_minor=10_000, currency="USD")
    assert attribute(in_dollars, "par_1", click(PercentPayout(bps=1_000)), NOW) == Refused(
        "currency_mismatch"
    )


@settings(max_examples=200)
@given(
    amount_minor=st.integers(min_value=0, max_value=10**12),
    bps=st.integers(min_value=1, max_value=10_000),
    currency=st.sampled_from(["EUR", "USD", "GBP", "JPY"]),
)
def test_a_percent_payout_is_percent_of_the_converted_amount(amount_minor, bps, currency):
    converted = conversion(action="first_purchase", amount_minor=amount_minor, currency=currency)
    result = attribute(converted, "par_1", click(PercentPayout(bps=bps), currency=currency), NOW)
    assert result == Attributed(percent_of(amount_minor, bps), currency)


# --- reversals -----------------------------------------------------------------------------------


def recorded(
    *, payout_minor: int = 1_000, amount_minor: int | None = 10_000, reversed_minor: int = 0
) -> RecordedConversion:
    return RecordedConversion(
        payout_minor=payout_minor,
        currency="EUR",
        amount_minor=amount_minor,
        reversed_minor=reversed_minor,
        locks_at=NOW + timedelta(days=10),
    )


def reversal(amount_minor: int | None = None, currency: str | None = None) -> ReversalWebhook:
    return ReversalWebhook(
        type="reversal",
        conversion_id="conv-1",
        reversal_id="rev-1",
        amount_minor=amount_minor,
        currency=currency if currency or amount_minor is None else "EUR",
        occurred_at=NOW,
    )


def test_a_full_reversal_takes_back_what_is_not_yet_reversed():
    # ... and refunds the rest of the basket
    assert reversal_amount(reversal(), recorded(reversed_minor=300), NOW) == TakenBack(700, "EUR", 10_000)


def test_a_partial_refund_is_prorated_and_rounded_half_up():
    # 1 000 × 2 345 / 10 000 = 234.5
    assert reversal_amount(reversal(2_345), recorded(), NOW) == TakenBack(235, "EUR", 2_345)


def test_a_locked_conversion_cannot_be_reversed():
    assert reversal_amount(reversal(), recorded(), NOW + timedelta(days=10)) == Refused("conversion_locked")


def test_a_reversal_of_an_unknown_conversion_is_refused():
    assert reversal_amount(reversal(), None, NOW) == Refused("unknown_conversion")


def test_a_reversal_in_another_currency_is_refused():
    assert reversal_amount(reversal(100, "USD"), recorded(), NOW) == Refused("currency_mismatch")


def _refund_in_parts(payout_minor: int, amount_minor: int, parts: list[int]) -> list[int]:
    """Apply partial refunds one after the other, as the ledger records them; the payouts taken back."""
    conversion = recorded(payout_minor=payout_minor, amount_minor=amount_minor)
    taken = []
    for part in parts:
        result = reversal_amount(reversal(part), conversion, NOW)
        if isinstance(result, Refused):  # only once nothing is left to take back
            assert result.reason == "already_fully_reversed" and sum(taken) == payout_minor
            taken.append(0)
            continue
        taken.append(result.payout_minor)
        conversion = replace(
            conversion,
            reversed_minor=conversion.reversed_minor + result.payout_minor,
            refunded_minor=conversion.refunded_minor + result.refund_minor,
        )
    return taken


@st.composite
def basket_split(draw: st.DrawFn) -> tuple[int, int, list[int]]:
    """A conversion (payout, basket) and its basket cut into 1..8 positive parts."""
    amount = draw(st.integers(min_value=1, max_value=10**9))
    payout = draw(st.integers(min_value=0, max_value=amount))
    cuts = draw(st.sets(st.integers(min_value=1, max_value=amount - 1), max_size=7)) if amount > 1 else set()
    bounds = [0, *sorted(cuts), amount]
    return payout, amount, [high - low for low, high in pairwise(bounds)]


def test_a_basket_refunded_in_four_parts_takes_back_the_whole_payout():
    # 1 001 x 2 501 / 10 007 and 1 001 x 2 502 / 10 007 each round down: per part, a cent stays billed
    assert sum(_refund_in_parts(1_001, 10_007, [2_501, 2_502, 2_502, 2_502])) == 1_001


@settings(max_examples=300)
@given(basket_split())
def test_refunds_that_add_up_to_the_basket_take_back_exactly_the_payout_and_never_more(split):
    payout, amount, parts = split
    taken = _refund_in_parts(payout, amount, parts)
    assert sum(taken) == payout
    # And at every step what is taken back so far is the prorated share of what is refunded so far
    for n in range(1, len(parts) + 1):
        assert sum(taken[:n]) == (payout * sum(parts[:n]) * 2 + amount) // (2 * amount) <= payout


def test_refunds_together_never_exceed_the_converted_basket():
    refunded = replace(recorded(reversed_minor=600, amount_minor=10_000), refunded_minor=6_000)
    assert reversal_amount(reversal(6_000), refunded, NOW) == Refused("refund_exceeds_converted_amount")
    assert reversal_amount(reversal(4_000), refunded, NOW) == TakenBack(400, "EUR", 4_000)


def test_a_refund_of_nothing_is_not_a_reversal():
    with pytest.raises(ValidationError, match="amount_minor"):
        reversal(0)
