"""Partner statement comparison: planted differences come back, exactly those."""

from afterglow.discrepancies import LedgerSide, compare, discrepancies_csv, parse_partner_statement
from afterglow.reconciliation import read_csv


def _ledger() -> LedgerSide:
    side = LedgerSide.empty()
    lines = [
        ("conversion", "c-ok", "700", "2026-03-02T10:00:00+00:00"),
        ("conversion", "c-amount", "1500", "2026-03-02T10:00:00+00:00"),
        ("conversion", "c-only-ours", "700", "2026-03-03T10:00:00+00:00"),
        ("conversion", "c-refunded", "1500", "2026-03-03T10:00:00+00:00"),
        ("reversal", "c-refunded", "-500", ""),
        ("conversion", "c-gone", "700", "2026-03-04T10:00:00+00:00"),
        ("reversal", "c-gone", "-700", ""),
        ("conversion", "c-late", "700", "2026-02-27T10:00:00+00:00"),
    ]
    for kind, conversion_id, payout, occurred in lines:
        side.add_money_line(
            {"kind": kind, "conversion_id": conversion_id, "payout_minor": payout, "currency": "EUR"}
            | {"occurred_at": occurred},
            "2026-03",
        )
    side.add_rejection(
        {"conversion_id": "c-refused", "reversal_id": "", "reason": "outside_attribution_window"}
    )
    return side


PARTNER_STATEMENT = b"""conversion_id,amount_minor,currency,note
c-ok,700,EUR,fine
c-amount,1400,EUR,we think less
c-refunded,1000,EUR,net of refund
c-late,700,EUR,
c-currency,700,USD,
c-refused,700,EUR,we count it
c-only-theirs,300,EUR,
c-ok,700,EUR,again
bad-row,seven,EUR,
"""


def test_planted_differences_and_nothing_else_are_reported():
    found = compare(_ledger(), PARTNER_STATEMENT)
    issues = sorted((d.issue, d.conversion_id, d.reason) for d in found)
    assert issues == [
        ("amount_differs", "c-amount", ""),
        ("duplicate_in_partner_statement", "c-ok", ""),
        ("late", "c-late", "occurred_at 2026-02-27T10:00:00+00:00"),
        ("missing_in_ledger", "c-currency", ""),
        ("missing_in_ledger", "c-only-theirs", ""),
        ("missing_in_ledger", "c-refused", "outside_attribution_window"),
        ("missing_in_partner_statement", "c-only-ours", ""),
        ("rejected", "c-refused", "outside_attribution_window"),
        ("unreadable_row", "bad-row", "needs conversion_id, an integer amount_minor and a 3-letter currency"),
    ]
    amount = next(d for d in found if d.issue == "amount_differs")
    assert (amount.ledger_amount_minor, amount.partner_amount_minor, amount.partner_line) == (1500, 1400, 3)


def test_a_currency_mismatch_is_its_own_issue():
    side = LedgerSide.empty()
    side.add_money_line(
        {"kind": "conversion", "conversion_id": "c1", "payout_minor": "700", "currency": "EUR"}, "2026-03"
    )
    (found,) = compare(side, b"conversion_id,amount_minor,currency\nc1,700,usd\n")
    assert (found.issue, found.ledger_currency, found.partner_currency) == ("currency_differs", "EUR", "USD")


def test_without_a_partner_statement_only_refusals_and_late_conversions_are_listed():
    assert {d.issue for d in compare(_ledger(), None)} == {"rejected", "late"}


def test_a_statement_without_the_required_columns_is_one_unreadable_row():
    rows, problems = parse_partner_statement(b"id,amount\nc1,5\n")
    assert rows == {} and [p.issue for p in problems] == ["unreadable_row"]


def test_discrepancies_csv_leaves_cells_empty_for_the_missing_side():
    rows = read_csv(discrepancies_csv(compare(_ledger(), PARTNER_STATEMENT)))
    only_ours = next(r for r in rows if r["issue"] == "missing_in_partner_statement")
    assert (only_ours["ledger_amount_minor"], only_ours["partner_amount_minor"]) == ("700", "")


def test_a_partner_id_that_a_spreadsheet_would_run_is_neutralised_but_amounts_stay_numbers():
    side = LedgerSide.empty()
    side.add_money_line(
        {"kind": "reversal", "conversion_id": "c1", "payout_minor": "-700", "currency": "EUR"}, "2026-03"
    )
    rows = read_csv(
        discrepancies_csv(compare(side, b'conversion_id,amount_minor,currency\n"=HYPERLINK(1)",5,EUR\n'))
    )
    assert {(r["conversion_id"], r["ledger_amount_minor"]) for r in rows} == {
        ("'=HYPERLINK(1)", ""),
        ("c1", "-700"),
    }


def test_a_refusal_accepted_on_a_resend_is_no_longer_listed_as_rejected():
    # Given a conversion and a reversal, each refused once, then recorded when the partner re-sent it
    side = LedgerSide.empty()
    side.add_rejection({"conversion_id": "c-1", "reversal_id": "", "reason": "action_not_paid_by_offer"})
    side.add_rejection({"conversion_id": "c-0", "reversal_id": "r-1", "reason": "unknown_conversion"})
    side.add_rejection({"conversion_id": "c-2", "reversal_id": "", "reason": "unknown_click"})
    for kind, reversal_id, payout in (("conversion", "", "700"), ("reversal", "r-1", "-700")):
        side.add_money_line(
            {"kind": kind, "conversion_id": "c-1", "reversal_id": reversal_id, "payout_minor": payout}
            | {"currency": "EUR", "occurred_at": "2026-03-02T10:00:00+00:00"},
            "2026-03",
        )
    # Then only the refusal that still stands is listed
    found = compare(side, None)
    assert [(d.issue, d.conversion_id, d.reversal_id, d.reason) for d in found] == [
        ("rejected", "c-2", "", "unknown_click")
    ]


def test_a_refused_conversion_id_containing_a_hash_is_reported_whole():
    side = LedgerSide.empty()
    side.add_rejection({"conversion_id": "order#42", "reversal_id": "", "reason": "unknown_click"})
    found = compare(side, b"conversion_id,amount_minor,currency\norder#42,700,EUR\n")
    assert [(d.issue, d.conversion_id, d.reason) for d in found] == [
        ("missing_in_ledger", "order#42", "unknown_click"),
        ("rejected", "order#42", "unknown_click"),
    ]
