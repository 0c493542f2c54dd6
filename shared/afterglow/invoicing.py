"""Monthly partner invoices and retailer statements, rolled up from the days' reports. Pure.

Inputs are the money lines each reconciled day filed for the month's invoice (rows of its
`conversions.csv`, see `afterglow.billing`) and the days' `aggregates.csv` (own-brand
add-to-order revenue, net of the add-on returns recorded each day) — never the ledger again. A
month's invoice bills the conversions that *locked* in that month, each reversal with its
conversion, and credits the reversals of conversions invoiced before (a reversal of last month's
invoiced conversion is a credit on this month's). The retailer statement shares exactly what the
invoices bill. Every invoice carries its number
(`billing.invoice_number`).

Rounding rule — the parts always sum exactly to the whole:

1. Money is integer minor units per currency; sums of payouts need no rounding, so an invoice's
   total is exactly the sum of its lines, and a line's net is exactly gross − reversed.
2. A retailer statement splits the partner revenue of each currency once, at the statement
   total: retailer share = net × bps / 10 000 rounded half up for net ≥ 0 (exactly
   `money.split_revenue`) and mirrored for a negative net (a month of refunds: −share(−net)), so a
   charge and its full credit cancel to the minor unit. The platform's share is the remainder:
   retailer + platform == net, exactly.
3. The total retailer share is apportioned over the statement lines (partner × action) by the
   largest-remainder method: each line gets the floor of its exact share net·bps/10 000, and the
   few minor units left over go, one each, to the lines with the largest fractional remainders
   (ties: the earlier line). So the line shares sum to the total share, every line is within one
   minor unit of its exact share, and each line's platform share is its net − its retailer share.
4. Own-brand add-to-order revenue is the retailer's own sale: listed separately, never shared.
"""

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import asdict, astuple, dataclass, field, fields
from typing import Any

from afterglow.billing import invoice_number
from afterglow.money import split_revenue
from afterglow.reconciliation import NO_PARTNER, ActionCounters

BPS = 10_000


def share_of(net_minor: int, bps: int) -> int:
    """The retailer's share of a net amount (rule 2): half up, mirrored for negative amounts."""
    if net_minor >= 0:
        return split_revenue(net_minor, bps)[0]
    return -split_revenue(-net_minor, bps)[0]


def apportion(total_share: int, nets: list[int], bps: int) -> list[int]:
    """Split `total_share` over lines with these nets by largest remainder (rule 3).

    `total_share` must be `share_of(sum(nets), bps)`; the result sums to it exactly.
    """
    floors = [net * bps // BPS for net in nets]
    remainders = [net * bps % BPS for net in nets]
    left = total_share - sum(floors)
    if not 0 <= left <= sum(1 for r in remainders if r):
        raise ValueError("total_share is not the rounded share of these lines")
    order = sorted(range(len(nets)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return floors


# --- roll-up -------------------------------------------------------------------------------------

MoneyKey = tuple[str, str, str, str]  # partner, retailer, action, currency


@dataclass
class MonthRollup:
    """A month's money, summed over days, offers and arms; memory grows with partners × retailers."""

    month: str
    days: list[str] = field(default_factory=list)
    money: dict[MoneyKey, ActionCounters] = field(default_factory=dict)
    own_brand: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)  # retailer, offer, cur

    def add_actions(self, rows: Iterable[Mapping[str, str]]) -> None:
        """Add rows of money already summed per cell × action (as in a day's `actions.csv`)."""
        for row in rows:
            key = (row["partner_id"], row["retailer_id"], row["action"], row["currency"])
            sums = self.money.setdefault(key, ActionCounters())
            sums.conversions += int(row["conversions"])
            sums.gross_minor += int(row["gross_minor"])
            sums.reversals += int(row["reversals"])
            sums.reversed_minor += int(row["reversed_minor"])
            sums.net_minor += int(row["net_minor"])

    def add_money_lines(self, lines: Iterable[Mapping[str, str]]) -> None:
        """Add money lines (rows of a day's `conversions.csv`) the month's invoices bill."""
        for line in lines:
            key = (line["partner_id"], line["retailer_id"], line["action"], line["currency"])
            sums = self.money.setdefault(key, ActionCounters())
            payout = int(line["payout_minor"])  # a reversal's is negative
            if line["kind"] == "conversion":
                sums.conversions += 1
                sums.gross_minor += payout
            else:
                sums.reversals += 1
                sums.reversed_minor -= payout
            sums.net_minor += payout

    def add_aggregates(self, rows: Iterable[Mapping[str, str]]) -> None:
        """Add a day's `aggregates.csv` rows (only add-to-order revenue is taken from them, net of
        the returns recorded that day; a day reconciled before returns existed has none)."""
        for row in rows:
            returned = int(row.get("own_brand_returned_minor") or 0)
            if int(row["accepts"]) or int(row["own_brand_revenue_minor"]) or returned:
                sums = self.own_brand.setdefault(
                    (row["retailer_id"], row["offer_id"], row["currency"]), [0, 0]
                )
                sums[0] += int(row["accepts"])
                sums[1] += int(row["own_brand_revenue_minor"]) - returned


# --- invoices --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceLine:
    retailer_id: str
    action: str
    currency: str
    conversions: int
    gross_minor: int
    reversals: int
    reversed_minor: int
    net_minor: int


@dataclass(frozen=True)
class Invoice:
    partner_id: str
    month: str
    invoice_number: str
    days: list[str]
    complete: bool  # every day of the month was reconciled
    lines: list[InvoiceLine]
    totals: dict[str, dict[str, int]]  # currency -> conversions, gross, reversed, net


def _line_totals(lines: Iterable[Any]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    for line in lines:
        sums = totals.setdefault(
            line.currency,
            {"conversions": 0, "gross_minor": 0, "reversals": 0, "reversed_minor": 0, "net_minor": 0},
        )
        for name in sums:
            sums[name] += getattr(line, name)
    return dict(sorted(totals.items()))


def invoices(rollup: MonthRollup, *, complete: bool) -> list[Invoice]:
    """One invoice per partner with money this month, lines per retailer × action × currency."""
    by_partner: dict[str, list[InvoiceLine]] = {}
    for (partner, retailer, action, currency), sums in sorted(rollup.money.items()):
        by_partner.setdefault(partner, []).append(InvoiceLine(retailer, action, currency, **asdict(sums)))
    return [
        Invoice(
            partner,
            rollup.month,
            invoice_number(partner, rollup.month),
            list(rollup.days),
            complete,
            lines,
            _line_totals(lines),
        )
        for partner, lines in sorted(by_partner.items())
        if partner != NO_PARTNER
    ]


# --- statements ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    partner_id: str
    action: str
    currency: str
    conversions: int
    gross_minor: int
    reversals: int
    reversed_minor: int
    net_minor: int
    retailer_share_minor: int
    platform_share_minor: int


@dataclass(frozen=True)
class OwnBrandLine:
    offer_id: str
    currency: str
    accepts: int
    revenue_minor: int  # net of the returns recorded in the month


@dataclass(frozen=True)
class Statement:
    retailer_id: str
    month: str
    revenue_share_bps: int
    days: list[str]
    complete: bool
    partner_lines: list[StatementLine]
    own_brand_lines: list[OwnBrandLine]
    totals: dict[str, dict[str, int]]  # currency -> partner net, retailer/platform share, own brand


def _statement_lines(keys_and_sums: list[tuple[MoneyKey, ActionCounters]], bps: int) -> list[StatementLine]:
    lines: list[StatementLine] = []
    by_currency: dict[str, list[tuple[MoneyKey, ActionCounters]]] = {}
    for key, sums in keys_and_sums:
        by_currency.setdefault(key[3], []).append((key, sums))
    for currency, entries in sorted(by_currency.items()):
        nets = [sums.net_minor for _, sums in entries]
        shares = apportion(share_of(sum(nets), bps), nets, bps)
        for ((partner, _, action, _), sums), share in zip(entries, shares, strict=True):
            lines.append(
                StatementLine(
                    partner,
                    action,
                    currency,
                    **asdict(sums),
                    retailer_share_minor=share,
                    platform_share_minor=sums.net_minor - share,
                )
            )
    return lines


def statements(
    rollup: MonthRollup, revenue_share_bps: Mapping[str, int], *, complete: bool
) -> list[Statement]:
    """One statement per retailer with partner or own-brand revenue this month.

    `revenue_share_bps` maps each retailer to its configured share; a retailer missing from it is
    left out (and should be reported by the caller).
    """
    partner_money: dict[str, list[tuple[MoneyKey, ActionCounters]]] = {}
    for key, sums in sorted(rollup.money.items(), key=lambda item: (item[0][1], item[0][0], item[0][2:])):
        partner_money.setdefault(key[1], []).append((key, sums))
    own_brand: dict[str, list[OwnBrandLine]] = {}
    for (retailer, offer, currency), (accepts, revenue) in sorted(rollup.own_brand.items()):
        own_brand.setdefault(retailer, []).append(OwnBrandLine(offer, currency, accepts, revenue))
    result = []
    for retailer in sorted(partner_money.keys() | own_brand.keys()):
        if retailer not in revenue_share_bps:
            continue
        bps = revenue_share_bps[retailer]
        lines = _statement_lines(partner_money.get(retailer, []), bps)
        own = own_brand.get(retailer, [])
        totals: dict[str, dict[str, int]] = {}
        for line in lines:
            total = totals.setdefault(line.currency, _empty_statement_totals())
            total["partner_net_minor"] += line.net_minor
            total["retailer_share_minor"] += line.retailer_share_minor
            total["platform_share_minor"] += line.platform_share_minor
        for item in own:
            total = totals.setdefault(item.currency, _empty_statement_totals())
            total["own_brand_revenue_minor"] += item.revenue_minor
        for total in totals.values():
            total["retailer_total_minor"] = total["retailer_share_minor"] + total["own_brand_revenue_minor"]
        result.append(
            Statement(
                retailer,
                rollup.month,
                bps,
                list(rollup.days),
                complete,
                lines,
                own,
                dict(sorted(totals.items())),
            )
        )
    return result


def _empty_statement_totals() -> dict[str, int]:
    return {
        "partner_net_minor": 0,
        "retailer_share_minor": 0,
        "platform_share_minor": 0,
        "own_brand_revenue_minor": 0,
    }


# --- files -----------------------------------------------------------------------------------------

INVOICE_COLUMNS = ["partner_id", "month", "invoice_number", *(f.name for f in fields(InvoiceLine))]
STATEMENT_COLUMNS = [
    "retailer_id",
    "month",
    "line_type",
    "partner_id",
    "offer_id",
    "action",
    "currency",
    "count",
    "gross_minor",
    "reversals",
    "reversed_minor",
    "net_minor",
    "retailer_share_minor",
    "platform_share_minor",
]


def _csv(header: list[str], rows: Iterable[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def invoice_csv(invoice: Invoice) -> bytes:
    """Line items only (machines sum them); totals are in the JSON."""
    return _csv(
        INVOICE_COLUMNS,
        (
            [invoice.partner_id, invoice.month, invoice.invoice_number, *astuple(line)]
            for line in invoice.lines
        ),
    )


def statement_csv(statement: Statement) -> bytes:
    """Partner-revenue lines (with the two shares), then own-brand lines (shares left empty)."""
    head = [statement.retailer_id, statement.month]
    rows: list[list[Any]] = [
        [*head, "partner_revenue", line.partner_id, NO_PARTNER, *astuple(line)[1:]]
        for line in statement.partner_lines
    ]
    rows += [
        [
            *head,
            *("own_brand", NO_PARTNER, line.offer_id, "accept", line.currency, line.accepts),
            *(line.revenue_minor, 0, 0, line.revenue_minor, "", ""),
        ]
        for line in statement.own_brand_lines
    ]
    return _csv(STATEMENT_COLUMNS, rows)


def document(item: Invoice | Statement) -> dict[str, Any]:
    """An invoice or statement as a JSON document (the rounding rule named for the reader)."""
    body = asdict(item)
    if isinstance(item, Statement):
        body["rounding"] = (
            "retailer share of each currency's partner net rounded half up (mirrored for negatives) at "
            "the total, apportioned to lines by largest remainder; platform share is the rest"
        )
    return body


# --- restatements ----------------------------------------------------------------------------------

RESTATEMENT = "restatement"  # the note a restatement document carries (see services.issuing)


def figures(document: Mapping[str, Any]) -> dict[str, Any]:
    """What an invoice or statement document says, without what names it (its number, the note
    of a restatement): two documents with the same figures need no restatement."""
    return {key: value for key, value in document.items() if key not in (RESTATEMENT, "invoice_number")}


def difference(
    before: Mapping[str, Mapping[str, int]], after: Mapping[str, Mapping[str, int]]
) -> dict[str, dict[str, int]]:
    """Each total of `after` minus the same total of `before`, per currency (zeros left out)."""
    changes: dict[str, dict[str, int]] = {}
    for currency in sorted(before.keys() | after.keys()):
        names = sorted(before.get(currency, {}).keys() | after.get(currency, {}).keys())
        delta = {
            name: after.get(currency, {}).get(name, 0) - before.get(currency, {}).get(name, 0)
            for name in names
        }
        if any(delta.values()):
            changes[currency] = delta
    return changes
