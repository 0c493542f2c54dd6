"""Learning feedback derived from the ledger: which counters a ledger record adds to. Pure.

The ledger is the truth; counters are a fold of it. Each record kind feeds one counter of the
offer it is about, in every context row its context falls in:

- a recorded decision: `shown` for each offer it showed (an exposure: certain, it was answered);
- an impression event: `viewed`; a click or an engage event: `engaged`;
- a conversion: `converted`, its payout in `revenue_minor` (and squared, for the payout's spread),
  and the payout owed in the partner's spend for the day and the month (budgets);
- an accept (an own-brand add-on added to the order): `converted`, the revenue it added in
  `revenue_minor` (and squared) — what a partner's conversion is to a partner offer;
- a return of an accepted add-on: minus its refund in `revenue_minor`, so an add-on that comes
  back is learned at what it really earned (its square is left as it was: the payout spread of a
  much-returned add-on reads a little wide).

Context rows come from declared vocabularies only, so the counter state is bounded whatever clients
send: the purchase category from the taxonomy, the main item's product type from
`afterglow.product_types`, the order value in `ORDER_VALUE_BUCKETS`, the customer's country from
`COUNTRIES` (anything else is `other`), the gift answer as `yes`, the customer segment from the
retailer's declared list (anything else is `other`) — segments are the retailer's own labels, so
they are learned per retailer. Anything else in a context is not counted. Counters are kept per
offer and retailer (the scope); the trainer sums the shared rows over retailers.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from afterglow.product_types import PRODUCT_TYPE_NAMES
from afterglow.taxonomy import CATEGORIES

OFFER_ROW: Final = ("*", "*")
# Order values in major units of the order's currency (a rough bucket: learning needs no exchange rate).
ORDER_VALUE_BUCKETS: Final = (
    (25, "under_25"),
    (50, "25_50"),
    (100, "50_100"),
    (250, "100_250"),
    (500, "250_500"),
)
ORDER_VALUE_TOP: Final = "500_plus"
ORDER_VALUES: Final = frozenset([*(name for _, name in ORDER_VALUE_BUCKETS), ORDER_VALUE_TOP])
# The countries learned one by one (the markets with most shops); every other is `other`.
COUNTRIES: Final = frozenset(
    [
        "AT",
        "AU",
        "BE",
        "CA",
        "CH",
        "CZ",
        "DE",
        "DK",
        "ES",
        "FI",
        "FR",
        "GB",
        "IE",
        "IT",
        "JP",
        "NL",
        "NO",
        "NZ",
        "PL",
        "PT",
        "SE",
        "US",
    ]
)
OTHER_COUNTRY: Final = "other"
_PRODUCT_TYPES: Final = frozenset(PRODUCT_TYPE_NAMES)
GLOBAL_SCOPE: Final = "*"  # the scope of records without a retailer (none today; kept for safety)
OTHER_SEGMENT: Final = "other"
MAX_SEGMENTS: Final = 20  # a retailer declares at most this many (RetailerCreate.segments)
COUNTERS: Final = ("shown", "viewed", "engaged", "converted", "revenue_minor", "revenue_sq")
LEARNED_KINDS: Final = frozenset(
    {"decision", "impression", "engage", "click", "conversion", "accept", "return"}
)

Row = tuple[str, str]  # (feature, value)


def order_value_bucket(order_value_minor: int) -> str:
    """The order value's bucket (`ORDER_VALUES`), counting 100 minor units to the major unit."""
    major = order_value_minor // 100
    return next((name for limit, name in ORDER_VALUE_BUCKETS if major < limit), ORDER_VALUE_TOP)


def country_value(country: object) -> str | None:
    """A customer's country as learned: one of `COUNTRIES`, `other`, or None when not given."""
    if not isinstance(country, str) or not country:
        return None
    return country if country in COUNTRIES else OTHER_COUNTRY


# Features every retailer shares, each with the only values that are counted.
SHARED_FEATURES: Final[dict[str, frozenset[str]]] = {
    "purchase_category": frozenset(CATEGORIES),
    "product_type": _PRODUCT_TYPES,
    "order_value": ORDER_VALUES,
    "country": frozenset([*COUNTRIES, OTHER_COUNTRY]),
    "gift": frozenset({"yes"}),
}


def global_rows(context: Mapping[str, Any]) -> list[Row]:
    """The rows of a context every retailer shares: the offer, its purchase category and product
    type, the order value's bucket, the country, a gift (values outside `SHARED_FEATURES` are not
    counted)."""
    rows = [OFFER_ROW]
    for feature, values in SHARED_FEATURES.items():
        value = context.get(feature)
        if isinstance(value, str) and value in values:
            rows.append((feature, value))
    return rows


def declared_segment(segment: object, declared: Iterable[str]) -> str | None:
    """A customer segment as the retailer declared it, `other` if it did not, None if absent."""
    if not isinstance(segment, str) or not segment.strip():
        return None
    value = segment.strip().lower()
    return value if value in set(declared) else OTHER_SEGMENT


def retailer_rows(context: Mapping[str, Any], declared_segments: Iterable[str]) -> list[Row]:
    """The rows of a context that belong to one retailer: its customer segment."""
    segment = declared_segment(context.get("segment"), declared_segments)
    return [("segment", segment)] if segment is not None else []


def policy_context(context: Mapping[str, str], retailer_id: str) -> dict[str, str]:
    """A decision's learning context as the policy ranks it: segments are the retailer's own
    labels, so the policy learns them per retailer (the trainer names them the same way)."""
    ranked = dict(context)
    if "segment" in ranked:
        ranked["segment"] = qualified_segment(retailer_id, ranked["segment"])
    return ranked


def qualified_segment(retailer_id: str, segment: str) -> str:
    return f"{retailer_id}/{segment}"


def model_value(scope: str, feature: str, value: str) -> str:
    """A row's value as the model names it: segments qualified by their retailer, the rest shared."""
    return qualified_segment(scope, value) if feature == "segment" and scope != GLOBAL_SCOPE else value


@dataclass
class FeedbackFold:
    """Counter deltas of a run of ledger records: per (offer, scope) and row, per counter; and the
    payouts owed per (partner, currency, period). Adding the same records in any order, in any
    split, gives the same totals."""

    counters: dict[tuple[str, str], dict[Row, dict[str, int]]] = field(default_factory=dict)
    spend: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def add(self, record: Mapping[str, Any], segments_of: Mapping[str, Iterable[str]]) -> None:
        """Fold one ledger record (`segments_of`: retailer id → its declared segments)."""
        kind = record.get("kind")
        context = record.get("context") or {}
        if not isinstance(context, Mapping):
            return
        retailer_id = str(record.get("retailer_id") or "")
        if kind == "decision":
            for offer_id in record.get("offer_ids") or []:
                self._count(str(offer_id), retailer_id, context, segments_of, {"shown": 1})
            return
        offer_id = record.get("offer_id")
        if not isinstance(offer_id, str) or not offer_id:
            return
        if kind == "impression":
            self._count(offer_id, retailer_id, context, segments_of, {"viewed": 1})
        elif kind in ("click", "engage"):
            self._count(offer_id, retailer_id, context, segments_of, {"engaged": 1})
        elif kind == "conversion":
            payout = int(record.get("payout_minor") or 0)
            amounts = {"converted": 1, "revenue_minor": payout, "revenue_sq": payout * payout}
            self._count(offer_id, retailer_id, context, segments_of, amounts)
            self._owe(record, payout)
        elif kind == "accept":
            added = int(record.get("own_brand_revenue_minor") or 0)
            amounts = {"converted": 1, "revenue_minor": added, "revenue_sq": added * added}
            self._count(offer_id, retailer_id, context, segments_of, amounts)
        elif kind == "return":
            refunded = int(record.get("amount_minor") or 0)
            self._count(offer_id, retailer_id, context, segments_of, {"revenue_minor": -refunded})

    def _count(
        self,
        offer_id: str,
        retailer_id: str,
        context: Mapping[str, Any],
        segments_of: Mapping[str, Iterable[str]],
        amounts: Mapping[str, int],
    ) -> None:
        # One item per offer and retailer: a record costs one counter write, and the retailer's
        # own labels (segments) sit beside the rows every retailer shares (summed by the trainer).
        rows = global_rows(context)
        if retailer_id:
            rows += retailer_rows(context, segments_of.get(retailer_id, ()))
        item = self.counters.setdefault((offer_id, retailer_id or GLOBAL_SCOPE), {})
        for row in rows:
            cell = item.setdefault(row, {})
            for counter, amount in amounts.items():
                if amount:
                    cell[counter] = cell.get(counter, 0) + amount

    def _owe(self, record: Mapping[str, Any], payout: int) -> None:
        partner_id, currency, at = record.get("partner_id"), record.get("currency"), record.get("at")
        if not (payout and isinstance(partner_id, str) and isinstance(currency, str) and isinstance(at, str)):
            return
        for period in spend_periods(datetime.fromisoformat(at).date()):
            key = (partner_id, currency, period)
            self.spend[key] = self.spend.get(key, 0) + payout

    def items(self) -> set[tuple[str, ...]]:
        """The stored items these deltas touch: (offer, scope) counters and spend per partner,
        currency and period (what one transaction's item limit counts)."""
        return {*self.counters, *(("spend", *owed) for owed in self.spend)}

    def merge(self, other: "FeedbackFold") -> None:
        """Add another fold's deltas to this one."""
        for key, rows in other.counters.items():
            item = self.counters.setdefault(key, {})
            for row, cell in rows.items():
                mine = item.setdefault(row, {})
                for counter, amount in cell.items():
                    mine[counter] = mine.get(counter, 0) + amount
        for owed, amount in other.spend.items():
            self.spend[owed] = self.spend.get(owed, 0) + amount


def spend_periods(day: date) -> tuple[str, str]:
    """The budget periods a payout on `day` counts in: the day and its month."""
    return day.isoformat(), f"{day:%Y-%m}"


def fold(records: Iterable[Mapping[str, Any]], segments_of: Mapping[str, Iterable[str]]) -> FeedbackFold:
    """The counter deltas of these ledger records."""
    result = FeedbackFold()
    for record in records:
        result.add(record, segments_of)
    return result
