"""Reconciliation maths: ledger records in, aggregates out. Pure and streaming (bounded memory)."""

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

NO_PARTNER = "-"


@dataclass
class Aggregate:
    """Counters for one retailer × partner × offer × arm × currency cell."""

    decisions: int = 0
    clicks: int = 0
    conversions: int = 0
    rejected_conversions: int = 0
    gross_minor: int = 0


AggregateKey = tuple[str, str, str, str, str]  # retailer, partner, offer, arm, currency


def aggregate(records: Iterable[Mapping[str, Any]]) -> dict[AggregateKey, Aggregate]:
    """Fold ledger records of one day into aggregates; memory grows with cells, not with records.

    TODO(issue 7): impressions, engagements, reversals, net and actions per type.
    """
    cells: dict[AggregateKey, Aggregate] = {}

    def cell(record: Mapping[str, Any]) -> Aggregate:
        key = (
            str(record["retailer_id"]),
            str(record.get("partner_id") or NO_PARTNER),
            str(record.get("offer_id") or NO_PARTNER),
            str(record.get("arm") or NO_PARTNER),
            str(record.get("currency") or NO_PARTNER),
        )
        return cells.setdefault(key, Aggregate())

    for record in records:
        kind = record["kind"]
        if kind == "decision":
            cell(record).decisions += 1
        elif kind == "click":
            cell(record).clicks += 1
        elif kind == "conversion":
            target = cell(record)
            target.conversions += 1
            target.gross_minor += int(record["payout_minor"])
        elif kind == "rejected_conversion":
            cell(record).rejected_conversions += 1
    return cells


AGGREGATE_COLUMNS = ["retailer_id", "partner_id", "offer_id", "arm", "currency"] + [
    f.name for f in fields(Aggregate)
]


def aggregates_csv(cells: Mapping[AggregateKey, Aggregate]) -> bytes:
    """Aggregates as CSV, rows sorted so that the same ledger always gives the same bytes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(AGGREGATE_COLUMNS)
    for key in sorted(cells):
        counters = cells[key]
        writer.writerow([*key, *(getattr(counters, f.name) for f in fields(Aggregate))])
    return buffer.getvalue().encode()


def totals(cells: Mapping[AggregateKey, Aggregate]) -> dict[str, Any]:
    """Grand totals; gross is kept per currency because money never changes currency here."""
    gross: dict[str, int] = {}
    summary: dict[str, Any] = {f.name: 0 for f in fields(Aggregate) if f.name != "gross_minor"}
    for key, counters in cells.items():
        for name in summary:
            summary[name] += getattr(counters, name)
        if counters.gross_minor:
            gross[key[4]] = gross.get(key[4], 0) + counters.gross_minor
    summary["gross_minor_by_currency"] = dict(sorted(gross.items()))
    return summary
