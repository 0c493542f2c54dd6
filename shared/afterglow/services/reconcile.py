"""Nightly reconciliation: one day of ledger → aggregate reports in S3, manifest written last.

TODO(issue 7): invoices, statements, experiment read-out, discrepancies, follow-ups, HTML report,
fan-out per retailer × shard.
"""

import hashlib
import json
from datetime import date, timedelta
from typing import Any

from afterglow.observability import logger
from afterglow.reconciliation import aggregate, aggregates_csv, totals
from afterglow.store import LedgerStore, ReportStore


def daily_prefix(day: date) -> str:
    """Where one day's reports live; the same day always maps to the same keys."""
    return f"reports/daily/dt={day.isoformat()}/"


def _json_bytes(document: Any) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


def reconcile_day(ledger: LedgerStore, reports: ReportStore, day: date) -> dict[str, Any]:
    """Aggregate one day's ledger and write its reports; re-running rewrites identical bytes."""
    cells = aggregate(ledger.read_day(day.isoformat()))
    summary = {"date": day.isoformat(), "totals": totals(cells)}
    files = {
        "aggregates.csv": (aggregates_csv(cells), "text/csv", len(cells)),
        "summary.json": (_json_bytes(summary), "application/json", 1),
    }
    prefix = daily_prefix(day)
    for name, (body, content_type, _) in files.items():
        reports.put(prefix + name, body, content_type)
    # The manifest goes last: a run that dies before this line never looks complete.
    manifest = {
        "date": day.isoformat(),
        "files": {
            name: {"rows": rows, "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
            for name, (body, _, rows) in files.items()
        },
    }
    reports.put(prefix + "manifest.json", _json_bytes(manifest), "application/json")
    logger.info("day reconciled", extra={"date": day.isoformat(), "cells": len(cells)})
    return summary


def reconcile_range(
    ledger: LedgerStore, reports: ReportStore, first: date, last: date
) -> list[dict[str, Any]]:
    """Reconcile every day from `first` to `last` inclusive (backfill)."""
    if last < first:
        raise ValueError("until must not be before date")
    if (last - first).days > 366:
        raise ValueError("reconcile at most 367 days per run")
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    return [reconcile_day(ledger, reports, day) for day in days]
