"""Domain entities: the retailers, partners and offers that services, rules and the decision path
work with.

An entity holds everything the domain needs, secrets included where the domain uses them: a
retailer carries the salt its customers' ids are hashed with. Entities never go out through the
API as they are; `afterglow.models.views` has what callers see. How an entity is stored (and the
secrets only the table holds, such as a partner's webhook secrets) is `afterglow.store.entities`.
"""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from afterglow.models.fields import (
    DEFAULT_RETURN_FLAG_RATE,
    OfferTag,
    OfferType,
    ReturnFlagRate,
    SlateLayout,
    Tier,
)
from afterglow.models.terms import (
    Complements,
    Creative,
    ExperimentSplit,
    PartnerBudget,
    Payout,
    RetailerRules,
    SatisfactionQuestion,
    SurveyQuestion,
    Targeting,
)


class Retailer(BaseModel):
    """A shop: its settings and rules, and the salt that keeps its customers' hashes its own."""

    retailer_id: str
    name: str
    currency: str
    revenue_share_bps: int
    allowed_origins: list[str]
    max_offers: int
    min_relevance: float
    experiment: ExperimentSplit
    survey: SurveyQuestion | None = None
    satisfaction: SatisfactionQuestion | None = None
    segments: list[str] = []
    rules: RetailerRules = RetailerRules()
    slate_layout: SlateLayout = "ranked"
    return_flag_rate: ReturnFlagRate = DEFAULT_RETURN_FLAG_RATE
    status: Annotated[
        Literal["active", "paused"], Field(description="A paused retailer's pages show no offers")
    ] = "active"
    salt: Annotated[str, Field(description="Hashes this retailer's customer ids; never shown")] = ""
    created_at: datetime
    version: int = 1


class Partner(BaseModel):
    """A partner brand: its profile, default windows and budget (its webhook secrets stay in the
    table: only verifying a webhook reads them)."""

    partner_id: str
    name: str
    status: Literal["active", "paused"] = "active"
    contact_email: str | None = None
    default_attribution_window_days: int
    default_lock_days: int
    budget: PartnerBudget | None = None
    created_at: datetime
    version: int = 1


# The tier an offer type implies when an offer declares none (`Offer.slate_tier`); products and
# experiences have none: only their owner knows whether one is a bundle.
TIER_OF_OFFER_TYPE = {
    "accessory": "accessory",
    **dict.fromkeys(
        ("insurance", "service", "refill", "subscription", "membership", "donation"), "low_friction"
    ),
}


# No docstring on purpose: the snapshot fingerprints this model's JSON schema (see
# `afterglow.catalog_snapshot.offer_schema_id`), and a description would change it for nothing.
class Offer(BaseModel):
    offer_id: str
    partner_id: str
    kind: Literal["partner", "first_party"] = "partner"
    category: str
    creative: Creative
    landing_url: str
    payout: Payout
    attribution_window_days: int
    lock_days: int
    allow_repeat_conversions: bool = False
    targeting: Targeting = Targeting()
    tags: list[OfferTag] = []
    sku: str | None = None
    offer_type: OfferType | None = None
    tier: Tier | None = None
    product_type: str | None = None  # validated as a ProductType on the way in
    complements: Complements | None = None
    giftable: bool = False
    frequency_cap: int | None = None
    status: Literal["active", "paused"] = "active"
    created_at: datetime
    version: int = 1

    @property
    def slate_tier(self) -> str | None:
        """Its tier in a tiered slate: the one it declares, else the one its offer type implies."""
        return self.tier or TIER_OF_OFFER_TYPE.get(self.offer_type or "")
