"""A short bounded load on the local stack: decisions, events, clicks and webhooks from several
clients at once; no errors, and the ledger holds exactly what the API accepted."""

import pytest

from afterglow_dev.local.bench_scale import prepare, scale_figures
from afterglow_dev.local.load import LEDGER_KINDS, REQUEST_KINDS, LoadSettings, local_stack_process, run_load

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


def test_a_stack_holding_a_generated_catalog_and_a_ledger_history_degrades_no_decision(tmp_path):
    # Given a stack of its own holding a generated catalog (imported with `afterglow catalog import`)
    # and a few thousand ledger records of past days — `make bench` runs this at mission scale
    with local_stack_process(tmp_path) as env:
        prepared = prepare(env, partners=40, records=3_000, workdir=tmp_path)
        # When four clients load it for a few seconds
        report = run_load(env, LoadSettings(seconds=4, concurrency=4, max_requests=300, seed=11))
    # Then no decision degraded, nothing failed, and the ledger holds exactly what was accepted
    assert prepared["catalog_offers"] >= 40 * 4 and prepared["ledger_items"] >= 3_000
    figures = scale_figures(report)
    assert figures["scale_degraded_decisions"] == 0 and report.errors == 0, report.table()
    assert report.requests["decision"] > 0 and report.ledger_matches, report.table()
