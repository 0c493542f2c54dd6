"""Invoices and statements: parts always sum exactly to the whole (the rounding rule, property-tested)."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from afterglow.invoicing import (
    STATEMENT_COLUMNS,
    MonthRollup,
    apportion,
    invoice_csv,
    invoices,
    share_of,
    statement_csv,
    statements,
)
from afterglow.money import split_revenue
from afterglow.reconciliation import read_csv

bps_values = st.integers(0, 10_000)
nets = st.lists(st.integers(-1_000_000, 1_000_000), max_size=25)


@given(st.integers(0, 10**12), bps_values)
def test_share_of_a_positive_net_is_money_split_revenue(net, bps):
    assert share_of(net, bps) == split_revenue(net, bps)[0]


@given(st.integers(0, 10**12), bps_values)
def test_a_charge_and_its_credit_cancel_to_the_minor_unit(net, bps):
    assert share_of(net, bps) + share_of(-net, bps) == 0


@given(nets, bps_values)
def test_apportioned_line_shares_sum_to_the_total_share_and_stay_within_one_unit(line_nets, bps):
    total = share_of(sum(line_nets), bps)
    shares = apportion(total, line_nets, bps)
    assert sum(shares) == total
    for net, share in zip(line_nets, shares, strict=True):
        assert abs(share - Fraction(net * bps, 10_000)) < 1


def test_apportion_refuses_a_total_that_is_not_the_rounded_share():
    with pytest.raises(ValueError, match="rounded share"):
        apportion(5, [1, 1], 5_000)


def test_largest_remainders_get_the_leftover_units_first():
    # 3 lines of 1 at 50%: exact 0.5 each, total 1.5 -> 2 (half up); the first two lines (ties) get them
    assert apportion(share_of(3, 5_000), [1, 1, 1], 5_000) == [1, 1, 0]
    # remainders .9, .1, .5 of [9, 1, 5] at 10% and total share round(1.5) = 2: floors 0,0,0 + two units
    assert apportion(share_of(15, 1_000), [9, 1, 5], 1_000) == [1, 0, 1]


action_row = st.fixed_dictionaries(
    {
        "retailer_id": st.sampled_from(["ret_a", "ret_b", "ret_c"]),
        "partner_id": st.sampled_from(["par_1", "par_2"]),
        "offer_id": st.sampled_from(["off_1", "off_2"]),
        "arm": st.sampled_from(["mixed", "partner_only"]),
        "currency": st.sampled_from(["EUR", "USD"]),
        "action": st.sampled_from(["signup", "first_purchase", "subscription"]),
        "conversions": st.integers(0, 50),
        "gross_minor": st.integers(0, 100_000),
        "reversals": st.integers(0, 5),
        "reversed_minor": st.integers(0, 200_000),
    }
)


def _as_csv_row(row: dict) -> dict[str, str]:
    return {
        **{k: str(v) for k, v in row.items()},
        "net_minor": str(row["gross_minor"] - row["reversed_minor"]),
    }


@given(
    st.lists(action_row, max_size=30),
    st.dictionaries(st.sampled_from(["ret_a", "ret_b", "ret_c"]), bps_values),
)
def test_statements_and_invoices_sum_exactly_to_their_totals_and_to_each_other(rows, shares):
    rollup = MonthRollup("2026-03")
    rollup.add_actions(_as_csv_row(row) for row in rows)
    partner_totals: dict[str, int] = {}
    for invoice in invoices(rollup, complete=True):
        for currency, total in invoice.totals.items():
            assert total["net_minor"] == sum(
                line.net_minor for line in invoice.lines if line.currency == currency
            )
            assert total["net_minor"] == total["gross_minor"] - total["reversed_minor"]
            partner_totals[currency] = partner_totals.get(currency, 0) + total["net_minor"]
    statement_totals: dict[str, int] = {}
    for statement in statements(rollup, shares, complete=True):
        bps = shares[statement.retailer_id]
        for currency, total in statement.totals.items():
            lines = [line for line in statement.partner_lines if line.currency == currency]
            assert total["partner_net_minor"] == sum(line.net_minor for line in lines)
            assert total["retailer_share_minor"] == share_of(total["partner_net_minor"], bps)
            assert total["retailer_share_minor"] + total["platform_share_minor"] == total["partner_net_minor"]
            assert total["retailer_share_minor"] == sum(line.retailer_share_minor for line in lines)
            assert all(
                line.retailer_share_minor + line.platform_share_minor == line.net_minor for line in lines
            )
            statement_totals[currency] = statement_totals.get(currency, 0) + total["partner_net_minor"]
    covered = {row["retailer_id"] for row in rows} <= shares.keys()
    if covered:  # every euro a partner is invoiced appears on exactly one retailer's statement
        assert {c: v for c, v in partner_totals.items()} == statement_totals


def test_a_statement_shows_partner_revenue_apart_from_own_brand_revenue():
    rollup = MonthRollup("2026-03", days=["2026-03-01"])
    rollup.add_actions(
        [
            _as_csv_row(_row("par_1", "signup", conversions=3, gross_minor=1001)),
            _as_csv_row(_row("par_2", "first_purchase", conversions=1, gross_minor=2000, reversed_minor=500)),
        ]
    )
    rollup.add_aggregates(
        [
            {
                "retailer_id": "ret_a",
                "offer_id": "off_fp",
                "currency": "EUR",
                "accepts": "2",
                "own_brand_revenue_minor": "2598",
            }
        ]
    )
    (statement,) = statements(rollup, {"ret_a": 3_333}, complete=False)
    # partner net 1001 + 1500 = 2501; 33.33% = 833.5833 -> 834 retailer, 1667 platform
    assert statement.totals["EUR"] == {
        "partner_net_minor": 2501,
        "retailer_share_minor": 834,
        "platform_share_minor": 1667,
        "own_brand_revenue_minor": 2598,
        "retailer_total_minor": 834 + 2598,
    }
    rows = read_csv(statement_csv(statement))
    assert list(rows[0]) == STATEMENT_COLUMNS
    assert [row["line_type"] for row in rows] == ["partner_revenue", "partner_revenue", "own_brand"]
    assert sum(int(row["retailer_share_minor"]) for row in rows if row["retailer_share_minor"]) == 834
    assert rows[2]["retailer_share_minor"] == "" and rows[2]["net_minor"] == "2598"


def test_invoice_lines_are_per_retailer_and_action():
    rollup = MonthRollup("2026-03")
    rollup.add_actions(
        [
            _as_csv_row(_row("par_1", "signup", conversions=2, gross_minor=1400)),
            _as_csv_row(_row("par_1", "signup", conversions=1, gross_minor=700, arm="partner_only")),
            _as_csv_row(
                _row("par_1", "first_purchase", conversions=1, gross_minor=1500, reversed_minor=1500)
            ),
        ]
    )
    (invoice,) = invoices(rollup, complete=True)
    rows = read_csv(invoice_csv(invoice))
    assert [(r["retailer_id"], r["action"], r["conversions"], r["net_minor"]) for r in rows] == [
        ("ret_a", "first_purchase", "1", "0"),
        ("ret_a", "signup", "3", "2100"),
    ]
    assert invoice.totals == {
        "EUR": {
            "conversions": 4,
            "gross_minor": 3600,
            "reversals": 1,
            "reversed_minor": 1500,
            "net_minor": 2100,
        }
    }


def _row(partner, action, *, conversions=0, gross_minor=0, reversed_minor=0, arm="mixed"):
    return {
        "retailer_id": "ret_a",
        "partner_id": partner,
        "offer_id": "off_1",
        "arm": arm,
        "currency": "EUR",
        "action": action,
        "conversions": conversions,
        "gross_minor": gross_minor,
        "reversals": 1 if reversed_minor else 0,
        "reversed_minor": reversed_minor,
    }
