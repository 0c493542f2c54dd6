"""Month roll-up: partner invoices, retailer statements, discrepancies and the month's read-out.

Everything is rolled up from the *reconciled days* in the bucket (days whose manifest is complete
and whose files still match it), never from the ledger. Files for month M:

    invoices/partner=P/M.csv (+ .json)          line items per retailer × action × currency, with
                                                the invoice number (afterglow.billing)
    statements/retailer=R/M.csv (+ .json)       partner revenue with both shares; own-brand apart
    …/M.restatement-N.csv (+ .json)             a change to an issued invoice or statement
                                                (afterglow.services.issuing)
    discrepancies/partner=P/M.csv               refused, late, and differences with the partner's
                                                inbox/partner=P/M.csv (see afterglow.discrepancies)
    reports/monthly/month=M/experiment.json     the read-out over the month's days
    reports/monthly/month=M/refunds.csv         reversal rate per offer over the month
    reports/monthly/month=M/summary.json        days included and missing, totals per currency
    reports/monthly/month=M/manifest.json       last

Invoices and statements bill the money lines each reconciled day filed under
`billing/month=M/dt=D.csv` — the conversions that lock in M, whenever recorded (afterglow.billing).
Month to date until every day of the month is reconciled (`complete: false` in the documents);
once complete, an invoice or statement is issued and never rewritten. The revenue share is the
retailer's configured share at the time of the roll-up. The roll-up then moves the month's
conversions along their lifecycle (afterglow.services.lifecycle).
"""

import calendar
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from afterglow import billing, experiments, invoicing, offer_figures, reconciliation
from afterglow.discrepancies import LedgerSide, compare, discrepancies_csv
from afterglow.observability import logger
from afterglow.reconciliation import Aggregate, AggregateKey
from afterglow.services import lifecycle
from afterglow.services.issuing import Render, issue
from afterglow.services.report_files import (
    ReportFile,
    complete_manifest,
    csv_file,
    json_file,
    publish,
    read_verified,
)
from afterglow.store import CatalogStore, LedgerStore, ReportStore, Stores


def billing_key(month: str, day: date) -> str:
    """Where day `day` files its money lines billed in `month` (listed in the day's manifest)."""
    return f"billing/month={month}/dt={day.isoformat()}.csv"


def billing_files(money_lines: Iterable[reconciliation.MoneyLine], day: date) -> dict[str, ReportFile]:
    """A reconciled day's money lines, filed by the month whose invoice bills them."""
    by_month: dict[str, dict[str, reconciliation.MoneyLine]] = {}
    for line in money_lines:
        lines = by_month.setdefault(billing.billing_month(asdict(line)), {})
        lines[str(len(lines))] = line
    return {
        billing_key(month, day): csv_file(reconciliation.money_lines_csv(lines))
        for month, lines in sorted(by_month.items())
    }


def retailer_shares(catalog: CatalogStore) -> dict[str, int]:
    """Each retailer's revenue share in basis points, from the catalog."""
    return {str(item["retailer_id"]): int(item["revenue_share_bps"]) for item in catalog.all_of("RETAILER")}


def month_days(month: str) -> list[date]:
    """Every day of a month given as YYYY-MM (ValueError otherwise)."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except ValueError as error:
        raise ValueError("month must be YYYY-MM") from error
    if first.strftime("%Y-%m") != month:
        raise ValueError("month must be YYYY-MM")
    return [date(year, number, day) for day in range(1, calendar.monthrange(year, number)[1] + 1)]


def _partner_statements(reports: ReportStore, month: str) -> dict[str, bytes]:
    """Partners' own statements uploaded for this month, by partner id."""
    found = {}
    for key in reports.keys("inbox/partner="):
        head, _, name = key.rpartition("/")
        if name == f"{month}.csv" and head.count("/") == 1:
            body = reports.get(key)
            if body is not None:
                found[head.removeprefix("inbox/partner=")] = body
    return found


def _cells(rows: list[dict[str, str]]) -> list[tuple[AggregateKey, Aggregate]]:
    names = reconciliation.AGGREGATE_COLUMNS[5:]
    return [
        (
            (row["retailer_id"], row["partner_id"], row["offer_id"], row["arm"], row["currency"]),
            # a day reconciled before a counter existed has no column for it: zero
            Aggregate(**{name: int(row.get(name) or 0) for name in names}),
        )
        for row in rows
    ]


def _billing_cutoff(month: str, reconciled: list[str]) -> datetime:
    """Money billed before this moment is on the month's invoices: the end of the last reconciled
    day of the month (the end of the month once complete; its start while no day is)."""
    last = max(reconciled) if reconciled else None
    first = date.fromisoformat(f"{month}-01")
    end = date.fromisoformat(last) + timedelta(days=1) if last else first
    return datetime.combine(end, time(), UTC)


def _billed_lines(reports: ReportStore, month: str, cutoff: datetime) -> Iterator[dict[str, str]]:
    """The money lines the month's invoices bill: those the reconciled days filed for the month
    (each file trusted only as its day's complete manifest lists it) billed before `cutoff`."""
    prefix = f"billing/month={month}/dt="
    for key in sorted(reports.keys(prefix)):
        try:
            day = date.fromisoformat(key.removeprefix(prefix).removesuffix(".csv"))
        except ValueError:
            continue
        manifest = complete_manifest(reports, f"reports/daily/dt={day.isoformat()}/manifest.json")
        body = read_verified(reports, manifest, key) if manifest else None
        for line in reconciliation.read_csv(body or b""):
            if billing.billed_at(line) < cutoff:
                yield line


def _invoice_render(invoice: invoicing.Invoice) -> Render:
    def render(restatement: int) -> tuple[bytes, dict[str, Any]]:
        number = billing.invoice_number(invoice.partner_id, invoice.month, restatement)
        numbered = replace(invoice, invoice_number=number)
        return invoicing.invoice_csv(numbered), invoicing.document(numbered)

    return render


def _statement_render(statement: invoicing.Statement) -> Render:
    def render(_: int) -> tuple[bytes, dict[str, Any]]:
        return invoicing.statement_csv(statement), invoicing.document(statement)

    return render


def reconcile_month(
    stores: Stores, month: str, *, reconciled_now: Iterable[date] | None = None
) -> dict[str, Any]:
    """Roll the month's reconciled days up into invoices, statements and discrepancies, at each
    retailer's revenue share in the catalog now; then mark the conversions that locked on the days
    `reconciled_now` (None: any day) — or, once the month is complete, every conversion its
    invoices bill."""
    return _roll_up_month(
        stores.reports,
        month,
        retailer_shares(stores.catalog),
        ledger=stores.ledger,
        reconciled_now=reconciled_now,
    )


def _roll_up_month(
    reports: ReportStore,
    month: str,
    revenue_share_bps: Mapping[str, int],
    *,
    ledger: LedgerStore,
    reconciled_now: Iterable[date] | None,
) -> dict[str, Any]:
    days = month_days(month)
    rollup = invoicing.MonthRollup(month)
    sides: dict[str, LedgerSide] = {}
    found: dict[experiments.MetricKey, int] = {}
    offer_cells: dict[AggregateKey, Aggregate] = {}
    missing = []
    for day in days:
        prefix = f"reports/daily/dt={day.isoformat()}/"
        manifest = complete_manifest(reports, prefix + "manifest.json")
        bodies = {
            name: read_verified(reports, manifest, prefix + name) if manifest else None
            for name in ("aggregates.csv", "conversions.csv", "rejections.csv", "experiment.csv")
        }
        if any(body is None for body in bodies.values()):
            missing.append(day.isoformat())
            continue
        rows = {name: reconciliation.read_csv(body) for name, body in bodies.items() if body is not None}
        rollup.days.append(day.isoformat())
        rollup.add_aggregates(rows["aggregates.csv"])
        for line in rows["conversions.csv"]:
            sides.setdefault(line["partner_id"], LedgerSide.empty()).add_money_line(line, month)
        for rejected in rows["rejections.csv"]:
            sides.setdefault(rejected["partner_id"], LedgerSide.empty()).add_rejection(rejected)
        for key, cell in _cells(rows["aggregates.csv"]):
            if cell.conversions or cell.reversals:
                reconciliation.add_counters(offer_cells.setdefault(key, Aggregate()), cell)
        experiments.add_metrics(found, experiments.parse_metrics_csv(bodies["experiment.csv"] or b""))
    complete = not missing
    cutoff = _billing_cutoff(month, rollup.days)
    rollup.add_money_lines(_billed_lines(reports, month, cutoff))
    files: dict[str, ReportFile] = {}
    invoices = invoicing.invoices(rollup, complete=complete)
    in_force: list[dict[str, Any]] = []
    for invoice in invoices:
        base = f"invoices/partner={invoice.partner_id}/{month}"
        written, document = issue(reports, base, _invoice_render(invoice), complete=complete)
        files.update(written)
        in_force.append(document)
    earning = {key[1] for key in rollup.money} | {key[0] for key in rollup.own_brand}
    unknown = sorted(earning - revenue_share_bps.keys() - {reconciliation.NO_PARTNER})
    if unknown:
        logger.warning(
            "retailers without a catalog entry left out of statements", extra={"retailers": unknown}
        )
    statements = invoicing.statements(rollup, revenue_share_bps, complete=complete)
    for statement in statements:
        base = f"statements/retailer={statement.retailer_id}/{month}"
        files.update(issue(reports, base, _statement_render(statement), complete=complete)[0])
    uploaded = _partner_statements(reports, month)
    for partner in sorted((sides.keys() | uploaded.keys() | {i.partner_id for i in invoices}) - {"-"}):
        items = compare(sides.get(partner, LedgerSide.empty()), uploaded.get(partner))
        files[f"discrepancies/partner={partner}/{month}.csv"] = csv_file(discrepancies_csv(items))
    prefix = f"reports/monthly/month={month}/"
    files[prefix + "experiment.json"] = json_file(experiments.as_rows(experiments.readout(found)))
    files[prefix + "refunds.csv"] = csv_file(
        offer_figures.refunds_csv(offer_figures.offer_refunds(sorted(offer_cells.items())))
    )
    summary = {
        "month": month,
        "complete": complete,
        "days_included": rollup.days,
        "days_missing": missing,
        "retailers_without_catalog_entry": unknown,
        "invoiced_by_currency": _invoiced_totals(in_force),
        "invoice_numbers": sorted(str(document["invoice_number"]) for document in in_force),
        "restatements": sorted(key for key in files if ".restatement-" in key and key.endswith(".json")),
        "partner_statements_compared": sorted(uploaded),
    }
    files[prefix + "summary.json"] = json_file(summary)
    publish(reports, prefix + "manifest.json", files, {"month": month})
    logger.info("month rolled up", extra={"month": month, "days": len(rollup.days), "files": len(files)})
    _advance_lifecycle(ledger, reports, month, cutoff, complete, in_force, reconciled_now)
    return summary


def _advance_lifecycle(
    ledger: LedgerStore,
    reports: ReportStore,
    month: str,
    cutoff: datetime,
    complete: bool,
    in_force: list[dict[str, Any]],
    reconciled_now: Iterable[date] | None,
) -> None:
    numbers = {str(d["partner_id"]): str(d["invoice_number"]) for d in in_force} if complete else None
    locked_on = {day.isoformat() for day in reconciled_now} if reconciled_now is not None else None
    changes = lifecycle.moves(
        _billed_lines(reports, month, cutoff), invoice_numbers=numbers, locked_on=locked_on
    )
    moved = lifecycle.advance(ledger, changes)
    logger.info("conversions moved along", extra={"month": month, "invoiced": complete, "moved": moved})


def _invoiced_totals(documents: list[dict[str, Any]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for document in documents:
        for currency, sums in document["totals"].items():
            totals[currency] = totals.get(currency, 0) + int(sums["net_minor"])
    return dict(sorted(totals.items()))
