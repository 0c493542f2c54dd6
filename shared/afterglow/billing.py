"""When money is billed: the conversion lifecycle pending → locked → invoiced. Pure.

A conversion is **pending** while the partner may still reverse it, **locked** once its lock period
has passed (`locks_at`), and **invoiced** once it is on a partner's monthly invoice. A month's
invoice bills exactly the conversions that locked in that month: one whose lock period has not
passed at the end of the month it was recorded in rolls into the invoice of the month it locks in.

A reversal goes on the same invoice as its conversion when it arrives before that invoice (the
conversion and its refund are billed together, net); a reversal of a conversion already invoiced
is a credit line on the invoice of the month the reversal was recorded in — the next one.

Each money line (a row of a day's `conversions.csv`) therefore has one *billing moment*: a
conversion's `locks_at`, a reversal's later of its own recording and its conversion's `locks_at`.
The invoice of month M holds the lines whose billing moment falls in M; month to date, only those
whose billing moment has passed by the end of the last reconciled day.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

PENDING, LOCKED, INVOICED = "pending", "locked", "invoiced"


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def billed_at(line: Mapping[str, Any]) -> datetime:
    """The moment a money line becomes billable (see the module docstring). A line recorded
    without a lock time is billable when recorded."""
    recorded = _moment(line["recorded_at"])
    locks = _moment(line["locks_at"]) if line.get("locks_at") else recorded
    return max(recorded, locks) if line["kind"] == "reversal" else locks


def billing_month(line: Mapping[str, Any]) -> str:
    """The month (YYYY-MM, UTC) whose invoice bills this money line."""
    return billed_at(line).astimezone(UTC).strftime("%Y-%m")


def invoice_number(partner_id: str, month: str, restatement: int = 0) -> str:
    """A partner's invoice number for a month: deterministic and unique per partner × month
    (`INV-<partner>-YYYYMM`); a restatement of it adds `-R<n>`."""
    number = f"INV-{partner_id}-{month.replace('-', '')}"
    return f"{number}-R{restatement}" if restatement else number
