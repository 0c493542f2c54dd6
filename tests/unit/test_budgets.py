"""Partner budgets: spend in the budget's currency, today and this month, against the caps."""

from datetime import UTC, date, datetime

from afterglow.budgets import exhausted_partners, spend_keys
from afterglow.models import Partner, PartnerBudget

TODAY = date(2026, 11, 27)


def _partner(partner_id, **budget):
    return Partner(
        partner_id=partner_id,
        name=partner_id,
        default_attribution_window_days=30,
        default_lock_days=30,
        budget=PartnerBudget(currency="EUR", **budget) if budget else None,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_spend_of_all_a_partners_offers_counts_against_its_daily_cap():
    partners = {"p": _partner("p", daily_minor=1000)}
    offers = {"a": "p", "b": "p"}
    day = spend_keys("EUR", TODAY)["day"]
    assert exhausted_partners({"a": {day: 600}, "b": {day: 399}}, offers, partners, TODAY) == frozenset()
    assert exhausted_partners({"a": {day: 600}, "b": {day: 400}}, offers, partners, TODAY) == {"p"}


def test_yesterday_and_other_currencies_do_not_count_but_this_month_does():
    partners = {"p": _partner("p", daily_minor=1000, monthly_minor=5000)}
    offers = {"a": "p"}
    yesterday = spend_keys("EUR", date(2026, 11, 26))
    spend = {"a": {yesterday["day"]: 4000, spend_keys("USD", TODAY)["day"]: 9000}}
    assert exhausted_partners(spend, offers, partners, TODAY) == frozenset()
    spend["a"][yesterday["month"]] = 5000  # the same key as this month's
    assert exhausted_partners(spend, offers, partners, TODAY) == {"p"}
    # A new month starts afresh
    assert exhausted_partners(spend, offers, partners, date(2026, 12, 1)) == frozenset()


def test_partners_without_a_budget_are_never_exhausted():
    partners = {"p": _partner("p")}
    day = spend_keys("EUR", TODAY)["day"]
    assert exhausted_partners({"a": {day: 10**9}}, {"a": "p"}, partners, TODAY) == frozenset()
