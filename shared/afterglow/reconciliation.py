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
    impressions: int = 0
    engagements: int = 0
    dismissals: int = 0
    clicks: int = 0
    conversions: int = 0
    rejected_conversions: int = 0
    gross_minor: int = 0
    reversals: int = 0
    reversed_minor: int = 0
    net_minor: int = 0
    accepts: int = 0
    own_brand_revenue_minor: int = 0


AggregateKey = tuple[str, str, str, str, str]  # retailer, partner, offer, arm, currency


def aggregate(records: Iterable[Mapping[str, Any]]) -> dict[AggregateKey, Aggregate]:
    """Fold ledger records of one day into aggregates; memory grows with cells, not with records.

    TODO(issue 7): conversions per action type.
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

    counted = {
        "decision": "decisions",
        "impression": "impressions",
        "engage": "engagements",
        "dismiss": "dismissals",
        "click": "clicks",
        "rejected_conversion": "rejected_conversions",
    }
    for record in records:
        kind = record["kind"]
        if kind in counted:
            target = cell(record)
            setattr(target, counted[kind], getattr(target, counted[kind]) + 1)
        elif kind == "conversion":
            target = cell(record)
            target.conversions += 1
            target.gross_minor += int(record["payout_minor"])
            target.net_minor += int(record["payout_minor"])
        elif kind == "reversal":
            target = cell(record)
            target.reversals += 1
            target.reversed_minor -= int(record["payout_minor"])  # stored negative
            target.net_minor += int(record["payout_minor"])
        elif kind == "accept":
            target = cell(record)
            target.accepts += 1
            target.own_brand_revenue_minor += int(record["own_brand_revenue_minor"])
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
    money = [f.name for f in fields(Aggregate) if f.name.endswith("_minor")]
    summary: dict[str, Any] = {f.name: 0 for f in fields(Aggregate) if f.name not in money}
    by_currency: dict[str, dict[str, int]] = {name: {} for name in money}
    for key, counters in cells.items():
        for name in summary:
            summary[name] += getattr(counters, name)
        for name in money:
            if getattr(counters, name):
                by_currency[name][key[4]] = by_currency[name].get(key[4], 0) + getattr(counters, name)
    for name in money:
        summary[f"{name}_by_currency"] = dict(sorted(by_currency[name].items()))
    return summary
