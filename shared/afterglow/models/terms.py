"""The terms retailers, partners and offers are made of: rules, survey, experiment split, budget,
creative, targeting and payout.

Each is one value with its own checks, the same whether it arrives in a request body, sits in a
domain entity or goes out in a view; so they are strict (unknown fields are an error) everywhere.
"""

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from afterglow.models.fields import (
    ActionType,
    AwareDatetime,
    Category,
    Country,
    Currency,
    Device,
    HttpsUrl,
    Identifier,
    MinorUnits,
    ProductType,
    Strict,
)

# --- retailers -----------------------------------------------------------------------------------


class ExperimentSplit(Strict):
    """Share of transactions (percent) assigned to each experiment arm; the four sum to 100."""

    holdout: Annotated[int, Field(ge=0, le=100)] = 5
    first_party_only: Annotated[int, Field(ge=0, le=100)] = 0
    partner_only: Annotated[int, Field(ge=0, le=100)] = 0
    mixed: Annotated[int, Field(ge=0, le=100)] = 95

    @model_validator(mode="after")
    def _sums_to_100(self) -> Self:
        if self.holdout + self.first_party_only + self.partner_only + self.mixed != 100:
            raise ValueError("experiment split must sum to 100")
        return self


class SurveyOption(Strict):
    value: bool | str
    label: Annotated[str, Field(min_length=1, max_length=60)]


class SurveyQuestion(Strict):
    """The one-question micro-survey a retailer may show above the offers."""

    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="Answer key, e.g. is_gift")]
    question: Annotated[str, Field(min_length=1, max_length=120)]
    options: Annotated[list[SurveyOption], Field(min_length=2, max_length=6)]


class SatisfactionQuestion(Strict):
    """The one-tap satisfaction question a retailer may show after the offers (and in follow-ups).

    `nps`: 0–10, "How likely are you to recommend us?"; `csat`: 1–5, "How satisfied are you?".
    """

    scale: Annotated[
        Literal["nps", "csat"],
        Field(description="nps: a 0–10 score (Net Promoter Score); csat: a 1–5 score (satisfaction)"),
    ]
    question: Annotated[
        str, Field(min_length=1, max_length=120, description="The wording shown above the scores")
    ]
    low_label: Annotated[
        str | None, Field(max_length=40, description="Words under the lowest score, e.g. Not likely")
    ] = None
    high_label: Annotated[
        str | None, Field(max_length=40, description="Words under the highest score, e.g. Very likely")
    ] = None


class AuditSuppression(Strict):
    """A reviewer's verdict: this offer is irrelevant after a purchase in this category."""

    purchase_category: Category
    offer_id: Identifier


class RetailerRules(Strict):
    """What a retailer allows on its confirmation page. Empty allow-lists mean "everything"."""

    allowed_categories: Annotated[list[Category], Field(max_length=40)] = []
    blocked_categories: Annotated[list[Category], Field(max_length=40)] = []
    partner_blocked_categories: Annotated[
        list[Category], Field(max_length=40, description="Categories where only first-party offers may show")
    ] = []
    allowed_partners: Annotated[list[Identifier], Field(max_length=5000)] = []
    blocked_partners: Annotated[list[Identifier], Field(max_length=5000)] = []
    addon_price_max_pct: Annotated[
        int, Field(ge=1, le=1000, description="An add-on may cost at most this % of the order value")
    ] = 50
    audit_suppressions: Annotated[list[AuditSuppression], Field(max_length=10_000)] = []

    @model_validator(mode="after")
    def _not_both(self) -> Self:
        if set(self.allowed_categories) & set(self.blocked_categories):
            raise ValueError("a category cannot be both allowed and blocked")
        if set(self.allowed_partners) & set(self.blocked_partners):
            raise ValueError("a partner cannot be both allowed and blocked")
        return self


# --- partners ------------------------------------------------------------------------------------


class PartnerBudget(Strict):
    """Spending caps on the payouts a partner owes: once reached, its offers rest until the day
    (UTC) or month turns. Checked against spend counters refreshed every minute or so."""

    currency: Currency
    daily_minor: MinorUnits | None = None
    monthly_minor: MinorUnits | None = None
    pacing: Annotated[
        Literal["even", "asap"],
        Field(
            description="How the daily budget is spent: `even` spreads it across the day (UTC) — a "
            "partner ahead of the clock is shown in fewer decisions until the clock catches up; "
            "`asap` shows its offers until the cap is reached"
        ),
    ] = "even"

    @model_validator(mode="after")
    def _daily_within_monthly(self) -> Self:
        if self.daily_minor is None and self.monthly_minor is None:
            raise ValueError("a budget needs daily_minor, monthly_minor or both")
        daily, monthly = self.daily_minor, self.monthly_minor
        if daily is not None and monthly is not None and daily > monthly:
            raise ValueError("daily_minor must not exceed monthly_minor")
        return self


# --- offers --------------------------------------------------------------------------------------


class FixedPayout(Strict):
    type: Literal["fixed"] = "fixed"
    currency: Currency
    amounts: Annotated[
        dict[ActionType, MinorUnits], Field(min_length=1, description="Minor units paid per action")
    ]


class PercentPayout(Strict):
    type: Literal["percent"] = "percent"
    bps: Annotated[int, Field(ge=1, le=10_000, description="Basis points of the converted amount")]
    actions: Annotated[list[ActionType], Field(min_length=1)] = [ActionType.FIRST_PURCHASE]


Payout = Annotated[FixedPayout | PercentPayout, Field(discriminator="type")]


class Creative(Strict):
    title: Annotated[str, Field(min_length=1, max_length=120)]
    body: Annotated[str, Field(max_length=500)] = ""
    image_url: HttpsUrl | None = None
    cta: Annotated[str, Field(min_length=1, max_length=40)] = "Learn more"
    price_minor: MinorUnits | None = None
    discount_pct: Annotated[int, Field(ge=0, le=100)] | None = None
    exclusive_minutes: Annotated[int, Field(ge=0, le=1440)] | None = None


class Complements(Strict):
    """What an offer goes with: it is relevant after a purchase of one of these product types or in
    one of these categories (or when the customer's survey answer names one), and an accessory,
    insurance, service or refill is shown after nothing else."""

    categories: Annotated[
        list[Category], Field(max_length=40, description="Purchase categories the offer goes with")
    ] = []
    product_types: Annotated[
        list[ProductType],
        Field(max_length=40, description="Purchased product types the offer goes with (e.g. bicycle)"),
    ] = []

    @model_validator(mode="after")
    def _names_something(self) -> Self:
        if not self.categories and not self.product_types:
            raise ValueError("complements needs categories, product_types or both (or leave it out)")
        return self


class Targeting(Strict):
    """Which transactions an offer may be shown for. Empty lists mean "any"."""

    countries: Annotated[list[Country], Field(max_length=250)] = []
    min_order_minor: MinorUnits | None = None
    max_order_minor: MinorUnits | None = None
    purchase_categories: Annotated[list[Category], Field(max_length=40)] = []
    devices: Annotated[list[Device], Field(max_length=3)] = []
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        low, high = self.min_order_minor, self.max_order_minor
        if low is not None and high is not None and low > high:
            raise ValueError("min_order_minor must not exceed max_order_minor")
        if self.starts_at and self.ends_at and self.starts_at >= self.ends_at:
            raise ValueError("starts_at must be before ends_at")
        return self
