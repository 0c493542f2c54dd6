"""Per-offer figures of a day or a month, read from reconciliation cells (arms summed): how much
of each offer's revenue was reversed (`refunds.csv`, flagged at REFUND_FLAG_SHARE), how much of
each own-brand add-on came back (`offer_returns`, flagged at the retailer's `return_flag_rate`),
and the top offers by revenue, partner offers and own-brand offers ranked apart per retailer. Pure."""

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from afterglow.models.fields import DEFAULT_RETURN_FLAG_RATE, TIERS
from afterglow.reconciliation import NO_PARTNER, Aggregate, AggregateKey
from afterglow.returns import exceeds_flag_rate, return_rate

REFUND_FLAG_SHARE = 0.10  # an offer losing ≥ 10% of its gross to reversals is flagged


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class OfferRefunds:
    retailer_id: str
    partner_id: str
    offer_id: str
    currency: str
    conversions: int
    reversals: int
    gross_minor: int
    reversed_minor: int
    reversal_rate: float | None  # reversals / conversions
    refunded_share: float | None  # reversed / gross
    flagged: bool


def offer_refunds(cells: Iterable[tuple[AggregateKey, Aggregate]]) -> list[OfferRefunds]:
    """Per offer (arms summed), how much of its revenue was reversed; offers with money only."""
    sums: dict[tuple[str, str, str, str], list[int]] = {}
    for (retailer, partner, offer, _, currency), cell in cells:
        if cell.conversions or cell.reversals:
            totals = sums.setdefault((retailer, partner, offer, currency), [0, 0, 0, 0])
            totals[0] += cell.conversions
            totals[1] += cell.reversals
            totals[2] += cell.gross_minor
            totals[3] += cell.reversed_minor
    rows = []
    for key in sorted(sums):
        conversions, reversals, gross, reversed_minor = sums[key]
        share = _ratio(reversed_minor, gross)
        rows.append(
            OfferRefunds(
                *key,
                conversions=conversions,
                reversals=reversals,
                gross_minor=gross,
                reversed_minor=reversed_minor,
                reversal_rate=_ratio(reversals, conversions),
                refunded_share=share,
                flagged=reversed_minor > 0 and (share is None or share >= REFUND_FLAG_SHARE),
            )
        )
    return rows


@dataclass(frozen=True)
class OfferReturns:
    """One own-brand add-on's accepts and returns (arms summed). Both are booked on the day they
    were recorded, so a day's returns may be of earlier days' accepts."""

    retailer_id: str
    offer_id: str
    currency: str
    accepts: int
    accepted_units: int
    added_minor: int  # own-brand revenue the accepts added
    returns: int
    returned_units: int
    returned_minor: int
    net_minor: int  # added − returned
    return_rate: float | None  # by amount: returned ÷ added (None when nothing was added)
    returns_per_accept: float | None  # by count: returns ÷ accepts
    flag_rate: float  # the retailer's return_flag_rate
    flagged: bool  # returned > flag_rate × added


def offer_returns(
    cells: Iterable[tuple[AggregateKey, Aggregate]], flag_rates: Mapping[str, float] | None = None
) -> list[OfferReturns]:
    """Per own-brand offer with accepts or returns, what came back and whether that exceeds its
    retailer's flag rate (`flag_rates`: retailer → rate; DEFAULT_RETURN_FLAG_RATE otherwise)."""
    sums: dict[tuple[str, str, str], list[int]] = {}
    for (retailer, partner, offer, _, currency), cell in cells:
        if partner == retailer and (cell.accepts or cell.returns):
            totals = sums.setdefault((retailer, offer, currency), [0] * 6)
            for n, figure in enumerate(
                (
                    cell.accepts,
                    cell.accepted_units,
                    cell.own_brand_revenue_minor,
                    cell.returns,
                    cell.returned_units,
                    cell.own_brand_returned_minor,
                )
            ):
                totals[n] += figure
    rows = []
    for key in sorted(sums):
        accepts, units, added, returns, returned_units, returned = sums[key]
        flag_rate = (flag_rates or {}).get(key[0], DEFAULT_RETURN_FLAG_RATE)
        rows.append(
            OfferReturns(
                *key,
                accepts=accepts,
                accepted_units=units,
                added_minor=added,
                returns=returns,
                returned_units=returned_units,
                returned_minor=returned,
                net_minor=added - returned,
                return_rate=return_rate(returned, added),
                returns_per_accept=_ratio(returns, accepts),
                flag_rate=flag_rate,
                flagged=exceeds_flag_rate(returned, added, flag_rate),
            )
        )
    return rows


@dataclass(frozen=True)
class OfferRevenue:
    retailer_id: str
    partner_id: str
    offer_id: str
    currency: str
    impressions: int
    clicks: int
    conversions: int
    accepts: int
    revenue_minor: int  # net partner payouts + own-brand add-to-order revenue net of returns


def top_offers(cells: Iterable[tuple[AggregateKey, Aggregate]], limit: int = 10) -> list[OfferRevenue]:
    """The offers that earned most, per currency of their money (ties: most impressions, then id).

    Impressions and clicks carry no currency; they are shown on each of the offer's money rows.
    """
    counts: dict[tuple[str, str, str], list[int]] = {}
    money: dict[tuple[str, str, str, str], list[int]] = {}
    for (retailer, partner, offer, _, currency), cell in cells:
        if offer == NO_PARTNER:
            continue
        seen = counts.setdefault((retailer, partner, offer), [0, 0])
        seen[0] += cell.impressions
        seen[1] += cell.clicks
        if currency != NO_PARTNER:
            earned = money.setdefault((retailer, partner, offer, currency), [0, 0, 0])
            earned[0] += cell.conversions
            earned[1] += cell.accepts
            earned[2] += cell.earned_minor
    earning = {money_key[:3] for money_key in money}
    for key in counts.keys() - earning:
        money[(*key, NO_PARTNER)] = [0, 0, 0]
    ranked = sorted(money, key=lambda key: (-money[key][2], -counts[key[:3]][0], key))
    return [
        OfferRevenue(
            *key,
            impressions=counts[key[:3]][0],
            clicks=counts[key[:3]][1],
            conversions=money[key][0],
            accepts=money[key][1],
            revenue_minor=money[key][2],
        )
        for key in ranked[:limit]
    ]


def top_offers_by_source(
    cells: Iterable[tuple[AggregateKey, Aggregate]], limit: int = 10
) -> list[OfferRevenue]:
    """Per retailer, its top partner offers and its top own-brand offers (`top_offers` of each),
    so that one retailer's list never crowds out another's and the two kinds are ranked apart. An
    own-brand offer is the retailer's own: its partner is the retailer itself."""
    by_retailer: dict[str, dict[bool, list[tuple[AggregateKey, Aggregate]]]] = {}
    for key, cell in cells:
        if key[0] == NO_PARTNER:
            continue
        by_retailer.setdefault(key[0], {False: [], True: []})[key[1] == key[0]].append((key, cell))
    return [
        offer
        for retailer in sorted(by_retailer)
        for own_brand in (False, True)
        for offer in top_offers(by_retailer[retailer][own_brand], limit=limit)
    ]


UNTIERED = "none"


@dataclass(frozen=True)
class TierFigures:
    """One retailer's offers of one slate tier (`none`: offers without a tier), arms summed: how
    each tier of a tiered slate does, and how tiered offers do in a ranked one."""

    retailer_id: str
    tier: str
    impressions: int
    clicks: int
    conversions: int  # partner conversions and own-brand add-ons added to the order
    revenue_minor_by_currency: dict[str, int]  # net partner payouts + own-brand revenue net of returns
    conversion_rate: float | None  # conversions per impression


def tier_figures(
    cells: Iterable[tuple[AggregateKey, Aggregate]], tiers: Mapping[str, str]
) -> list[TierFigures]:
    """Per retailer with tiered offers shown or earning, its figures per tier (`tiers`: offer →
    tier, as the catalog has it now; an offer it does not name is untiered)."""
    counts: dict[tuple[str, str], list[int]] = {}
    revenue: dict[tuple[str, str], dict[str, int]] = {}
    for (retailer, _, offer, _, currency), cell in cells:
        if offer == NO_PARTNER:
            continue
        key = (retailer, tiers.get(offer) or UNTIERED)
        seen = counts.setdefault(key, [0, 0, 0])
        seen[0] += cell.impressions
        seen[1] += cell.clicks
        seen[2] += cell.conversions + cell.accepts
        earned = cell.earned_minor
        if currency != NO_PARTNER and earned:
            by_currency = revenue.setdefault(key, {})
            by_currency[currency] = by_currency.get(currency, 0) + earned
    tiered = {retailer for retailer, tier in counts if tier != UNTIERED}
    rows = []
    for retailer in sorted(tiered):
        for tier in (*TIERS, UNTIERED):
            if (retailer, tier) not in counts:
                continue
            impressions, clicks, conversions = counts[retailer, tier]
            rows.append(
                TierFigures(
                    retailer_id=retailer,
                    tier=tier,
                    impressions=impressions,
                    clicks=clicks,
                    conversions=conversions,
                    revenue_minor_by_currency=dict(sorted(revenue.get((retailer, tier), {}).items())),
                    conversion_rate=_ratio(conversions, impressions),
                )
            )
    return rows


def refunds_csv(rows: list[OfferRefunds]) -> bytes:
    """Refund rates per offer as CSV."""
    names = [f.name for f in fields(OfferRefunds)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    writer.writerows([getattr(row, name) for name in names] for row in rows)
    return buffer.getvalue().encode()
