"""API output: what callers read back — views of the catalog, pages, created credentials,
decisions, webhook and event results, the audit sample and the delivery log.

No view has a secret field. A key or webhook secret appears only in the one response that creates
it (`api_key`, `webhook_secret`, shown once); a retailer's salt and a partner's webhook secrets
are not fields of any view, so no serialisation setting can let them out.
`Retailer`, `Partner` and `Offer` here are the API's views of the entities of the same names in
`afterglow.models.entities`; a field added to an entity is shown only once it is added here.
"""

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field

from afterglow.models import entities
from afterglow.models.fields import (
    DEFAULT_RETURN_FLAG_RATE,
    Arm,
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

# --- the catalog ---------------------------------------------------------------------------------


class Retailer(BaseModel):
    retailer_id: str
    name: str
    currency: str
    revenue_share_bps: int
    allowed_origins: list[str]
    max_offers: int
    min_relevance: float
    experiment: ExperimentSplit
    survey: SurveyQuestion | None = None
    satisfaction: Annotated[
        SatisfactionQuestion | None, Field(description="The one-tap satisfaction question, if any")
    ] = None
    segments: list[str] = []
    rules: RetailerRules = RetailerRules()
    slate_layout: SlateLayout = "ranked"
    return_flag_rate: ReturnFlagRate = DEFAULT_RETURN_FLAG_RATE
    status: Annotated[
        Literal["active", "paused"], Field(description="A paused retailer's pages show no offers")
    ] = "active"
    created_at: datetime
    version: int = 1

    @classmethod
    def of(cls, retailer: entities.Retailer) -> Self:
        """The retailer as callers see it (its salt stays behind)."""
        return cls.model_validate(retailer, from_attributes=True)


class Partner(BaseModel):
    partner_id: str
    name: str
    status: Literal["active", "paused"] = "active"
    contact_email: str | None = None
    default_attribution_window_days: int
    default_lock_days: int
    budget: PartnerBudget | None = None
    created_at: datetime
    version: int = 1

    @classmethod
    def of(cls, partner: entities.Partner) -> Self:
        """The partner as callers see it."""
        return cls.model_validate(partner, from_attributes=True)


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
    product_type: Annotated[str | None, Field(description="What the offer itself is, if a product type")] = (
        None
    )
    complements: Complements | None = None
    giftable: Annotated[bool, Field(description="Shown on gift orders even if a refill or subscription")] = (
        False
    )
    frequency_cap: int | None = None
    status: Literal["active", "paused"] = "active"
    created_at: datetime
    version: int = 1

    @classmethod
    def of(cls, offer: entities.Offer) -> Self:
        """The offer as callers see it."""
        return cls.model_validate(offer, from_attributes=True)


class Page(BaseModel):
    """One page of a listing; pass `next_cursor` back as `cursor` for the next page."""

    items: list[Retailer] | list[Partner] | list[Offer]
    next_cursor: str | None = None


class RetailerCreated(BaseModel):
    retailer: Retailer
    publishable_key: Annotated[str, Field(description="pk_…: for the storefront; shown once")]
    secret_key: Annotated[str, Field(description="sk_…: for the retailer's back office; shown once")]


class PartnerCreated(BaseModel):
    partner: Partner
    webhook_secret: Annotated[str, Field(description="whsec_…: signs conversion webhooks; shown once")]
    secret_id: Annotated[str, Field(description="Names this secret, e.g. to remove it after a rotation")]


class CatalogImportResult(BaseModel):
    """What a bulk import did, per entity kind (`partner`, `offer`); importing the same file
    again creates and updates nothing."""

    created: dict[str, int]
    updated: dict[str, int]
    unchanged: dict[str, int]
    conflicts: Annotated[list[str], Field(description="Entities changed by someone else meanwhile")]
    write_calls: int
    snapshot_version: int | None = None


# --- keys and webhook secrets --------------------------------------------------------------------


class ApiKey(BaseModel):
    """An API key as listed: never the key itself (only its hash is stored), a hint to recognise it."""

    key_id: str
    kind: Literal["publishable", "secret"]
    status: Literal["active", "revoked"]
    hint: Annotated[str, Field(description="The key's last four characters")]
    created_at: datetime
    revoked_at: datetime | None = None


class ApiKeyCreated(BaseModel):
    key: ApiKey
    api_key: Annotated[str, Field(description="The new key; shown only in this response")]


class ApiKeyList(BaseModel):
    items: list[ApiKey]


class WebhookSecret(BaseModel):
    """A partner's webhook secret as listed: an id and a hint, never the secret."""

    secret_id: str
    hint: Annotated[str, Field(description="The secret's last four characters")]


class WebhookSecretList(BaseModel):
    items: list[WebhookSecret]


class WebhookSecretCreated(BaseModel):
    secret_id: str
    webhook_secret: Annotated[str, Field(description="whsec_…: valid alongside the others; shown once")]


# --- decisions -----------------------------------------------------------------------------------


class OfferView(BaseModel):
    offer_id: str
    partner_id: str
    kind: Literal["partner", "first_party"] = "partner"
    category: str
    title: str
    body: str
    image_url: str | None
    cta: str
    price_minor: int | None
    discount_pct: int | None
    expires_at: datetime | None
    tracking_token: str
    click_url: str
    tier: Annotated[
        str | None,
        Field(description="bundle, accessory or low_friction: its tier (a tiered slate is in tier order)"),
    ] = None


class DecisionResponse(BaseModel):
    decision_id: str
    arm: Arm
    offers: list[OfferView]
    degraded: bool = False
    created_at: datetime
    decision_token: Annotated[str, Field(description="Signed token for decision-level events")] = ""
    survey: Annotated[SurveyQuestion | None, Field(description="Question to show, when not yet answered")] = (
        None
    )
    satisfaction: Annotated[
        SatisfactionQuestion | None,
        Field(
            description="The retailer's one-tap satisfaction question, to show after the offers (also "
            "when there are none); answer it with a `satisfaction` event and the decision token"
        ),
    ] = None


class EmailView(BaseModel):
    """The slate of an e-mail placement, ready for the retailer's mailer."""

    subject: Annotated[
        str | None,
        Field(description="Follow-up placements: the e-mail's subject (null: a block for your own)"),
    ]
    html: Annotated[
        str,
        Field(
            description="E-mail-safe HTML: a table block to put into your confirmation e-mail, or a whole "
            "document for a follow-up (inline styles, no script, sized images, tracked links, open pixel)"
        ),
    ]
    text: Annotated[str, Field(description="The plain-text part: each offer with its tracked link")]
    open_pixel_url: Annotated[
        str,
        Field(
            description="The 1×1 GIF already in `html`; loading it counts every offer of the slate as "
            "seen, once (for a template of your own)"
        ),
    ]


class EmailDecisionResponse(DecisionResponse):
    """A decision for an e-mail placement (`confirmation_email`, `followup…`, `email…`): the slate
    also rendered as an e-mail; `email` is null when there is nothing to show."""

    email: EmailView | None


class CandidateExplanation(BaseModel):
    offer_id: str
    partner_id: str
    category: str
    eligible: bool
    verdicts: Annotated[
        dict[str, str | None], Field(description="Rule name -> refusal reason, null = passed")
    ]
    relevance: float
    survey_boost: float
    expected_payout_minor: int
    tier: Annotated[str | None, Field(description="Its tier, declared or implied by its offer type")] = None


class DecisionExplanation(BaseModel):
    """Why each candidate would or would not show (secret key, `explain=true`); records nothing."""

    arm: Arm
    slate_layout: Annotated[str, Field(description="ranked or tiered: how the slate is laid out")] = "ranked"
    candidates: list[CandidateExplanation]


class TracedCandidate(BaseModel):
    """One offer a decision considered: refused by a rule (its reason), or a candidate with the
    parts of its score."""

    offer_id: str
    refused: str | None = None
    relevance: float | None = None
    survey_boost: float | None = None
    expected_payout_minor: int | None = None


class DecisionTrace(BaseModel):
    """A sampled decision's reasoning, kept with it: every offer scanned, the learned ranking of
    the candidates, and what was shown (no customer data)."""

    candidates: list[TracedCandidate]
    ranked: list[str]
    shown: list[str]


class AuditedDecision(BaseModel):
    """What was bought, and what was shown for it: one line for a human relevance review."""

    decision_id: str
    at: datetime
    purchased_categories: list[str]
    shown: list[dict[str, str]]
    trace: Annotated[
        DecisionTrace | None, Field(description="Why, for the sampled share of decisions (TRACE_SAMPLE_RATE)")
    ] = None


class AuditSample(BaseModel):
    items: list[AuditedDecision]


# --- partner webhooks and storefront events ------------------------------------------------------


class ConversionResult(BaseModel):
    """Outcome of one webhook delivery. `rejected` is final: retrying cannot change it."""

    status: Literal["recorded", "duplicate", "rejected"]
    reason: str | None = None
    conversion_id: str
    reversal_id: str | None = None
    payout_minor: Annotated[int | None, Field(description="Negative for a reversal")] = None
    currency: str | None = None


class Delivery(BaseModel):
    """One verified webhook delivery and what became of it."""

    webhook_id: str
    received_at: datetime
    type: str
    partner_reference: str
    outcome: Literal["recorded", "duplicate", "rejected"]
    reason: str | None = None


class DeliveryPage(BaseModel):
    items: list[Delivery]
    next_cursor: str | None = None


class EventResult(BaseModel):
    event_id: Annotated[
        str,
        Field(
            description="The event's `event_id` as sent (empty if it was not a string); results are in "
            "the order of the events"
        ),
    ]
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None


class EventBatchResult(BaseModel):
    results: list[EventResult]


class AddOnReturnResult(BaseModel):
    """A return as recorded. `duplicate`: this `return_id` was recorded before, and the answer is
    that first record (a resend with other figures changes nothing)."""

    status: Literal["recorded", "duplicate"]
    return_id: str
    decision_id: str
    offer_id: str
    amount_minor: Annotated[int, Field(description="Money refunded by this return, minor units")]
    quantity: Annotated[int | None, Field(description="Units that came back with it, if given")] = None
    currency: str
    added_minor: Annotated[int, Field(description="What the accepted add-on added to the order")]
    returned_minor: Annotated[
        int, Field(description="Returned of it so far, this return included (as of this answer)")
    ]
