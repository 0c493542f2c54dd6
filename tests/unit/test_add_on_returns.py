"""Returns of own-brand add-ons: the refusal of over-returns, the return rate, the flag, and what
reconciliation makes of them (net own-brand revenue, in the read-out per arm and per offer)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from afterglow import experiments, offer_figures, reconciliation
from afterglow.models import RetailerCreate
from afterglow.returns import (
    AcceptedAddOn,
    ReturnExceedsAccepted,
    ReturnExceedsQuantity,
    check_return,
    exceeds_flag_rate,
    return_rate,
)

SHOP = "ret_1"


def _add_on(added_minor: int = 2598, quantity: int = 2, returned_minor: int = 0, returned_units: int = 0):
    return AcceptedAddOn(
        retailer_id=SHOP,
        decision_id="dec_1",
        offer_id="own_1",
        partner_id=SHOP,
        arm="mixed",
        currency="EUR",
        quantity=quantity,
        added_minor=added_minor,
        returned_minor=returned_minor,
        returned_units=returned_units,
    )


def test_a_return_up_to_what_is_left_passes_and_one_cent_more_is_refused():
    add_on = _add_on(returned_minor=2000)
    check_return(add_on, 598, None)
    with pytest.raises(ReturnExceedsAccepted) as refused:
        check_return(add_on, 599, None)
    assert refused.value.field == "amount_minor" and "598 EUR" in refused.value.message


def test_units_are_bounded_but_a_refund_without_goods_back_uses_none():
    # Given one of two units back already
    add_on = _add_on(returned_minor=1299, returned_units=1)
    # Then a partial refund without goods back passes, and a second unit passes, but not two
    check_return(add_on, 100, None)
    check_return(add_on, 1299, 1)
    with pytest.raises(ReturnExceedsQuantity):
        check_return(add_on, 1299, 2)


@given(st.integers(1, 10**6), st.lists(st.integers(1, 10**6), max_size=30))
def test_returns_passed_one_after_another_never_add_up_to_more_than_was_added(added, amounts):
    returned = 0
    for amount in amounts:
        try:
            check_return(_add_on(added_minor=added, quantity=1, returned_minor=returned), amount, None)
        except ReturnExceedsAccepted:
            continue
        returned += amount
    assert 0 <= returned <= added


@pytest.mark.parametrize(
    ("returned", "added", "rate", "flagged"),
    [
        (200, 1000, 0.2, False),  # exactly the threshold is not over it
        (201, 1000, 0.2, True),
        (0, 1000, 0.0, False),  # no returns are never flagged
        (1, 1000, 0.0, True),
        (1000, 1000, 1.0, False),
        (300, 0, 1.0, True),  # returns on a day without accepts exceed what that day added
    ],
)
def test_an_offer_is_flagged_only_when_its_returns_exceed_the_rate(returned, added, rate, flagged):
    assert exceeds_flag_rate(returned, added, rate) is flagged


def test_the_return_rate_is_by_amount_and_undefined_when_nothing_was_added():
    assert return_rate(1299, 2598) == 0.5
    assert return_rate(300, 0) is None


@pytest.mark.parametrize("rate", [-0.01, 1.01, "20%"])
def test_the_return_flag_rate_setting_is_a_share_from_0_to_1(rate):
    with pytest.raises(ValidationError):
        RetailerCreate(name="Shop", currency="EUR", return_flag_rate=rate)
    assert RetailerCreate(name="Shop", currency="EUR").return_flag_rate == 0.2


def _own_brand(kind: str, decision_id: str, **fields: object) -> dict[str, object]:
    """A ledger record of the shop's add-on `own_1` in the mixed arm."""
    return {
        "kind": kind,
        "retailer_id": SHOP,
        "partner_id": SHOP,
        "offer_id": "own_1",
        "arm": "mixed",
        "currency": "EUR",
        "decision_id": decision_id,
        **fields,
    }


def _accept(decision_id: str, revenue: int, quantity: int = 1):
    return _own_brand("accept", decision_id, quantity=quantity, own_brand_revenue_minor=revenue)


def _return(decision_id: str, amount: int, quantity: int | None = 1):
    units = {"quantity": quantity} if quantity is not None else {}
    return _own_brand("return", decision_id, return_id=f"rma-{decision_id}", amount_minor=amount, **units)


def _decision(decision_id: str, arm: str = "mixed"):
    return {
        "kind": "decision",
        "retailer_id": SHOP,
        "arm": arm,
        "decision_id": decision_id,
        "currency": "EUR",
    }


DAY = [
    *(_decision(f"d{n}") for n in range(4)),
    _accept("d0", 2000, quantity=2),
    _accept("d1", 1000),
    _accept("d2", 1000),
    _return("d0", 1000),
    _return("d1", 200, quantity=None),  # a partial refund, no goods back
    _return("dEarlier", 500),  # of an add-on accepted on an earlier day: booked today
]


def test_the_read_out_per_offer_shows_returns_net_revenue_and_the_flag():
    cells = reconciliation.aggregate(DAY)
    [row] = offer_figures.offer_returns(cells.items(), {SHOP: 0.5})
    assert (row.accepts, row.accepted_units, row.added_minor) == (3, 4, 4000)
    assert (row.returns, row.returned_units, row.returned_minor) == (3, 2, 1700)
    assert (row.net_minor, row.return_rate, row.returns_per_accept) == (2300, 0.425, 1.0)
    assert (row.flag_rate, row.flagged) == (0.5, False)
    # And at the default rate (20%) the same offer is flagged
    assert offer_figures.offer_returns(cells.items())[0].flagged


def test_experiment_revenue_is_net_of_returns_booked_on_the_day_recorded():
    found = experiments.metrics(reconciliation.aggregate_day(DAY))
    [arm] = experiments.readout(found)
    assert (arm.accepts, arm.returns, arm.revenue_minor) == (3, 3, 4000 - 1700)
    # d0 kept 1000, d1 800, d2 1000, and the earlier day's decision lost 500 today
    assert found[(SHOP, "mixed", "revenue_sq", "EUR")] == 1000**2 + 800**2 + 1000**2 + 500**2
    [by_source] = experiments.revenue_by_source(reconciliation.aggregate(DAY).items())
    assert (by_source.partner_minor, by_source.own_brand_minor) == (0, 2300)
    # And the take rate still counts the decisions that took an add-on, returned or not
    assert arm.taken == 3


def test_shards_merged_in_any_order_equal_one_pass_with_returns():
    whole = reconciliation.aggregate_day(DAY)
    parts = reconciliation.merge(reconciliation.aggregate_day(DAY[5:]), reconciliation.aggregate_day(DAY[:5]))
    assert parts.cells == whole.cells and parts.offer_revenue == whole.offer_revenue
    assert reconciliation.partial_from_json(reconciliation.partial_to_json(whole)).cells == whole.cells
