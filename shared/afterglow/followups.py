"""Follow-ups: customers who saw an offer and declined it, for the retailer's e-mail tool. Pure.

A decision is followed up when it showed at least one offer (an impression or a dismissal) and
had no engagement, click or add-to-order, its customer is known (hashed), and the customer is not
on the retailer's opt-out list. Each row carries a send window and its `timing`:

- `after_purchase` (accessories and everything else): 24–48 h after the decision, the same offer
  while the purchase is still on the customer's mind;
- `refill` (every offer of the row is a refill): a two-day window ending REFILL_LEAD_DAYS before
  the product bought runs out (`product_types.RUNS_OUT_AFTER_DAYS` of the order's main product
  type, else of the refill offer's own product type, else DEFAULT_RUNS_OUT_DAYS). Only the main
  line item's type is known after the fact (the ledger keeps no line items, nor quantities): two
  bags of beans are timed like one.

When the retailer asks a satisfaction question, a row also has one signed one-tap link per score
(`satisfaction_links`, lowest score first, space-separated) for the e-mail to carry.

Beside the CSV, `followups_jsonl` writes each row's e-mail ready to send (subject, HTML, text,
links signed to last through the send window): the retailer's mailer only has to send it.

Opt-out list format (`optouts/retailer=<id>.txt` in the reports bucket): one customer hash per
line (the same salted SHA-256 hex the ledger stores), blank lines and `#` comments ignored.
"""

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from afterglow.email_render import RenderedEmail
from afterglow.product_types import runs_out_after_days
from afterglow.reconciliation import DecisionTrail
from afterglow.signing import MAX_LIFETIME_SECONDS

SEND_AFTER = timedelta(hours=24)
SEND_BEFORE = timedelta(hours=48)
REFILL_LEAD_DAYS = 3  # a refill e-mail's window closes this long before the product runs out
REFILL_WINDOW = timedelta(days=2)
DEFAULT_RUNS_OUT_DAYS = 30  # a refill of something the vocabulary does not know to run out
Timing = Literal["after_purchase", "refill"]
FOLLOWUP_COLUMNS = [
    "customer_hash",
    "order_id",
    "decision_id",
    "offer_ids",
    "decided_at",
    "send_after",
    "send_before",
    "satisfaction_links",
    "timing",
]


class OfferKind(NamedTuple):
    """What timing needs to know of an offer: its type (refill, accessory …) and product type."""

    offer_type: str | None = None
    product_type: str | None = None


def send_window(
    decided: datetime, offers: list[OfferKind], bought_product_type: str | None
) -> tuple[datetime, datetime, Timing]:
    """When to send the follow-up of a decision that showed `offers` (see the module docstring)."""
    if not offers or any(offer.offer_type != "refill" for offer in offers):
        return decided + SEND_AFTER, decided + SEND_BEFORE, "after_purchase"
    days = runs_out_after_days(bought_product_type) or next(
        (d for offer in offers if (d := runs_out_after_days(offer.product_type))), DEFAULT_RUNS_OUT_DAYS
    )
    closes = decided + timedelta(days=days - REFILL_LEAD_DAYS)
    opens = max(closes - REFILL_WINDOW, decided + SEND_AFTER)
    return opens, max(closes, opens + SEND_BEFORE - SEND_AFTER), "refill"


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
    timing: Timing = "after_purchase"
    context: Mapping[str, str] | None = None  # the decision's, for the e-mail's signed links

    def link_lifetime(self, ttl_seconds: int) -> tuple[int, int]:
        """(issued at, expires at) of the signed links its e-mail carries: issued at the decision's
        own time, so a re-run writes the same bytes, and valid until the send window closes plus
        `ttl_seconds`, so a refill e-mail sent weeks later still works."""
        issued_at = int(datetime.fromisoformat(self.decided_at).timestamp())
        send_before = int(datetime.fromisoformat(self.send_before).timestamp())
        return issued_at, min(send_before + ttl_seconds, issued_at + MAX_LIFETIME_SECONDS)


def parse_optouts(body: bytes | None) -> frozenset[str]:
    """The customer hashes in an opt-out list (see the module docstring); empty when there is none."""
    if not body:
        return frozenset()
    lines = (line.strip().lower() for line in body.decode("utf-8", errors="replace").splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def declined(
    trails: Mapping[str, DecisionTrail], offers: Mapping[str, OfferKind] | None = None
) -> dict[str, list[Followup]]:
    """Per retailer, the decisions whose offers were seen and declined, sorted by decision time;
    `offers` (offer id → its kind, from the catalog) times refills."""
    by_retailer: dict[str, list[Followup]] = {}
    for decision_id, trail in trails.items():
        if trail.engaged or not trail.impressed or not trail.customer_hash or not trail.decided_at:
            continue
        decided = datetime.fromisoformat(trail.decided_at)
        kinds = [(offers or {}).get(offer_id, OfferKind()) for offer_id in trail.impressed]
        send_after, send_before, timing = send_window(decided, kinds, trail.context.get("product_type"))
        by_retailer.setdefault(trail.retailer_id, []).append(
            Followup(
                customer_hash=trail.customer_hash,
                order_id=trail.order_id,
                decision_id=decision_id,
                offer_ids=trail.impressed,
                decided_at=trail.decided_at,
                send_after=send_after.isoformat(),
                send_before=send_before.isoformat(),
                arm=trail.arm,
                timing=timing,
                context=trail.context,
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
                row.timing,
            ]
        )
    return buffer.getvalue().encode()


def followups_jsonl(rows: list[Followup], emails: Callable[[Followup], RenderedEmail | None]) -> bytes:
    """One retailer's follow-ups with their e-mails, one JSON object a line, in the CSV's order
    (`emails` renders a row's; a row none of whose offers is still in the catalog is left out)."""
    lines = []
    for row in rows:
        email = emails(row)
        if email is None:
            continue
        document = {
            "customer_hash": row.customer_hash,
            "order_id": row.order_id,
            "decision_id": row.decision_id,
            "offer_ids": list(row.offer_ids),
            "timing": row.timing,
            "send_after": row.send_after,
            "send_before": row.send_before,
            "subject": email.subject,
            "html": email.html,
            "text": email.text,
            "satisfaction_links": list(row.satisfaction_links),
        }
        lines.append(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n")
    return "".join(lines).encode()
