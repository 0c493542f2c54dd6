"""A short bounded load on the local stack: decisions, events, clicks and webhooks from several
clients at once; no errors, and the ledger holds exactly what the API accepted."""

import pytest

from afterglow_dev.local.load import LEDGER_KINDS, REQUEST_KINDS, LoadSettings, run_load

pytestmark = pytest.mark.e2e


def test_a_busy_evening_loses_nothing_and_records_nothing_twice(local_stack):
    # Given the local stack and four clients playing shoppers and partners for a few seconds
    settings = LoadSettings(seconds=5, concurrency=4, max_requests=300, seed=7)
    # When they run
    report = run_load(local_stack, settings)
    # Then nothing failed, every kind of request was made, and every accepted record is in the
    # ledger exactly once (counted by kind over the run's own orders)
    assert report.errors == 0, report.table()
    assert all(report.requests[kind] > 0 for kind in REQUEST_KINDS), report.table()
    assert all(report.accepted[kind] > 0 for kind in ("decision", "impression", "click", "conversion"))
    assert {kind: report.ledger[kind] for kind in LEDGER_KINDS} == {
        kind: report.accepted[kind] for kind in LEDGER_KINDS
    }
    assert report.ledger_matches, report.table()
