"""Attribution of partner conversions and reversals to clicks, and the money they move. Pure rules.

Payout terms are those of the offer *at click time* (snapshotted on the click record), never the
partner's word and never a later edit of the offer.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from afterglow.models import ConversionWebhook, FixedPayout, Payout, ReversalWebhook
from afterglow.money import percent_of, prorate

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class OfferTerms:
    """What an offer promised when it was clicked."""

    payout: Payout
    attribution_window_days: int
    lock_days: int
    allow_repeat_conversions: bool


@dataclass(frozen=True)
class Click:
    """A recorded click: the link between a decision and a partner's later conversion."""

    click_id: str
    retailer_id: str
    partner_id: str
    offer_id: str
    decision_id: str
    arm: str
    clicked_at: datetime
    terms: OfferTerms
    context: dict[str, str]
    # The shop's currency (the retailer's, which never changes): a percentage payout is a share of
    # a basket in it. None when unknown; then no percentage conversion is paid.
    currency: str | None = None


@dataclass(frozen=True)
class Attributed:
    payout_minor: int
    currency: str


@dataclass(frozen=True)
class Refused:
    reason: str


def attribute(
    conversion: ConversionWebhook, sender_partner_id: str, click: Click | None, now: datetime
) -> Attributed | Refused:
    """Decide whether a conversion counts and what it pays."""
    if click is None:
        return Refused("unknown_click")
    if click.partner_id != sender_partner_id:
        return Refused("click_belongs_to_another_partner")
    occurred = conversion.occurred_at.astimezone(UTC)
    if occurred < click.clicked_at - CLOCK_SKEW:
        return Refused("conversion_before_click")
    if occurred > click.clicked_at + timedelta(days=click.terms.attribution_window_days):
        return Refused("outside_attribution_window")
    if occurred > now + CLOCK_SKEW:
        return Refused("occurred_in_future")
    payout = click.terms.payout
    if isinstance(payout, FixedPayout):
        amount = payout.amounts.get(conversion.action)
        if amount is None:
            return Refused("action_not_paid_by_offer")
        return Attributed(amount, payout.currency)
    if conversion.action not in payout.actions:
        return Refused("action_not_paid_by_offer")
    if conversion.amount_minor is None or conversion.currency is None:
        return Refused("amount_required_for_percentage_payout")
    if conversion.currency != click.currency:
        return Refused("currency_mismatch")
    return Attributed(percent_of(conversion.amount_minor, payout.bps), conversion.currency)


@dataclass(frozen=True)
class RecordedConversion:
    """The parts of a recorded conversion that a reversal needs."""

    payout_minor: int
    currency: str
    amount_minor: int | None  # the converted basket, for percentage payouts
    reversed_minor: int  # payout taken back so far
    locks_at: datetime
    refunded_minor: int = 0  # basket refunded so far (percentage payouts)


@dataclass(frozen=True)
class TakenBack:
    """What a reversal takes back: part of the payout (positive) and how much basket it refunds."""

    payout_minor: int
    currency: str
    refund_minor: int


def lock_time(recorded_at: datetime, lock_days: int) -> datetime:
    """When a conversion locks: after this, it can no longer be changed or reversed."""
    return recorded_at + timedelta(days=lock_days)


def reversal_amount(
    reversal: ReversalWebhook, conversion: RecordedConversion | None, now: datetime
) -> TakenBack | Refused:
    """How much of a conversion's payout a reversal takes back (a positive amount), or why not.

    A full reversal takes back whatever is not yet reversed (and refunds the rest of the basket).
    A partial refund of a percentage conversion is prorated cumulatively: payout × everything
    refunded so far / converted amount, rounded half up, minus what was already taken back. So
    refunds that add up to the basket take back exactly the payout, however the basket was split;
    and together they can never refund more than the basket.
    """
    if conversion is None:
        return Refused("unknown_conversion")
    if now >= conversion.locks_at:
        return Refused("conversion_locked")
    remaining = conversion.payout_minor - conversion.reversed_minor
    if remaining <= 0:
        return Refused("already_fully_reversed")
    if reversal.amount_minor is None:
        rest_of_basket = (conversion.amount_minor or 0) - conversion.refunded_minor
        return TakenBack(remaining, conversion.currency, max(rest_of_basket, 0))
    if reversal.currency != conversion.currency:
        return Refused("currency_mismatch")
    if conversion.amount_minor is None:
        return Refused("partial_reversal_needs_a_percentage_conversion")
    refunded = conversion.refunded_minor + reversal.amount_minor
    if refunded > conversion.amount_minor:  # all refunds together, not each on its own
        return Refused("refund_exceeds_converted_amount")
    due = prorate(conversion.payout_minor, refunded, conversion.amount_minor) - conversion.reversed_minor
    return TakenBack(min(max(due, 0), remaining), conversion.currency, reversal.amount_minor)
