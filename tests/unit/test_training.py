"""The trainer's pure parts: counters summed into the policy's rows, and partner budgets."""

from datetime import UTC, date, datetime

from afterglow.models import Partner, PartnerBudget
from afterglow.services.training import exhausted_partners, model_rows

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


def test_a_partners_spend_today_counts_against_its_daily_cap():
    partners = {"p": _partner("p", daily_minor=1000)}
    assert exhausted_partners({("p", "EUR", "2026-11-27"): 999}, partners, TODAY) == []
    assert exhausted_partners({("p", "EUR", "2026-11-27"): 1000}, partners, TODAY) == ["p"]


def test_yesterday_and_other_currencies_do_not_count_but_this_month_does():
    partners = {"p": _partner("p", daily_minor=1000, monthly_minor=5000)}
    spend = {("p", "EUR", "2026-11-26"): 4000, ("p", "USD", "2026-11-27"): 9000}
    assert exhausted_partners(spend, partners, TODAY) == []
    spend[("p", "EUR", "2026-11")] = 5000
    assert exhausted_partners(spend, partners, TODAY) == ["p"]
    assert exhausted_partners(spend, partners, date(2026, 12, 1)) == []  # a new month starts afresh


def test_partners_without_a_budget_are_never_exhausted():
    partners = {"p": _partner("p")}
    assert exhausted_partners({("p", "EUR", "2026-11-27"): 10**9}, partners, TODAY) == []


def test_write_shards_add_up_and_a_retailers_segments_are_named_after_it():
    items = [
        (
            "off_a",
            "*",
            {("*", "*"): {"shown": 3, "converted": 1, "revenue_minor": 500, "revenue_sq": 250_000}},
        ),
        ("off_a", "*", {("*", "*"): {"shown": 2}}),  # another write shard of the same offer
        ("off_a", "ret_1", {("segment", "vip"): {"shown": 4}}),
    ]
    assert model_rows(items) == [
        ["off_a", "*", "*", 5, 1, 500, 250_000],
        ["off_a", "segment", "ret_1/vip", 4, 0, 0, 0],
    ]


def test_a_published_row_never_has_more_conversions_than_exposures():
    # Given a conversion folded before the decision that exposed its offer (another stream shard)
    items = [("off_a", "*", {("*", "*"): {"shown": 1, "converted": 3, "revenue_minor": 900}})]
    # Then the row's successes are capped at its shows; a row with no show yet is left out
    assert model_rows(items)[0][3:5] == [1, 1]
    assert model_rows([("off_b", "*", {("*", "*"): {"converted": 2}})]) == []
