"""API input: the bodies callers send — catalog administration, decision requests, partner
webhooks and storefront event batches.

Every input model is `Strict`: an unknown field is a 422 naming it, never silently dropped.
"""

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from afterglow.models.fields import (
    DEFAULT_RETURN_FLAG_RATE,
    ActionType,
    AwareDatetime,
    Category,
    ContactEmail,
    Currency,
    Device,
    FrequencyCap,
    HttpsUrl,
    Identifier,
    LockDays,
    MinorUnits,
    OfferTags,
    OfferType,
    ProductType,
    ReturnFlagRate,
    Segments,
    Sku,
    SlateLayout,
    Strict,
    SurveyAnswer,
    SurveyKey,
    Tier,
    WebOrigin,
    WindowDays,
    utf8_at_most,
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

# --- changes to the catalog ----------------------------------------------------------------------


class Patch(Strict):
    """Base of partial updates: fields left out stay as they are; `version` is the version you
    read, and the update is refused (409) if the item changed since. Only the fields named in
    `NULLABLE` may be sent as null (to clear them)."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    version: Annotated[int, Field(ge=1, description="The version you read; 409 if it changed since")]

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_clearable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError(f"{info.field_name} cannot be null; leave it out to keep it")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields this update sets, as JSON values (version excluded)."""
        return self.model_dump(mode="json", exclude_unset=True, exclude={"version"})


class StatusUpdate(Strict):
    version: Annotated[int, Field(ge=1, description="The version you read; 409 if it changed")]
    status: Literal["active", "paused"]


# --- retailers -----------------------------------------------------------------------------------


class RetailerCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    currency: Currency
    revenue_share_bps: Annotated[
        int, Field(ge=0, le=10_000, description="Retailer's share of partner revenue, basis points")
    ] = 5_000
    allowed_origins: Annotated[
        list[WebOrigin],
        Field(max_length=20, description="Shop origins whose pages may call the storefront API"),
    ] = []
    max_offers: Annotated[int, Field(ge=1, le=3)] = 3
    min_relevance: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    experiment: ExperimentSplit = ExperimentSplit()
    survey: SurveyQuestion | None = None
    satisfaction: Annotated[
        SatisfactionQuestion | None,
        Field(description="A one-tap satisfaction question (NPS 0–10 or CSAT 1–5) shown after the offers"),
    ] = None
    return_flag_rate: ReturnFlagRate = DEFAULT_RETURN_FLAG_RATE
    segments: Segments = []
    rules: RetailerRules = RetailerRules()
    slate_layout: SlateLayout = "ranked"


class RulesUpdate(Strict):
    """New rules for a retailer; `version` is the retailer version they were edited from."""

    version: Annotated[int, Field(ge=1, description="The retailer's version you read; 409 if it changed")]
    rules: RetailerRules


class RetailerUpdate(Patch):
    """Change a retailer. `name` and `revenue_share_bps` are commercial terms: platform key only."""

    NULLABLE = frozenset({"survey", "satisfaction"})
    PLATFORM_ONLY: ClassVar[frozenset[str]] = frozenset({"name", "revenue_share_bps"})

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    revenue_share_bps: Annotated[int, Field(ge=0, le=10_000)] | None = None
    allowed_origins: Annotated[list[WebOrigin], Field(max_length=20)] | None = None
    max_offers: Annotated[int, Field(ge=1, le=3)] | None = None
    min_relevance: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    experiment: ExperimentSplit | None = None
    survey: SurveyQuestion | None = None
    satisfaction: Annotated[
        SatisfactionQuestion | None, Field(description="null removes the satisfaction question")
    ] = None
    segments: Segments | None = None
    rules: RetailerRules | None = None
    slate_layout: SlateLayout | None = None
    return_flag_rate: ReturnFlagRate | None = None


class ApiKeyCreate(Strict):
    kind: Literal["publishable", "secret"]


# --- partners ------------------------------------------------------------------------------------


class PartnerCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    contact_email: ContactEmail | None = None
    default_attribution_window_days: Annotated[int, Field(ge=1, le=90)] = 30
    default_lock_days: Annotated[int, Field(ge=0, le=120)] = 30
    budget: PartnerBudget | None = None


class PartnerUpdate(Patch):
    """Change a partner's profile, default windows or budget (platform key). Pause and resume
    have their own route."""

    NULLABLE = frozenset({"contact_email", "budget"})

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    contact_email: ContactEmail | None = None
    default_attribution_window_days: Annotated[int, Field(ge=1, le=90)] | None = None
    default_lock_days: Annotated[int, Field(ge=0, le=120)] | None = None
    budget: PartnerBudget | None = None


# --- offers --------------------------------------------------------------------------------------


class FirstPartyOfferCreate(Strict):
    """One of the retailer's own products ("add to order"), shown on that retailer's pages only."""

    category: Category
    creative: Creative
    landing_url: HttpsUrl
    payout: Payout
    targeting: Targeting = Targeting()
    tags: OfferTags = []
    sku: Sku | None = None
    offer_type: OfferType | None = None
    tier: Tier | None = None
    product_type: Annotated[
        ProductType | None,
        Field(
            description="What the offer itself is, if a product of the vocabulary: never offered right "
            "after a purchase of the same product type (a coffee-beans subscription after coffee beans)"
        ),
    ] = None
    complements: Complements | None = None
    giftable: Annotated[
        bool,
        Field(description="Fit for gift orders even if it is a refill or subscription (a gift subscription)"),
    ] = False
    frequency_cap: FrequencyCap | None = None
    attribution_window_days: WindowDays | None = None
    lock_days: LockDays | None = None
    allow_repeat_conversions: Annotated[
        bool, Field(description="Several conversions of one action per click (e.g. recurring orders)")
    ] = False


class OfferCreate(FirstPartyOfferCreate):
    """A partner brand's offer; window and lock period default to the partner's."""

    partner_id: Identifier


class OfferUpdate(Patch):
    """Change an offer (its owner cannot change). Pause and resume have their own route."""

    NULLABLE = frozenset({"sku", "frequency_cap", "offer_type", "tier", "product_type", "complements"})

    category: Category | None = None
    creative: Creative | None = None
    landing_url: HttpsUrl | None = None
    payout: Payout | None = None
    targeting: Targeting | None = None
    tags: OfferTags | None = None
    sku: Sku | None = None
    offer_type: OfferType | None = None
    tier: Tier | None = None
    product_type: ProductType | None = None
    complements: Complements | None = None
    giftable: bool | None = None
    frequency_cap: FrequencyCap | None = None
    attribution_window_days: WindowDays | None = None
    lock_days: LockDays | None = None
    allow_repeat_conversions: bool | None = None


# --- decisions -----------------------------------------------------------------------------------


class LineItem(Strict):
    sku: Annotated[str, Field(min_length=1, max_length=128)]
    category: Category
    title: (
        Annotated[
            str,
            Field(
                max_length=200,
                description="The product's name as the shop shows it: what tells a tent from a stove "
                "(read for its product type, never stored)",
            ),
        ]
        | None
    ) = None
    brand: Annotated[str, Field(max_length=128)] | None = None
    price_minor: MinorUnits
    quantity: Annotated[int, Field(ge=1, le=10_000)] = 1


class Customer(Strict):
    id: Annotated[str, Field(min_length=1, max_length=320, description="Hashed before storage")] | None = None
    email: Annotated[str, Field(max_length=320, description="Hashed before storage")] | None = None
    segment: Annotated[str, Field(max_length=64)] | None = None
    returning: bool | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None


class DecisionRequest(Strict):
    order_id: Annotated[str, Field(min_length=1, max_length=128), utf8_at_most(128)]
    order_value_minor: MinorUnits
    currency: Currency
    line_items: Annotated[list[LineItem], Field(min_length=1, max_length=200)]
    customer: Customer = Customer()
    survey: Annotated[dict[SurveyKey, SurveyAnswer], Field(max_length=10)] = {}
    device: Device | None = None
    locale: Annotated[str, Field(max_length=35)] | None = None
    placement: Annotated[
        str,
        Field(
            pattern=r"^[a-z0-9_\-]{1,40}$",
            description="Where the offers show: the confirmation page by default; a placement starting "
            "`followup` or `email` is a follow-up e-mail (refills show there, accessories do not)",
        ),
    ] = "order_confirmation"
    k: Annotated[int, Field(ge=1, le=3)] = 3


# --- partner webhooks ----------------------------------------------------------------------------


# A partner's money is an integer in JSON: `true`, `100.0` or `"100"` are mistakes, not amounts.
WebhookMinorUnits = Annotated[
    int, Field(strict=True, ge=0, le=10**12, description="Money in integer minor units (a JSON integer)")
]
# Printable ASCII: these end up in ledger keys, whose limits are in bytes (one per character here).
PartnerRef = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]


class _PartnerWebhookBody(Strict):
    """What conversions and reversals share: who sends, when, and an optional amount."""

    partner_id: Annotated[
        PartnerRef | None, Field(description="Your partner id; needed when no click_id names you")
    ] = None
    amount_minor: WebhookMinorUnits | None = None
    currency: Currency | None = None
    occurred_at: AwareDatetime

    @model_validator(mode="after")
    def _amount_has_currency(self) -> Self:
        if (self.amount_minor is None) != (self.currency is None):
            raise ValueError("amount_minor and currency go together")
        return self


class ConversionWebhook(_PartnerWebhookBody):
    """A partner reports an action taken after a click."""

    type: Literal["conversion"] = "conversion"
    click_id: Annotated[PartnerRef, Field(description="The click_id added to your landing page's URL")]
    conversion_id: Annotated[PartnerRef, Field(description="Partner's own id of this conversion")]
    action: ActionType = ActionType.SIGNUP
    amount_minor: Annotated[
        WebhookMinorUnits | None, Field(description="Basket value, for percentage payouts")
    ] = None


class ReversalWebhook(_PartnerWebhookBody):
    """A partner takes back (part of) an earlier conversion: refund or chargeback."""

    type: Literal["reversal"]
    conversion_id: Annotated[PartnerRef, Field(description="The partner's id of the original conversion")]
    reversal_id: Annotated[PartnerRef, Field(description="Partner's own id of this reversal (idempotency)")]
    amount_minor: Annotated[
        Annotated[WebhookMinorUnits, Field(gt=0)] | None,
        Field(description="Refunded basket amount (percentage payouts, prorated); omitted = all of it"),
    ] = None


def _webhook_type(value: Any) -> str:
    # `type` may be omitted for a conversion (the common case); anything else must say what it is.
    if isinstance(value, dict):
        return str(value.get("type", "conversion"))
    return str(getattr(value, "type", "conversion"))


PartnerWebhook = Annotated[
    Annotated[ConversionWebhook, Tag("conversion")] | Annotated[ReversalWebhook, Tag("reversal")],
    Discriminator(_webhook_type),
]


# --- storefront events ---------------------------------------------------------------------------


class EventType(StrEnum):
    IMPRESSION = "impression"
    DISMISS = "dismiss"
    ENGAGE = "engage"
    ACCEPT = "accept"
    SURVEY_ANSWER = "survey_answer"
    SATISFACTION = "satisfaction"  # data.score, with the decision token; the first answer counts
    PAGE_VIEW = "page_view"  # data.view (1, 2, … per decision), with the decision token: a session


MAX_EVENTS_PER_BATCH = 50


class StorefrontEvent(Strict):
    event_id: Annotated[
        str, Field(pattern=r"^[A-Za-z0-9_\-]{8,64}$", description="Client id; retries reuse it")
    ]
    type: EventType
    token: Annotated[str, Field(min_length=10, max_length=2048, description="Offer or decision token")]
    occurred_at: AwareDatetime
    data: Annotated[dict[str, str | int | bool], Field(max_length=8)] = {}


class EventBatch(Strict):
    """A batch of storefront events (≤ 50); each event gets its own result."""

    events: Annotated[list[StorefrontEvent], Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)]


class IncomingEventBatch(Strict):
    """A batch as received: the envelope is checked here, each event on its own when it is recorded,
    so that one bad event gets its own rejection instead of sinking the batch."""

    events: Annotated[list[Any], Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)]


# --- add-on returns (the retailer's back office) -------------------------------------------------

MAX_ADD_ON_QUANTITY = 99  # units of one accepted add-on (the storefront's accept allows 1–99)


class AddOnReturn(Strict):
    """A return or refund of a first-party add-on accepted on the confirmation page, sent by the
    retailer's order system with its secret key. The add-on is named as the SDK's `onAccept`
    named it: the decision id and the offer id."""

    return_id: Annotated[
        PartnerRef, Field(description="Your own id of this return or refund (idempotency: resend it as is)")
    ]
    decision_id: Annotated[
        Identifier, Field(description="The decision the add-on was accepted in (`onAccept`'s `decisionId`)")
    ]
    offer_id: Annotated[Identifier, Field(description="The first-party offer that was accepted")]
    amount_minor: Annotated[
        WebhookMinorUnits,
        Field(
            gt=0, description="Money refunded, integer minor units in the shop's currency (a JSON integer)"
        ),
    ]
    quantity: Annotated[
        Annotated[int, Field(strict=True, ge=1, le=MAX_ADD_ON_QUANTITY)] | None,
        Field(description="Units that came back, if any (leave it out for a refund without goods back)"),
    ] = None
    occurred_at: Annotated[AwareDatetime | None, Field(description="When the return happened")] = None
