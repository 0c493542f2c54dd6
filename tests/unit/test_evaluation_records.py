"""How `afterglow evaluate` reads a retailer's ledger: its decisions, their net outcomes, nothing else."""

from datetime import date

from afterglow.services.evaluation import logged_decision, read_logs


def _decision(decision_id, retailer="ret_a", offers=("o1",), logging="thompson", **extra):
    return {
        "kind": "decision",
        "retailer_id": retailer,
        "decision_id": decision_id,
        "currency": "EUR",
        "context": {"purchase_category": "coffee"},
        "offer_ids": list(offers),
        "evaluation": {
            "logging": logging,
            "k": 1,
            "draws": 17,
            "propensities": [0.5] * len(offers),
            "candidates": [["o1", "p1", "coffee", 700.0, [9]], ["o2", "p2", "kitchen", 300.0, [8]]],
        },
        **extra,
    }


def _money(kind, decision_id, amount, *, retailer="ret_a", offer="o1", currency="EUR"):
    field = {"accept": "own_brand_revenue_minor", "return": "amount_minor"}.get(kind, "payout_minor")
    return {"kind": kind, "retailer_id": retailer, "decision_id": decision_id, "offer_id": offer,
            "currency": currency, field: amount}  # fmt: skip


LEDGER = {
    "2026-12-01": [
        _decision("d1"),
        _decision("d2"),
        _decision("x1", retailer="ret_b"),
        _decision("h1", logging="holdout", offers=()),
        {"kind": "decision", "retailer_id": "ret_a", "decision_id": "old", "currency": "EUR"},
        _money("conversion", "d1", 1500),
        _money("conversion", "x1", 9999, retailer="ret_b"),
    ],
    "2026-12-02": [
        _money("reversal", "d1", -500),  # a partial refund, the next day
        _money("accept", "d2", 1200),
        _money("return", "d2", 300),  # one of the add-on's units sent back
        _money("conversion", "d2", 800, currency="USD"),  # not the shop's currency: not summed in
        _decision("late"),  # after --until: not evaluated
    ],
    "2026-12-20": [_money("conversion", "d2", 700)],  # outside the outcome window
}


def _read(**kwargs):
    return read_logs(
        lambda day: LEDGER.get(day, []),
        "ret_a",
        date(2026, 12, 1),
        date(2026, 12, 1),
        date(2026, 12, 8),
        **kwargs,
    )


def test_a_retailers_decisions_earn_their_conversions_net_of_reversals_and_add_ons_net_of_returns():
    decisions, excluded, currency, read = _read()
    assert currency == "EUR" and read == 4
    assert [d.decision_id for d in decisions] == ["d1", "d2"]
    assert decisions[0].rewards == {"o1": 1000.0}
    assert decisions[1].rewards == {"o1": 900.0}
    assert dict(excluded) == {"holdout": 1, "no_propensities": 1}


def test_the_sample_is_bounded_and_the_same_every_run():
    first, excluded, _, _ = _read(max_decisions=1)
    again, _, _, _ = _read(max_decisions=1)
    assert len(first) == 1 and [d.decision_id for d in first] == [d.decision_id for d in again]
    assert excluded["sampled_out"] == 1


def test_a_malformed_evaluation_entry_is_left_out_not_an_error():
    record = _decision("d9")
    record["evaluation"]["candidates"] = [["o1", "p1"]]
    assert logged_decision(record) == (None, "malformed")
    record = _decision("d9")
    record["evaluation"]["propensities"] = [0.0]
    assert logged_decision(record) == (None, "malformed")
