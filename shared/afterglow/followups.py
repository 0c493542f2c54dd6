"""Follow-ups: customers who saw an offer and declined it, for the retailer's e-mail tool. Pure.

A decision is followed up when it showed at least one offer (an impression or a dismissal) and
had no engagement, click or add-to-order, its customer is known (hashed), and the customer is not
on the retailer's opt-out list. Each row carries a send window 24–48 h after the decision and,
when the retailer asks a satisfaction question, one signed one-tap link per score
(`satisfaction_links`, lowest score first, space-separated) for the e-mail to carry.

Opt-out list format (`optouts/retailer=<id>.txt` in the reports bucket): one customer hash per
line (the same salted SHA-256 hex the ledger stores), blank lines and `#` comments ignored.
"""

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from afterglow.reconciliation import DecisionTrail

SEND_AFTER = timedelta(hours=24)
SEND_BEFORE = timedelta(hours=48)
FOLLOWUP_COLUMNS = [
    "customer_hash",
    "order_id",
    "decision_id",
    "offer_ids",
    "decided_at",
    "send_after",
    "send_before",
    "satisfaction_links",
]


@dataclass(frozen=True)
class Followup:
    customer_hash: str
    order_id: str
    decision_id: str
    offer_ids: tuple[str, ...]
    decided_at: str
    send_after: str
    send_before: str
    arm: str = ""
    satisfaction_links: tuple[str, ...] = ()


def parse_optouts(body: bytes | None) -> frozenset[str]:
    """The customer hashes in an opt-out list (see the module docstring); empty when there is none."""
    if not body:
        return frozenset()
    lines = (line.strip().lower() for line in body.decode("utf-8", errors="replace").splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def declined(trails: Mapping[str, DecisionTrail]) -> dict[str, list[Followup]]:
    """Per retailer, the decisions whose offers were seen and declined, sorted by decision time."""
    by_retailer: dict[str, list[Followup]] = {}
    for decision_id, trail in trails.items():
        if trail.engaged or not trail.impressed or not trail.customer_hash or not trail.decided_at:
            continue
        decided = datetime.fromisoformat(trail.decided_at)
        by_retailer.setdefault(trail.retailer_id, []).append(
            Followup(
                customer_hash=trail.customer_hash,
                order_id=trail.order_id,
                decision_id=decision_id,
                offer_ids=trail.impressed,
                decided_at=trail.decided_at,
                send_after=(decided + SEND_AFTER).isoformat(),
                send_before=(decided + SEND_BEFORE).isoformat(),
                arm=trail.arm,
            )
        )
    for rows in by_retailer.values():
        rows.sort(key=lambda row: (row.decided_at, row.decision_id))
    return by_retailer


def without_optouts(rows: list[Followup], opted_out: frozenset[str]) -> list[Followup]:
    """Drop every customer who opted out."""
    return [row for row in rows if row.customer_hash.lower() not in opted_out]


def with_satisfaction_links(
    rows: list[Followup], links: Callable[[Followup], tuple[str, ...]]
) -> list[Followup]:
    """Each row with its one-tap satisfaction links (`links` signs them for a row)."""
    return [replace(row, satisfaction_links=links(row)) for row in rows]


def followups_csv(rows: list[Followup]) -> bytes:
    """One retailer's follow-ups; offer ids are separated by spaces."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FOLLOWUP_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.customer_hash,
                row.order_id,
                row.decision_id,
                " ".join(row.offer_ids),
                row.decided_at,
                row.send_after,
                row.send_before,
                " ".join(row.satisfaction_links),
            ]
        )
    return buffer.getvalue().encode()
