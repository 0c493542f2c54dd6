"""A seeded month of ledger with known totals → invoices, statements, discrepancies, read-out, reports.

Records are written through the real `LedgerStore` at chosen times (the services stamp "now"),
in the shapes the services write them.
"""

import hashlib
import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from afterglow.models import PartnerCreate, RetailerCreate, RetailerUpdate
from afterglow.reconciliation import aggregate, read_csv
from afterglow.services import catalog_entities, partners, retailers
from afterglow.services.monthly import reconcile_month, retailer_shares
from afterglow.services.reconcile import aggregate_ledger_day, reconcile_day, reconcile_range
from afterglow.store import ReportStore
from afterglow_dev.local.gateway import FakeLambdaContext

MARCH = "2026-03"


def _at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


class Ledger:
    """Writes ledger records as the services do, at a given time."""

    def __init__(self, ledger):
        self.ledger = ledger

    def decision(self, retailer, decision_id, arm, day, customer="", offers=("off_1",), value=10_000):
        body = {
            "decision_id": decision_id,
            "retailer_id": retailer,
            "arm": arm,
            "customer_hash": customer,
            "order_id": f"order-{decision_id}",
            "order_value_minor": value,
            "currency": "EUR",
            "offer_ids": list(offers) if arm != "holdout" else [],
        }
        self.ledger.record_once(f"DECISION#{retailer}#{decision_id}", "decision", _at(3, day), body)

    def event(self, kind, retailer, partner, decision_id, day, offer="off_1", arm="mixed", **extra):
        body = {"retailer_id": retailer, "decision_id": decision_id, "arm": arm, "offer_id": offer}
        self.ledger.record_once(
            f"EVENT#{kind}#{decision_id}#{offer}", kind, _at(3, day), {**body, "partner_id": partner, **extra}
        )

    def conversion(
        self, partner, conversion_id, retailer, decision_id, action, payout, at, occurred=None, locks_at=None
    ):
        body = {
            "partner_id": partner,
            "conversion_id": conversion_id,
            "click_id": f"clk_{conversion_id}",
            "retailer_id": retailer,
            "offer_id": "off_1",
            "decision_id": decision_id,
            "arm": "mixed",
            "action": action,
            "occurred_at": (occurred or at).isoformat(),
            "payout_minor": payout,
            "currency": "EUR",
            "amount_minor": None,
            "status": "pending",
            "locks_at": (locks_at or at).isoformat(),
        }
        self.ledger.record_once(f"CONVERSION#{partner}#{conversion_id}", "conversion", at, body)

    def reversal(self, partner, reversal_id, conversion_id, retailer, decision_id, amount, day, at=None):
        at = at or _at(3, day)
        body = {
            "partner_id": partner,
            "conversion_id": conversion_id,
            "reversal_id": reversal_id,
            "retailer_id": retailer,
            "offer_id": "off_1",
            "decision_id": decision_id,
            "arm": "mixed",
            "occurred_at": at.isoformat(),
            "payout_minor": -amount,
            "currency": "EUR",
            "refund_amount_minor": None,
        }
        self.ledger.record_once(f"REVERSAL#{partner}#{reversal_id}", "reversal", at, body)

    def rejected(self, partner, conversion_id, retailer, reason, day):
        body = {
            "partner_id": partner,
            "conversion_id": conversion_id,
            "click_id": "clk_x",
            "retailer_id": retailer,
        }
        self.ledger.record_once(
            f"REJECTED#{partner}#{conversion_id}",
            "rejected_conversion",
            _at(3, day),
            {**body, "reason": reason},
        )


@pytest.fixture
def month(stores):
    """Two retailers (33.33% and 50% share), two partners, three days of March with known money."""
    a = retailers.create_retailer(stores, RetailerCreate(name="A", currency="EUR", revenue_share_bps=3_333))
    b = retailers.create_retailer(stores, RetailerCreate(name="B", currency="EUR", revenue_share_bps=5_000))
    p1 = partners.create_partner(stores, PartnerCreate(name="P1")).partner.partner_id
    p2 = partners.create_partner(stores, PartnerCreate(name="P2")).partner.partner_id
    ra, rb = a.retailer.retailer_id, b.retailer.retailer_id
    w = Ledger(stores.ledger)
    # a February conversion, reversed in March
    w.conversion(p1, "p1-feb", ra, "a0", "subscription", 900, _at(2, 20))
    # day 1: retailer A
    w.decision(ra, "a1", "mixed", 1, customer="h-a1")
    w.decision(ra, "a2", "holdout", 1, customer="h-a2")
    w.decision(ra, "a3", "mixed", 1, customer="h-a3")
    w.event("impression", ra, p1, "a1", 1)
    w.event("impression", ra, p1, "a3", 1)
    w.event("click", ra, p1, "a1", 1)
    w.conversion(p1, "p1-c1", ra, "a1", "signup", 700, _at(3, 1, 13))
    w.conversion(p1, "p1-c2", ra, "a1", "first_purchase", 1501, _at(3, 1, 14))
    # day 2: retailer B, a late conversion, a partial refund and a refused webhook
    w.decision(rb, "b1", "mixed", 2, customer="h-b1")
    w.conversion(p2, "p2-c1", rb, "b1", "signup", 1001, _at(3, 2, 13))
    w.conversion(p1, "p1-c3", rb, "b1", "signup", 700, _at(3, 2, 14), occurred=_at(2, 27))
    w.reversal(p1, "p1-r1", "p1-c2", ra, "a1", 501, 2)
    w.rejected(p2, "p2-x", rb, "outside_attribution_window", 2)
    # day 3: the February conversion reversed; an own-brand add-to-order
    w.reversal(p1, "p1-r0", "p1-feb", ra, "a0", 900, 3)
    w.decision(ra, "a4", "mixed", 3, customer="h-a4")
    w.event(
        "accept", ra, ra, "a4", 3, offer="off_fp", own_brand_revenue_minor=1299, currency="EUR", quantity=1
    )
    return {"ra": ra, "rb": rb, "p1": p1, "p2": p2}


def _reconcile(function_module, event):
    return function_module("ReconcileFunction").lambda_handler(event, FakeLambdaContext("reconcile"))


def _json(stores, key):
    return json.loads(stores.reports.get(key))


def _snapshot(stores) -> dict[str, bytes]:
    return {key: stores.reports.get(key) for key in stores.reports.keys("")}


def test_invoices_match_the_ledger_to_the_cent_with_lines_per_retailer_and_action(
    stores, function_module, month
):
    result = _reconcile(function_module, {"date": "2026-03-01", "until": "2026-03-03"})
    assert result == {"status": "ok", "days": ["2026-03-01", "2026-03-02", "2026-03-03"]}
    ra, rb, p1, p2 = month["ra"], month["rb"], month["p1"], month["p2"]
    lines = read_csv(stores.reports.get(f"invoices/partner={p1}/{MARCH}.csv"))
    got = {
        (r["retailer_id"], r["action"]): (
            r["conversions"],
            r["gross_minor"],
            r["reversed_minor"],
            r["net_minor"],
        )
        for r in lines
    }
    assert got == {
        (ra, "first_purchase"): ("1", "1501", "501", "1000"),
        (ra, "signup"): ("1", "700", "0", "700"),
        (ra, "subscription"): ("0", "0", "900", "-900"),  # February's conversion, credited in March
        (rb, "signup"): ("1", "700", "0", "700"),
    }
    invoice = _json(stores, f"invoices/partner={p1}/{MARCH}.json")
    assert invoice["totals"] == {
        "EUR": {
            "conversions": 3,
            "gross_minor": 2901,
            "reversals": 2,
            "reversed_minor": 1401,
            "net_minor": 1500,
        }
    }
    assert invoice["complete"] is False and invoice["days"] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert _json(stores, f"invoices/partner={p2}/{MARCH}.json")["totals"]["EUR"]["net_minor"] == 1001


def test_statements_split_revenue_exactly_and_keep_own_brand_apart(stores, function_module, month):
    _reconcile(function_module, {"date": "2026-03-01", "until": "2026-03-03"})
    ra, rb = month["ra"], month["rb"]
    a = _json(stores, f"statements/retailer={ra}/{MARCH}.json")
    # net 1000 + 700 - 900 = 800 at 33.33%: 266.64 -> 267; lines by largest remainder: 333 + 234 - 300
    assert a["totals"]["EUR"] == {
        "partner_net_minor": 800,
        "retailer_share_minor": 267,
        "platform_share_minor": 533,
        "own_brand_revenue_minor": 1299,
        "retailer_total_minor": 1566,
    }
    assert [
        (line["action"], line["retailer_share_minor"], line["platform_share_minor"])
        for line in a["partner_lines"]
    ] == [
        ("first_purchase", 333, 667),
        ("signup", 234, 466),
        ("subscription", -300, -600),
    ]
    assert a["own_brand_lines"] == [
        {"offer_id": "off_fp", "currency": "EUR", "accepts": 1, "revenue_minor": 1299}
    ]
    b = _json(stores, f"statements/retailer={rb}/{MARCH}.json")
    assert (b["totals"]["EUR"]["retailer_share_minor"], b["totals"]["EUR"]["platform_share_minor"]) == (
        851,
        850,
    )
    csv_rows = read_csv(stores.reports.get(f"statements/retailer={rb}/{MARCH}.csv"))
    assert sum(int(r["retailer_share_minor"]) for r in csv_rows) == 851
    # every cent invoiced to partners is on exactly one retailer statement
    summary = _json(stores, f"reports/monthly/month={MARCH}/summary.json")
    assert summary["invoiced_by_currency"] == {"EUR": 800 + 1701}
    assert summary["days_included"] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert len(summary["days_missing"]) == 28 and summary["complete"] is False


def test_a_partner_statement_with_planted_differences_yields_exactly_those(stores, function_module, month):
    p1, p2 = month["p1"], month["p2"]
    stores.reports.put(
        f"inbox/partner={p1}/{MARCH}.csv",
        b"conversion_id,amount_minor,currency\np1-c1,700,EUR\np1-c2,1501,EUR\np1-feb,-900,EUR\np1-ghost,500,EUR\n",
        "text/csv",
    )
    _reconcile(function_module, {"date": "2026-03-01", "until": "2026-03-03"})
    rows = read_csv(stores.reports.get(f"discrepancies/partner={p1}/{MARCH}.csv"))
    assert [
        (r["issue"], r["conversion_id"], r["ledger_amount_minor"], r["partner_amount_minor"]) for r in rows
    ] == [
        ("amount_differs", "p1-c2", "1000", "1501"),  # the partner did not net its own refund
        ("late", "p1-c3", "700", ""),
        ("missing_in_ledger", "p1-ghost", "", "500"),
        ("missing_in_partner_statement", "p1-c3", "700", ""),
    ]
    refused = read_csv(stores.reports.get(f"discrepancies/partner={p2}/{MARCH}.csv"))
    assert [(r["issue"], r["conversion_id"], r["reason"]) for r in refused] == [
        ("rejected", "p2-x", "outside_attribution_window")
    ]
    assert _json(stores, f"reports/monthly/month={MARCH}/summary.json")["partner_statements_compared"] == [p1]


def test_read_out_follow_ups_and_report_of_a_day(stores, function_module, month):
    ra = month["ra"]
    stores.reports.put(f"optouts/retailer={ra}.txt", b"h-a1\n", "text/plain")
    _reconcile(function_module, {"date": "2026-03-01", "until": "2026-03-03"})
    followups = read_csv(stores.reports.get(f"followups/retailer={ra}/dt=2026-03-01.csv"))
    assert [(r["customer_hash"], r["order_id"], r["offer_ids"]) for r in followups] == [
        ("h-a3", "order-a3", "off_1")
    ]
    assert followups[0]["send_after"] == "2026-03-02T12:00:00+00:00"
    summary = _json(stores, "reports/daily/dt=2026-03-01/summary.json")
    arms = {row["arm"]: row for row in summary["experiment"] if row["retailer_id"] == ra}
    assert (arms["mixed"]["transactions"], arms["mixed"]["taken"], arms["mixed"]["revenue_minor"]) == (
        2,
        1,
        2201,
    )
    assert (
        arms["holdout"]["revenue_per_transaction"] == 0.0 and arms["mixed"]["lift"] is None
    )  # n(holdout) = 1
    month_readout = _json(stores, f"reports/monthly/month={MARCH}/experiment.json")
    mixed = next(r for r in month_readout if r["retailer_id"] == ra and r["arm"] == "mixed")
    assert (mixed["transactions"], mixed["revenue_minor"]) == (3, 2201 - 501 - 900 + 1299)
    html = stores.reports.get("reports/daily/dt=2026-03-03/report.html").decode()
    take_rate_chart = html.split("Take rate, 14 days to 2026-03-03", 2)[2].split("</svg>")[0]
    # per retailer: revenue by arm (partner | own brand), take rate, top partner and own-brand offers
    assert html.count("<svg") == 4 and take_rate_chart.count("<circle") == 2  # A: days 1 and 3
    refunds = read_csv(stores.reports.get(f"reports/monthly/month={MARCH}/refunds.csv"))
    assert {(r["offer_id"], r["flagged"]) for r in refunds if r["retailer_id"] == ra} == {("off_1", "True")}
    # opting the customer out removes them on the next run
    stores.reports.put(f"optouts/retailer={ra}.txt", b"h-a3\n", "text/plain")
    reconcile_day(stores, date(2026, 3, 1))
    assert read_csv(stores.reports.get(f"followups/retailer={ra}/dt=2026-03-01.csv")) == []


def test_manifest_lists_every_file_with_its_hash_and_a_rerun_is_byte_identical(
    stores, function_module, month
):
    _reconcile(function_module, {"date": "2026-03-01", "until": "2026-03-03"})
    first = _snapshot(stores)
    manifest = _json(stores, "reports/daily/dt=2026-03-02/manifest.json")
    assert manifest["status"] == "complete"
    assert {key.rsplit("/", 1)[1] for key in manifest["files"] if key.startswith("reports/")} == {
        "aggregates.csv", "actions.csv", "conversions.csv", "rejections.csv", "experiment.csv",
        "refunds.csv", "summary.json", "report.html",
    }  # fmt: skip
    for key, listed in manifest["files"].items():
        body = first[key]
        assert listed["sha256"] == hashlib.sha256(body).hexdigest() and listed["bytes"] == len(body)
        if key.endswith(".csv"):
            assert listed["rows"] == len(read_csv(body))
    monthly = _json(stores, f"reports/monthly/month={MARCH}/manifest.json")
    assert all(hashlib.sha256(first[k]).hexdigest() == v["sha256"] for k, v in monthly["files"].items())
    # When the same range is reconciled again, and the month re-rolled on its own
    _reconcile(function_module, {"date": "2026-03-01", "until": "2026-03-03"})
    assert _reconcile(function_module, {"month": MARCH}) == {"status": "ok", "months": [MARCH]}
    # Then every object is byte for byte the same
    assert _snapshot(stores) == first


class FailingReports(ReportStore):
    """A reports store whose S3 dies after a number of writes."""

    def __init__(self, inner: ReportStore, writes_before_failure: int):
        super().__init__(inner._s3, inner.bucket)
        self.left = writes_before_failure

    def put(self, key, body, content_type):
        if self.left == 0:
            raise ConnectionError("S3 went away")
        self.left -= 1
        super().put(key, body, content_type)


def test_a_run_that_dies_midway_leaves_no_manifest_and_a_rerun_that_dies_marks_it_incomplete(stores, month):
    day, manifest_key = date(2026, 3, 2), "reports/daily/dt=2026-03-02/manifest.json"
    with pytest.raises(ConnectionError):
        reconcile_day(replace(stores, reports=FailingReports(stores.reports, 3)), day)
    assert len(list(stores.reports.keys(""))) == 3  # some files written
    assert stores.reports.get(manifest_key) is None
    reconcile_day(stores, day)
    assert _json(stores, manifest_key)["status"] == "complete"
    with pytest.raises(ConnectionError):
        reconcile_day(replace(stores, reports=FailingReports(stores.reports, 4)), day)
    assert _json(stores, manifest_key)["status"] == "incomplete"
    # and the month roll-up does not trust that day
    summary = reconcile_month(stores, MARCH)
    assert "2026-03-02" in summary["days_missing"]


def test_a_late_conversion_is_picked_up_by_the_next_run_of_its_day(stores, month):
    shares = retailer_shares(stores.catalog)
    reconcile_range(stores, date(2026, 3, 2), date(2026, 3, 2))
    Ledger(stores.ledger).conversion(month["p2"], "p2-c9", month["rb"], "b1", "signup", 250, _at(3, 2, 23))
    reconcile_range(stores, date(2026, 3, 2), date(2026, 3, 2))
    assert _json(stores, "reports/daily/dt=2026-03-02/summary.json")["totals"]["conversions"] == 3
    assert _json(stores, f"invoices/partner={month['p2']}/{MARCH}.json")["totals"]["EUR"]["net_minor"] == 1251
    assert shares[month["ra"]] == 3_333


def test_reading_shard_by_shard_and_merging_equals_reading_the_whole_day(stores, month):
    for day in (1, 2, 3):
        merged = aggregate_ledger_day(stores.ledger, date(2026, 3, day), workers=4)
        assert merged.cells == aggregate(stores.ledger.read_day(f"2026-03-0{day}"))
        assert merged == aggregate_ledger_day(stores.ledger, date(2026, 3, day), workers=1)
    reversal = next(k for k in merged.actions if k[2] == "off_1")
    assert reversal[5] == "subscription"  # the reversal's action comes from its conversion


@pytest.mark.parametrize(
    "event",
    [{"month": "2026-13"}, {"date": "2026-03-01", "month": "2026-03"}, {"until": "2026-03-02"}, {}],
)
def test_bad_manual_invocations_are_answered_not_retried(function_module, stores, event):
    assert _reconcile(function_module, event)["status"] == "invalid"


# --- issued months and the conversion lifecycle --------------------------------------------------


def _issued(snapshot: dict[str, bytes]) -> dict[str, bytes]:
    return {key: body for key, body in snapshot.items() if key.startswith(("invoices/", "statements/"))}


def _set_share(stores, retailer_id, bps):
    current = catalog_entities.load_retailer(stores.catalog, retailer_id)
    update = RetailerUpdate(version=current.version, revenue_share_bps=bps)
    retailers.update_retailer(stores, retailer_id, update, platform=True)


def test_a_completed_months_statement_is_never_rewritten_a_changed_share_is_a_restatement_of_it(
    stores, function_module, month
):
    # Given March reconciled day by day to its end: its invoices and statements are issued
    _reconcile(function_module, {"date": "2026-03-01", "until": "2026-03-31"})
    ra, rb = month["ra"], month["rb"]
    original = f"statements/retailer={ra}/{MARCH}"
    issued = _issued(_snapshot(stores))
    assert _json(stores, original + ".json")["complete"] is True
    # When retailer A's revenue share changes and March is rolled up again
    _set_share(stores, ra, 5_000)
    assert _reconcile(function_module, {"month": MARCH})["status"] == "ok"
    # Then every issued invoice and statement keeps its bytes
    after = _snapshot(stores)
    assert {key: after[key] for key in issued} == issued
    # And A's statement is restated in a new document that refers to the original
    assert sorted(_issued(after).keys() - issued.keys()) == [
        original + ".restatement-1.csv",
        original + ".restatement-1.json",
    ]
    restated = _json(stores, original + ".restatement-1.json")
    assert restated["revenue_share_bps"] == 5_000 and restated["totals"]["EUR"]["retailer_share_minor"] == 400
    assert restated["restatement"] == {
        "number": 1,
        "restates": original + ".json",
        "restates_sha256": hashlib.sha256(issued[original + ".json"]).hexdigest(),
        "supersedes": original + ".json",
        "difference": {
            "EUR": {
                "own_brand_revenue_minor": 0,
                "partner_net_minor": 0,
                "platform_share_minor": -133,
                "retailer_share_minor": 133,
                "retailer_total_minor": 133,
            }
        },
    }
    rows = read_csv(stores.reports.get(original + ".restatement-1.csv"))
    assert sum(int(r["retailer_share_minor"] or 0) for r in rows) == 400
    summary = _json(stores, f"reports/monthly/month={MARCH}/summary.json")
    assert summary["restatements"] == [original + ".restatement-1.json"]
    # And rolling up again with the same inputs rewrites the same bytes and restates nothing more
    _reconcile(function_module, {"month": MARCH})
    _reconcile(function_module, {"date": "2026-03-30", "until": "2026-03-31"})
    assert _snapshot(stores) == after
    # And a second change supersedes the first restatement, never the original
    _set_share(stores, ra, 3_333)
    _reconcile(function_module, {"month": MARCH})
    second = _json(stores, original + ".restatement-2.json")["restatement"]
    assert (second["supersedes"], second["restates"]) == (
        original + ".restatement-1.json",
        original + ".json",
    )
    assert second["difference"]["EUR"]["retailer_share_minor"] == -133
    assert {key: stores.reports.get(key) for key in issued} == issued
    assert not any(
        key.startswith(f"statements/retailer={rb}/{MARCH}.restatement") for key in _snapshot(stores)
    )


def test_a_month_to_date_statement_follows_a_share_change_without_a_restatement(
    stores, function_module, month
):
    _reconcile(function_module, {"date": "2026-03-01", "until": "2026-03-03"})
    _set_share(stores, month["ra"], 5_000)
    _reconcile(function_module, {"month": MARCH})
    statement = _json(stores, f"statements/retailer={month['ra']}/{MARCH}.json")
    assert (statement["complete"], statement["totals"]["EUR"]["retailer_share_minor"]) == (False, 400)
    assert not [key for key in _snapshot(stores) if ".restatement-" in key]


def _status(stores, partner, conversion_id):
    record = stores.ledger.get(f"CONVERSION#{partner}#{conversion_id}")
    return record["status"], record.get("invoice_number")


def _invoice_lines(stores, partner, month):
    body = stores.reports.get(f"invoices/partner={partner}/{month}.csv")
    return {
        (r["retailer_id"], r["action"]): (
            r["conversions"],
            r["gross_minor"],
            r["reversed_minor"],
            r["net_minor"],
        )
        for r in read_csv(body or b"partner_id\n")
    }


def test_conversions_go_pending_locked_invoiced_and_an_invoice_bills_only_what_locked(
    stores, function_module, month
):
    ra, rb, p1, p2 = month["ra"], month["rb"], month["p1"], month["p2"]
    w = Ledger(stores.ledger)
    # Given a conversion on 30 March that locks on 13 April, partly refunded on 2 April (before it
    # locks), and a refund on 5 April of a conversion already on March's invoice
    w.conversion(p1, "p1-late", rb, "b1", "signup", 700, _at(3, 30), locks_at=_at(4, 13))
    w.reversal(p1, "p1-r2", "p1-late", rb, "b1", 200, None, at=_at(4, 2))
    w.reversal(p1, "p1-r3", "p1-c1", ra, "a1", 700, None, at=_at(4, 5))
    # When March is reconciled to its end
    _reconcile(function_module, {"date": "2026-03-01", "until": "2026-03-31"})
    # Then March's invoice carries its number and bills what locked in March, not the late one
    invoice = _json(stores, f"invoices/partner={p1}/{MARCH}.json")
    assert invoice["invoice_number"] == f"INV-{p1}-202603" and invoice["complete"] is True
    assert invoice["totals"]["EUR"]["net_minor"] == 1500
    assert {
        r["invoice_number"] for r in read_csv(stores.reports.get(f"invoices/partner={p1}/{MARCH}.csv"))
    } == {f"INV-{p1}-202603"}
    # And what it bills is invoiced with that number; the late one is still pending
    for partner, conversion in ((p1, "p1-c1"), (p1, "p1-c2"), (p1, "p1-c3"), (p2, "p2-c1")):
        assert _status(stores, partner, conversion) == ("invoiced", f"INV-{partner}-202603")
    assert _status(stores, p1, "p1-late") == ("pending", None)
    # When April is reconciled up to the day before the lock: still pending, not billed
    _reconcile(function_module, {"date": "2026-04-01", "until": "2026-04-12"})
    assert _status(stores, p1, "p1-late") == ("pending", None)
    assert (rb, "signup") not in _invoice_lines(stores, p1, "2026-04")
    # When the lock day is reconciled: locked, and on April's invoice to date with its refund
    _reconcile(function_module, {"date": "2026-04-13"})
    assert _status(stores, p1, "p1-late") == ("locked", None)
    assert _invoice_lines(stores, p1, "2026-04")[(rb, "signup")] == ("1", "700", "200", "500")
    # When April is complete: invoiced on April's invoice; March's refund of an invoiced
    # conversion is a credit line there (its conversion stays on March's invoice)
    _reconcile(function_module, {"date": "2026-04-14", "until": "2026-04-30"})
    assert _status(stores, p1, "p1-late") == ("invoiced", f"INV-{p1}-202604")
    assert _status(stores, p1, "p1-c1") == ("invoiced", f"INV-{p1}-202603")
    assert _invoice_lines(stores, p1, "2026-04") == {
        (rb, "signup"): ("1", "700", "200", "500"),
        (ra, "signup"): ("0", "0", "700", "-700"),
    }
    assert _json(stores, f"invoices/partner={p1}/2026-04.json")["invoice_number"] == f"INV-{p1}-202604"
    # And re-running both months changes no byte and no status
    before = _snapshot(stores)
    _reconcile(function_module, {"date": "2026-03-01", "until": "2026-04-30"})
    assert _snapshot(stores) == before
    assert _status(stores, p1, "p1-late") == ("invoiced", f"INV-{p1}-202604")
