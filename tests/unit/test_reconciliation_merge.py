"""Aggregation of ledger records: streaming fold, per-action money, and the mergeable partials."""

from hypothesis import given, settings
from hypothesis import strategies as st

from afterglow.reconciliation import (
    ACTION_COLUMNS,
    AGGREGATE_COLUMNS,
    DayAggregation,
    actions_csv,
    aggregate,
    aggregate_day,
    aggregates_csv,
    merge,
    merge_into,
    money_lines_csv,
    partial_from_json,
    partial_to_json,
    read_csv,
    totals,
)

KINDS = ["decision", "impression", "engage", "dismiss", "click", "accept", "conversion", "reversal"]
KINDS += ["rejected_conversion", "survey_answer"]


@st.composite
def ledger_record(draw: st.DrawFn) -> dict:
    """One ledger record of any kind, with ids from small pools so that records collide on cells."""
    kind = draw(st.sampled_from(KINDS))
    record = {
        "kind": kind,
        "at": f"2026-03-0{draw(st.integers(1, 2))}T{draw(st.integers(10, 23))}:00:00+00:00",
        "retailer_id": draw(st.sampled_from(["ret_a", "ret_b"])),
        "arm": draw(st.sampled_from(["holdout", "mixed", "partner_only"])),
        "decision_id": f"d{draw(st.integers(0, 12))}",
    }
    if kind == "decision":
        record.update(
            currency="EUR",
            order_value_minor=draw(st.integers(0, 50_000)),
            customer_hash=draw(st.sampled_from(["", "c1", "c2"])),
            order_id="o",
            offer_ids=draw(st.sampled_from([[], ["off_1"]])),
        )
    elif kind != "survey_answer":
        record.update(
            partner_id=draw(st.sampled_from(["par_1", "par_2"])),
            offer_id=draw(st.sampled_from(["off_1", "off_2", "off_3"])),
        )
    if kind == "accept":
        record.update(currency="EUR", own_brand_revenue_minor=draw(st.integers(0, 5_000)))
    if kind in ("conversion", "reversal"):
        payout = draw(st.integers(0, 10_000))
        record.update(
            currency=draw(st.sampled_from(["EUR", "USD"])),
            payout_minor=payout if kind == "conversion" else -payout,
            action=draw(st.sampled_from(["signup", "first_purchase"])),
            occurred_at="2026-02-28T12:00:00+00:00",
        )
    if kind == "rejected_conversion":
        record.update(reason=draw(st.sampled_from(["unknown_click", "outside_attribution_window"])))
    return record


def _unique_ids(records: list[dict]) -> list[dict]:
    """Ledger keys are unique: one decision record per decision, one record per conversion id."""
    for index, record in enumerate(records):
        record["conversion_id"] = f"c{index}"
        record["reversal_id"] = f"r{index}" if record["kind"] == "reversal" else ""
        if record["kind"] == "decision":
            record["decision_id"] = f"d{index}"
    return records


ledgers = st.lists(ledger_record(), max_size=30).map(_unique_ids)


@given(ledgers, st.data())
@settings(max_examples=60)
def test_merging_partials_equals_aggregating_the_concatenation(records, data):
    cut = data.draw(st.integers(0, len(records)))
    first, second = aggregate_day(records[:cut]), aggregate_day(records[cut:])
    assert merge(first, second) == aggregate_day(records)
    assert merge(second, first) == aggregate_day(records)


@given(ledgers, st.data())
@settings(max_examples=60)
def test_merge_is_associative_and_leaves_its_arguments_alone(records, data):
    i = data.draw(st.integers(0, len(records)))
    j = data.draw(st.integers(i, len(records)))
    a, b, c = (aggregate_day(part) for part in (records[:i], records[i:j], records[j:]))
    before = (merge(a, DayAggregation()), merge(b, DayAggregation()))
    assert merge(merge(a, b), c) == merge(a, merge(b, c))
    assert (a, b) == before


@given(ledgers)
@settings(max_examples=60)
def test_money_totals_equal_the_ledger_per_currency(records):
    cells = aggregate(records)
    expected: dict[str, int] = {}
    for record in records:
        if record["kind"] in ("conversion", "reversal"):
            expected[record["currency"]] = expected.get(record["currency"], 0) + record["payout_minor"]
    net = totals(cells)["net_minor_by_currency"]
    assert {c: v for c, v in expected.items() if v} == net


@given(ledgers)
@settings(max_examples=60)
def test_actions_split_each_cells_money_exactly(records):
    day = aggregate_day(records)
    for key, cell in day.cells.items():
        lines = [counters for action_key, counters in day.actions.items() if action_key[:5] == key]
        assert sum(line.net_minor for line in lines) == cell.net_minor
        assert sum(line.conversions for line in lines) == cell.conversions
        assert sum(line.reversed_minor for line in lines) == cell.reversed_minor


def test_conversions_are_counted_per_action_and_reversals_net_against_theirs():
    records = [
        _money("conversion", "c1", 700, "signup"),
        _money("conversion", "c2", 1500, "first_purchase"),
        _money("reversal", "c2", -500, "first_purchase", reversal_id="r1"),
    ]
    day = aggregate_day(records)
    rows = {row["action"]: row for row in read_csv(actions_csv(day.actions))}
    assert list(read_csv(actions_csv(day.actions))[0]) == ACTION_COLUMNS
    assert (rows["signup"]["conversions"], rows["signup"]["net_minor"]) == ("1", "700")
    assert rows["first_purchase"]["gross_minor"] == "1500"
    assert (rows["first_purchase"]["reversed_minor"], rows["first_purchase"]["net_minor"]) == ("500", "1000")
    lines = read_csv(money_lines_csv(day.money_lines))
    assert [(line["kind"], line["conversion_id"], line["payout_minor"]) for line in lines] == [
        ("conversion", "c1", "700"),
        ("conversion", "c2", "1500"),
        ("reversal", "c2", "-500"),
    ]


def test_per_transaction_revenue_is_summed_per_decision_before_squaring():
    records = [
        _money("conversion", "c1", 100, "signup", decision_id="d1"),
        _money("conversion", "c2", 50, "first_purchase", decision_id="d1"),
        _money("conversion", "c3", 30, "signup", decision_id="d2"),
    ]
    day = aggregate_day(records)
    assert day.offer_revenue[("ret_a", "mixed", "EUR")] == {"d1": 150, "d2": 30}
    assert day.taken[("ret_a", "mixed")] == {"d1", "d2"}


def test_the_original_aggregate_api_still_answers_as_before():
    records = [
        {"kind": "decision", "retailer_id": "r", "arm": "mixed", "currency": "EUR"},
        {"kind": "impression", "retailer_id": "r", "partner_id": "p", "offer_id": "o", "arm": "mixed"},
        {"kind": "survey_answer", "retailer_id": "r", "arm": "mixed"},
        {"kind": "conversion", "retailer_id": "r", "partner_id": "p", "offer_id": "o", "arm": "mixed"}
        | {"currency": "EUR", "payout_minor": 500},
    ]
    cells = aggregate(iter(records))
    assert cells[("r", "-", "-", "mixed", "EUR")].decisions == 1
    assert cells[("r", "p", "o", "mixed", "-")].impressions == 1
    assert cells[("r", "p", "o", "mixed", "EUR")].gross_minor == 500
    assert aggregates_csv(cells).decode().splitlines()[0] == ",".join(AGGREGATE_COLUMNS)
    assert totals(cells)["gross_minor_by_currency"] == {"EUR": 500}


def test_a_stream_is_read_once_and_no_record_is_kept():
    consumed = []

    def stream():
        for i in range(1000):
            record = {
                "kind": "impression",
                "retailer_id": "r",
                "offer_id": f"o{i % 3}",
                "decision_id": f"d{i}",
            }
            consumed.append(i)
            yield record

    day = merge_into(DayAggregation(), aggregate_day(stream(), with_followups=False))
    assert len(consumed) == 1000
    assert len(day.cells) == 3 and not day.trails


def _money(kind, conversion_id, payout, action, *, decision_id="d1", reversal_id=""):
    return {
        "kind": kind,
        "retailer_id": "ret_a",
        "partner_id": "par_1",
        "offer_id": "off_1",
        "arm": "mixed",
        "currency": "EUR",
        "decision_id": decision_id,
        "conversion_id": conversion_id,
        "reversal_id": reversal_id,
        "payout_minor": payout,
        "action": action,
        "at": "2026-03-01T10:00:00+00:00",
    }


@given(ledgers, st.data())
@settings(max_examples=60, deadline=None)
def test_a_partial_handed_between_invocations_as_json_is_the_same_partial(records, data):
    cut = data.draw(st.integers(0, len(records)))
    partial = aggregate_day(records[:cut])
    raw = partial_to_json(partial)
    assert partial_from_json(raw) == partial
    assert partial_to_json(partial_from_json(raw)) == raw  # the same partial, the same bytes
