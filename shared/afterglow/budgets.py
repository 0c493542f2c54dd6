"""Partner budgets: which partners have spent their daily or monthly cap (pure)."""

from collections.abc import Mapping
from datetime import date

from afterglow.models import Partner


def spend_keys(currency: str, day: date) -> dict[str, str]:
    """The spend counters a payout on `day` adds to: that day's and that month's, per currency."""
    return {"day": f"{currency}@{day.isoformat()}", "month": f"{currency}@{day:%Y-%m}"}


def exhausted_partners(
    spend_by_offer: Mapping[str, Mapping[str, int]],
    offer_owners: Mapping[str, str],
    partners: Mapping[str, Partner],
    today: date,
) -> frozenset[str]:
    """Partners whose payouts owed today (UTC) or this month, in their budget's currency, have
    reached the cap (`offer_owners`: offer id → partner id). Spend in other currencies does not
    count against a budget."""
    totals: dict[str, dict[str, int]] = {}
    for offer_id, spend in spend_by_offer.items():
        owner = offer_owners.get(offer_id)
        partner = partners.get(owner) if owner else None
        if partner is None or partner.budget is None:
            continue
        keys = spend_keys(partner.budget.currency, today)
        total = totals.setdefault(partner.partner_id, {"day": 0, "month": 0})
        for period, key in keys.items():
            total[period] += spend.get(key, 0)
    exhausted = set()
    for partner_id, total in totals.items():
        budget = partners[partner_id].budget
        assert budget is not None
        if (budget.daily_minor is not None and total["day"] >= budget.daily_minor) or (
            budget.monthly_minor is not None and total["month"] >= budget.monthly_minor
        ):
            exhausted.add(partner_id)
    return frozenset(exhausted)
