"""Reconciliation: the day's aggregates and totals equal the ledger, whatever the record order."""

from collections import Counter, defaultdict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from afterglow.reconciliation import (
    AGGREGATE_COLUMNS,
    NO_PARTNER,
    aggregate,
    aggregate_day,
    aggregates_csv,
    merge,
    read_csv,
    totals,
)

Record = dict[str, Any]


def record(kind: str, **fields: Any) -> Record:
    base: Record = {
        "kind": kind,
        "retailer_id": "ret_1",
        "partner_id": "par_1",
        "offer_id": "off_1",
        "arm": "mixed",
        "currency": "EUR",
        "decision_id": "dec_1",
    }
    return {**base, **fields}


# --- per cell ------------------------------------------------------------------------------------


def test_records_are_counted_in_their_retailer_partner_offer_arm_currency_cell():
    # Given a day with a decision, two offers shown, one clicked and converted, one reversed
    records = [
        record("decision", partner_id=None, offer_id=None, order_value_minor=12_900),
        record("impression"),
        record("impression", partner_id="par_2", offer_id="off_2"),
        record("click"),
        record("conversion", conversion_id="c1", action="signup", payout_minor=700),
        record("conversion", conversion_id="c2", action="first_purchase", payout_minor=1_500),
        record("reversal", conversion_id="c2", reversal_id="r1", action="first_purchase", payout_minor=-500),
        record("dismiss", partner_id="par_2", offer_id="off_2"),
        record("survey_answer"),  # not counted here
    ]
    # When they are aggregated
    cells = aggregate(records)
    # Then each cell holds its own counters
    assert set(cells) == {
        ("ret_1", NO_PARTNER, NO_PARTNER, "mixed", "EUR"),
        ("ret_1", "par_1", "off_1", "mixed", "EUR"),
        ("ret_1", "par_2", "off_2", "mixed", "EUR"),
    }
    decision = cells["ret_1", NO_PARTNER, NO_PARTNER, "mixed", "EUR"]
    assert decision.decisions == 1
    converted = cells["ret_1", "par_1", "off_1", "mixed", "EUR"]
    assert (converted.impressions, converted.clicks, converted.conversions) == (1, 1, 2)
    assert (converted.gross_minor, converted.reversals, converted.reversed_minor) == (2_200, 1, 500)
    assert converted.net_minor == 1_700
    dismissed = cells["ret_1", "par_2", "off_2", "mixed", "EUR"]
    assert (dismissed.impressions, dismissed.dismissals, dismissed.clicks) == (1, 1, 0)


def test_the_same_offer_in_two_currencies_is_two_cells():
    cells = aggregate(
        [
            record("conversion", conversion_id="c1", payout_minor=700, currency="EUR"),
            record("conversion", conversion_id="c2", payout_minor=900, currency="USD"),
        ]
    )
    assert cells["ret_1", "par_1", "off_1", "mixed", "EUR"].gross_minor == 700
    assert cells["ret_1", "par_1", "off_1", "mixed", "USD"].gross_minor == 900


def test_totals_keep_money_per_currency():
    cells = aggregate(
        [
            record("conversion", conversion_id="c1", payout_minor=700, currency="EUR"),
            record("conversion", conversion_id="c2", payout_minor=900, currency="USD"),
            record("conversion", conversion_id="c3", payout_minor=100, currency="EUR", offer_id="off_2"),
        ]
    )
    summary = totals(cells)
    assert summary["conversions"] == 3
    assert summary["gross_minor_by_currency"] == {"EUR": 800, "USD": 900}


def test_aggregates_csv_has_one_row_per_cell_with_its_counters():
    cells = aggregate([record("click"), record("click"), record("impression")])
    rows = read_csv(aggregates_csv(cells))
    assert list(rows[0]) == AGGREGATE_COLUMNS
    assert len(rows) == 1
    assert (rows[0]["partner_id"], rows[0]["clicks"], rows[0]["impressions"]) == ("par_1", "2", "1")


# --- against a naive recount of random ledgers ---------------------------------------------------


KINDS = [
    "decision",
    "impression",
    "engage",
    "dismiss",
    "click",
    "conversion",
    "reversal",
    "rejected_conversion",
    "accept",
    "survey_answer",  # not counted
]


def ledger_record(
    kind: str,
    retailer_id: str,
    partner_id: str | None,
    offer_id: str | None,
    arm: str,
    currency: str,
    decision_id: str | None,
    action: str | None,
    number: int,
    amount: int,
) -> Record:
    """One ledger record of `kind`; `amount` is its order value, payout or own-brand revenue."""
    fields: Record = {
        "kind": kind,
        "retailer_id": retailer_id,
        "partner_id": partner_id,
        "offer_id": offer_id,
        "arm": arm,
        "currency": currency,
        "decision_id": decision_id,
        "action": action,
        "conversion_id": f"c{number}",
    }
    if kind == "decision":
        fields["order_value_minor"] = amount
    elif kind == "conversion":
        fields["payout_minor"] = amount
    elif kind == "reversal":
        fields["payout_minor"] = -amount  # a reversal's payout is negative
        fields["reversal_id"] = f"r{number}"
    elif kind == "accept":
        fields["own_brand_revenue_minor"] = amount
    return fields


RANDOM_LEDGERS = 100  # each example is a whole ledger: fewer, larger examples
ledgers = st.lists(
    st.builds(
        ledger_record,
        kind=st.sampled_from(KINDS),
        retailer_id=st.sampled_from(["ret_1", "ret_2"]),
        partner_id=st.sampled_from(["par_1", "par_2", None]),
        offer_id=st.sampled_from(["off_1", "off_2", None]),
        arm=st.sampled_from(["mixed", "holdout", "partner_only"]),
        currency=st.sampled_from(["EUR", "USD", "GBP"]),
        decision_id=st.sampled_from(["dec_1", "dec_2", "dec_3", None]),
        action=st.sampled_from(["signup", "first_purchase", None]),
        number=st.integers(min_value=0, max_value=1_000),
        amount=st.integers(min_value=0, max_value=10**7),
    ),
    max_size=30,
)


def sum_by_currency(records: list[Record], kind: str, field: str, sign: int = 1) -> dict[str, int]:
    sums: dict[str, int] = defaultdict(int)
    for r in records:
        if r["kind"] == kind:
            sums[r["currency"]] += sign * r[field]
    return {currency: amount for currency, amount in sorted(sums.items()) if amount}


@settings(max_examples=RANDOM_LEDGERS)
@given(records=ledgers)
def test_totals_equal_a_naive_recount_of_the_ledger(records):
    summary = totals(aggregate(records))
    kinds = Counter(r["kind"] for r in records)
    assert summary["decisions"] == kinds["decision"]
    assert summary["impressions"] == kinds["impression"]
    assert summary["engagements"] == kinds["engage"]
    assert summary["dismissals"] == kinds["dismiss"]
    assert summary["clicks"] == kinds["click"]
    assert summary["conversions"] == kinds["conversion"]
    assert summary["reversals"] == kinds["reversal"]
    assert summary["rejected_conversions"] == kinds["rejected_conversion"]
    assert summary["accepts"] == kinds["accept"]
    assert summary["gross_minor_by_currency"] == sum_by_currency(records, "conversion", "payout_minor")
    assert summary["reversed_minor_by_currency"] == sum_by_currency(records, "reversal", "payout_minor", -1)
    assert summary["own_brand_revenue_minor_by_currency"] == sum_by_currency(
        records, "accept", "own_brand_revenue_minor"
    )


@settings(max_examples=RANDOM_LEDGERS)
@given(records=ledgers)
def test_every_cells_net_is_its_gross_less_its_reversals(records):
    for cell in aggregate(records).values():
        assert cell.net_minor == cell.gross_minor - cell.reversed_minor


@settings(max_examples=RANDOM_LEDGERS)
@given(records=ledgers, data=st.data())
def test_aggregates_csv_is_byte_identical_whatever_the_record_order(records, data):
    shuffled = data.draw(st.permutations(records))
    assert aggregates_csv(aggregate(shuffled)) == aggregates_csv(aggregate(records))


@settings(max_examples=RANDOM_LEDGERS)
@given(records=ledgers, data=st.data())
def test_merging_two_shards_equals_aggregating_the_whole_day(records, data):
    cut = data.draw(st.integers(min_value=0, max_value=len(records)))
    first, second = aggregate_day(records[:cut]), aggregate_day(records[cut:])
    merged = merge(first, second)
    assert aggregates_csv(merged.cells) == aggregates_csv(aggregate(records))
    assert merged.cells == merge(second, first).cells
