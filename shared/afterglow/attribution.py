"""Attribution of a partner's conversion to a click, and the payout it earns. Pure rules."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from afterglow.models import ConversionWebhook, FixedPayout, Offer
from afterglow.money import percent_of

CLOCK_SKEW = timedelta(minutes=5)


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


@dataclass(frozen=True)
class Attributed:
    payout_minor: int
    currency: str


@dataclass(frozen=True)
class Refused:
    reason: str


def attribute(
    conversion: ConversionWebhook, sender_partner_id: str, click: Click | None, offer: Offer | None
) -> Attributed | Refused:
    """Decide whether a conversion counts and what it pays; the partner's word on money is not taken."""
    if click is None or offer is None:
        return Refused("unknown_click")
    if click.partner_id != sender_partner_id:
        return Refused("click_belongs_to_another_partner")
    occurred = conversion.occurred_at.astimezone(UTC)
    if occurred < click.clicked_at - CLOCK_SKEW:
        return Refused("conversion_before_click")
    if occurred > click.clicked_at + timedelta(days=offer.attribution_window_days):
        return Refused("outside_attribution_window")
    if occurred > datetime.now(UTC) + CLOCK_SKEW:
        return Refused("occurred_in_future")
    payout = offer.payout
    if isinstance(payout, FixedPayout):
        amount = payout.amounts.get(conversion.action)
        if amount is None:
            return Refused("action_not_paid_by_offer")
        return Attributed(amount, payout.currency)
    if conversion.action not in payout.actions:
        return Refused("action_not_paid_by_offer")
    if conversion.amount_minor is None or conversion.currency is None:
        return Refused("amount_required_for_percentage_payout")
    return Attributed(percent_of(conversion.amount_minor, payout.bps), conversion.currency)
