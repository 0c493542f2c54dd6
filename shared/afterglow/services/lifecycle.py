"""Conversions move along their lifecycle as the nightly run reconciles: pending → locked → invoiced.

The status is a marker on the conversion record, moved forward by a conditional update (never
back, never twice; the money on the record is not touched), so a re-run changes nothing. The
nightly run marks `locked` the conversions whose lock time fell on the days it reconciled, and
the roll-up of a complete month marks `invoiced`, with the invoice's number, every conversion its
invoices bill (see afterglow.billing).
"""

from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from itertools import islice

from afterglow.billing import INVOICED, LOCKED, billed_at
from afterglow.store import LedgerStore

MARKERS = 8  # conditional updates in flight at once (each waits on the network)
BATCH = 1_000  # lines read ahead of the updates: memory stays flat in the month's conversions

Move = tuple[str, str, str, str | None]  # partner, conversion id, status, invoice number


def moves(
    lines: Iterable[Mapping[str, str]],
    *,
    invoice_numbers: Mapping[str, str] | None,
    locked_on: set[str] | None,
) -> Iterator[Move]:
    """The status changes a month's billed money lines call for: with `invoice_numbers` (a
    complete month: partner → the number of its invoice in force) every conversion is invoiced;
    otherwise the conversions whose lock time fell on one of the days `locked_on` (YYYY-MM-DD;
    None: every day) are locked."""
    for line in lines:
        if line["kind"] != "conversion":
            continue
        if invoice_numbers is not None:
            yield line["partner_id"], line["conversion_id"], INVOICED, invoice_numbers[line["partner_id"]]
        elif locked_on is None or billed_at(line).astimezone(UTC).date().isoformat() in locked_on:
            yield line["partner_id"], line["conversion_id"], LOCKED, None


def advance(ledger: LedgerStore, changes: Iterable[Move]) -> int:
    """Apply status changes (each at most once); returns how many moved a conversion."""
    moved = 0
    pending = iter(changes)
    with ThreadPoolExecutor(max_workers=MARKERS, thread_name_prefix="lifecycle") as pool:
        while batch := list(islice(pending, BATCH)):
            moved += sum(
                pool.map(
                    lambda move: ledger.advance_conversion(move[0], move[1], move[2], invoice_number=move[3]),
                    batch,
                )
            )
    return moved
