"""Discrepancies for a partner and month: refused webhooks, late conversions, and a line-by-line
comparison with the partner's own statement. Pure.

Partner statement format (uploaded to `inbox/partner=<partner id>/YYYY-MM.csv`, UTF-8, header row
required, extra columns ignored):

    conversion_id,amount_minor,currency
    beans-42,1500,EUR
    beans-43,-700,EUR

One row per conversion id: the net payout the partner expects for it on that month's invoice —
the conversion if it was recorded that month, minus any refunds recorded that month (a refund of
an earlier month's conversion is a row of its own with a negative amount) — in integer minor units
of an ISO 4217 currency. Our side is the same figure from the month's money lines, so the sum of
our side is exactly the invoice total.

Issues reported, one row each: `missing_in_ledger` (the partner lists it, we have no money for it
this month; `reason` names our refusal if we refused it), `missing_in_partner_statement` (we bill
it, they do not list it; conversions fully reversed within the month are not reported),
`amount_differs`, `currency_differs`, `duplicate_in_partner_statement`, `unreadable_row` (with the
line number), and — with or without a partner statement — `rejected` (a webhook we refused, with
its reason, unless the partner re-sent it and it was recorded that month: a refusal since resolved
is not an open issue) and `late` (recorded this month, occurred in an earlier one).
"""

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

MAX_STATEMENT_ROWS = 1_000_000


@dataclass(frozen=True)
class Discrepancy:
    issue: str
    conversion_id: str
    reversal_id: str = ""
    reason: str = ""
    ledger_amount_minor: int | None = None
    partner_amount_minor: int | None = None
    ledger_currency: str = ""
    partner_currency: str = ""
    partner_line: int | None = None


DISCREPANCY_COLUMNS = [f.name for f in fields(Discrepancy)]


@dataclass
class LedgerSide:
    """Our view of one partner's month, built from the days' money lines and rejections."""

    amounts: dict[str, tuple[int, str]] = field(default_factory=dict)  # conversion id -> (net, currency)
    # (conversion id, reversal id or "") -> reason: ids are partner text, `#` included, so a tuple
    rejected: dict[tuple[str, str], str] = field(default_factory=dict)
    late: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # id -> (payout, currency, at)
    recorded_conversions: set[str] = field(default_factory=set)
    recorded_reversals: set[str] = field(default_factory=set)

    @classmethod
    def empty(cls) -> "LedgerSide":
        return cls()

    def add_money_line(self, row: Mapping[str, str], month: str) -> None:
        """Add one row of a day's `conversions.csv`."""
        amount, currency = self.amounts.get(row["conversion_id"], (0, row["currency"]))
        self.amounts[row["conversion_id"]] = (amount + int(row["payout_minor"]), currency)
        if row["kind"] == "conversion":
            self.recorded_conversions.add(row["conversion_id"])
        else:
            self.recorded_reversals.add(row.get("reversal_id") or "")
        occurred = row.get("occurred_at") or ""
        if row["kind"] == "conversion" and occurred and occurred[:7] < month:
            self.late[row["conversion_id"]] = (int(row["payout_minor"]), row["currency"], occurred)

    def add_rejection(self, row: Mapping[str, str]) -> None:
        """Add one row of a day's `rejections.csv`."""
        self.rejected[(row["conversion_id"], row["reversal_id"])] = row["reason"]

    def open_rejections(self) -> list[tuple[str, str, str]]:
        """(conversion id, reversal id, reason) of each refusal that still stands, in id order: a
        webhook refused once and recorded when re-sent (the same conversion or reversal id) is not."""
        return [
            (conversion_id, reversal_id, reason)
            for (conversion_id, reversal_id), reason in sorted(self.rejected.items())
            if not self._resolved(conversion_id, reversal_id)
        ]

    def _resolved(self, conversion_id: str, reversal_id: str) -> bool:
        if reversal_id:
            return reversal_id in self.recorded_reversals
        return conversion_id in self.recorded_conversions


def parse_partner_statement(body: bytes) -> tuple[dict[str, tuple[int, str, int]], list[Discrepancy]]:
    """The partner's rows by conversion id as (amount, currency, line), and the rows we cannot use."""
    problems: list[Discrepancy] = []
    rows: dict[str, tuple[int, str, int]] = {}
    text = body.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    missing = {"conversion_id", "amount_minor", "currency"} - set(reader.fieldnames or [])
    if missing:
        return {}, [
            Discrepancy("unreadable_row", "", reason=f"missing columns: {sorted(missing)}", partner_line=1)
        ]
    for number, row in enumerate(reader, start=2):
        if number > MAX_STATEMENT_ROWS:
            problems.append(Discrepancy("unreadable_row", "", reason="too many rows", partner_line=number))
            break
        conversion_id = (row.get("conversion_id") or "").strip()
        currency = (row.get("currency") or "").strip().upper()
        try:
            amount = int((row.get("amount_minor") or "").strip())
        except ValueError:
            amount = None
        if not conversion_id or amount is None or len(currency) != 3 or not currency.isalpha():
            reason = "needs conversion_id, an integer amount_minor and a 3-letter currency"
            problems.append(Discrepancy("unreadable_row", conversion_id, reason=reason, partner_line=number))
        elif conversion_id in rows:
            problems.append(
                Discrepancy(
                    "duplicate_in_partner_statement",
                    conversion_id,
                    partner_amount_minor=amount,
                    partner_currency=currency,
                    partner_line=number,
                )
            )
        else:
            rows[conversion_id] = (amount, currency, number)
    return rows, problems


def compare(ledger: LedgerSide, statement: bytes | None) -> list[Discrepancy]:
    """Every discrepancy of one partner's month (see the module docstring), in a stable order."""
    found = [
        Discrepancy("rejected", conversion_id, reversal_id=reversal_id, reason=reason)
        for conversion_id, reversal_id, reason in ledger.open_rejections()
    ]
    found += [
        Discrepancy(
            "late",
            conversion_id,
            reason=f"occurred_at {occurred}",
            ledger_amount_minor=amount,
            ledger_currency=currency,
        )
        for conversion_id, (amount, currency, occurred) in ledger.late.items()
    ]
    if statement is not None:
        theirs, problems = parse_partner_statement(statement)
        found += problems
        found += _line_by_line(ledger, theirs)
    return sorted(found, key=_order)


def _line_by_line(ledger: LedgerSide, theirs: Mapping[str, tuple[int, str, int]]) -> Iterable[Discrepancy]:
    refused: dict[str, str] = {}
    for (conversion_id, _), reason in sorted(ledger.rejected.items()):  # the conversion's own first
        refused.setdefault(conversion_id, reason)
    for conversion_id, (amount, currency, line) in theirs.items():
        ours = ledger.amounts.get(conversion_id)
        if ours is None:
            yield Discrepancy(
                "missing_in_ledger",
                conversion_id,
                reason=refused.get(conversion_id, ""),
                partner_amount_minor=amount,
                partner_currency=currency,
                partner_line=line,
            )
            continue
        our_amount, our_currency = ours
        if our_currency != currency:
            issue = "currency_differs"
        elif our_amount != amount:
            issue = "amount_differs"
        else:
            continue
        yield Discrepancy(
            issue,
            conversion_id,
            ledger_amount_minor=our_amount,
            partner_amount_minor=amount,
            ledger_currency=our_currency,
            partner_currency=currency,
            partner_line=line,
        )
    for conversion_id, (our_amount, our_currency) in ledger.amounts.items():
        if conversion_id not in theirs and our_amount != 0:
            yield Discrepancy(
                "missing_in_partner_statement",
                conversion_id,
                ledger_amount_minor=our_amount,
                ledger_currency=our_currency,
            )


def _order(item: Discrepancy) -> tuple[str, str, str, int]:
    return (item.issue, item.conversion_id, item.reversal_id, item.partner_line or 0)


def spreadsheet_safe(value: object) -> object:
    """A partner-supplied text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def discrepancies_csv(items: list[Discrepancy]) -> bytes:
    """Discrepancies as CSV for people (empty cells for what one side does not have); text that
    came from a partner's upload is neutralised against spreadsheet formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(DISCREPANCY_COLUMNS)
    for item in items:
        writer.writerow([spreadsheet_safe(getattr(item, name)) for name in DISCREPANCY_COLUMNS])
    return buffer.getvalue().encode()
