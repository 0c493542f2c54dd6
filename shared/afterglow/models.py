"""Pydantic models: API input, API output and stored items, each for its own job."""

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    HttpUrl,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from afterglow.taxonomy import CATEGORIES


def _known_category(value: str) -> str:
    if value not in CATEGORIES:
        raise ValueError(f"unknown category {value!r}; see afterglow.taxonomy.CATEGORIES")
    return value


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


def _https(value: HttpUrl) -> HttpUrl:
    # Plain http only on loopback: the local demo shop's partner pages.
    if value.scheme != "https" and value.host not in LOOPBACK_HOSTS:
        raise ValueError("URL must use https")
    return value


# A host an origin may name: DNS labels (IDNs arrive punycoded), an IPv4 address or a bracketed
# IPv6 one. Nothing else: `*` is not a wildcard to CORS, and a pattern here would read as one.
_ORIGIN_HOST = re.compile(
    r"^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$"
    r"|^\[[0-9a-f:.]+\]$"
)


def _web_origin(value: HttpUrl) -> HttpUrl:
    # Shops are https; plain http is allowed only on loopback, for local development.
    if value.scheme != "https" and value.host not in LOOPBACK_HOSTS:
        raise ValueError("origin must use https (http only for localhost)")
    if value.path not in (None, "", "/") or value.query or value.fragment:
        raise ValueError("an origin is scheme://host[:port] with no path")
    if value.username is not None or value.password is not None:
        raise ValueError("an origin is scheme://host[:port] with no user or password")
    if not _ORIGIN_HOST.match(value.host or ""):
        raise ValueError("an origin names one host: no wildcards or other patterns")
    return value


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("needs a timezone (UTC)")
    try:
        # 0001-01-01T00:00+01:00 parses, but its UTC time is before year 1: nothing can store it.
        moment.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("out of range once converted to UTC") from error
    return moment


AwareDatetime = Annotated[datetime, AfterValidator(_aware), Field(description="ISO 8601 with timezone")]


Category = Annotated[
    str,
    AfterValidator(_known_category),
    Field(description="A category of the taxonomy", json_schema_extra={"enum": list(CATEGORIES)}),
]
HttpsUrl = Annotated[HttpUrl, AfterValidator(_https)]
WebOrigin = Annotated[HttpUrl, AfterValidator(_web_origin)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code")]
MinorUnits = Annotated[int, Field(ge=0, le=10**12, description="Money in integer minor units")]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
SegmentName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,31}$", description="e.g. vip, new")]
Segments = Annotated[
    list[SegmentName],
    Field(
        max_length=20,
        description="Customer segments the retailer sends; any other segment is learned as `other`",
    ),
]
SurveyKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
SurveyAnswer = bool | int | Annotated[str, Field(max_length=64)]


def _utf8_at_most(limit: int) -> AfterValidator:
    """Bound a string in UTF-8 bytes: it ends up in a key, and DynamoDB limits keys in bytes."""

    def check(value: str) -> str:
        if len(value.encode()) > limit:
            raise ValueError(f"at most {limit} bytes in UTF-8")
        return value

    return AfterValidator(check)


class Strict(BaseModel):
    """Base for API input: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Arm(StrEnum):
    HOLDOUT = "holdout"
    FIRST_PARTY_ONLY = "first_party_only"
    PARTNER_ONLY = "partner_only"
    MIXED = "mixed"


class ActionType(StrEnum):
    SIGNUP = "signup"
    FIRST_PURCHASE = "first_purchase"
    SUBSCRIPTION = "subscription"
    LEAD = "lead"
    INSTALL = "install"


# --- retailers ---------------------------------------------------------------------------------


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
    segments: Segments = []
    rules: RetailerRules = RetailerRules()


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
    segments: list[str] = []
    rules: RetailerRules = RetailerRules()
    status: Annotated[
        Literal["active", "paused"], Field(description="A paused retailer's pages show no offers")
    ] = "active"
    salt: Annotated[str, Field(exclude=True)] = ""
    created_at: datetime
    version: int = 1


class RulesUpdate(Strict):
    """New rules for a retailer; `version` is the retailer version they were edited from."""

    version: Annotated[int, Field(ge=1, description="The retailer's version you read; 409 if it changed")]
    rules: RetailerRules


class StatusUpdate(Strict):
    version: Annotated[int, Field(ge=1, description="The version you read; 409 if it changed")]
    status: Literal["active", "paused"]


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


class RetailerCreated(BaseModel):
    retailer: Retailer
    publishable_key: Annotated[str, Field(description="pk_…: for the storefront; shown once")]
    secret_key: Annotated[str, Field(description="sk_…: for the retailer's back office; shown once")]


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


class RetailerUpdate(Patch):
    """Change a retailer. `name` and `revenue_share_bps` are commercial terms: platform key only."""

    NULLABLE = frozenset({"survey"})
    PLATFORM_ONLY: ClassVar[frozenset[str]] = frozenset({"name", "revenue_share_bps"})

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    revenue_share_bps: Annotated[int, Field(ge=0, le=10_000)] | None = None
    allowed_origins: Annotated[list[WebOrigin], Field(max_length=20)] | None = None
    max_offers: Annotated[int, Field(ge=1, le=3)] | None = None
    min_relevance: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    experiment: ExperimentSplit | None = None
    survey: SurveyQuestion | None = None
    segments: Segments | None = None
    rules: RetailerRules | None = None


# --- API keys ----------------------------------------------------------------------------------


class ApiKeyCreate(Strict):
    kind: Literal["publishable", "secret"]


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


# --- partners ----------------------------------------------------------------------------------


class PartnerBudget(Strict):
    """Spending caps on the payouts a partner owes: once reached, its offers rest until the day
    (UTC) or month turns. Checked against spend counters refreshed every few minutes."""

    currency: Currency
    daily_minor: MinorUnits | None = None
    monthly_minor: MinorUnits | None = None

    @model_validator(mode="after")
    def _daily_within_monthly(self) -> Self:
        if self.daily_minor is None and self.monthly_minor is None:
            raise ValueError("a budget needs daily_minor, monthly_minor or both")
        daily, monthly = self.daily_minor, self.monthly_minor
        if daily is not None and monthly is not None and daily > monthly:
            raise ValueError("daily_minor must not exceed monthly_minor")
        return self


ContactEmail = Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]


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


class PartnerCreated(BaseModel):
    partner: Partner
    webhook_secret: Annotated[str, Field(description="whsec_…: signs conversion webhooks; shown once")]
    secret_id: Annotated[str, Field(description="Names this secret, e.g. to remove it after a rotation")]


class WebhookSecret(BaseModel):
    """A partner's webhook secret as listed: an id and a hint, never the secret."""

    secret_id: str
    hint: Annotated[str, Field(description="The secret's last four characters")]


class WebhookSecretList(BaseModel):
    items: list[WebhookSecret]


class WebhookSecretCreated(BaseModel):
    secret_id: str
    webhook_secret: Annotated[str, Field(description="whsec_…: valid alongside the others; shown once")]


# --- offers ------------------------------------------------------------------------------------


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


Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Device = Literal["desktop", "mobile", "tablet"]


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


OfferTag = Literal["gift", "refill", "subscription", "service", "donation"]


OfferTags = Annotated[
    list[OfferTag], Field(max_length=5, description="refill/subscription are hidden for gifts")
]
Sku = Annotated[str, Field(max_length=128, description="Product SKU, never offered to its buyer")]
FrequencyCap = Annotated[int, Field(ge=1, le=100, description="Times one customer may be offered it")]
WindowDays = Annotated[int, Field(ge=1, le=90)]
LockDays = Annotated[int, Field(ge=0, le=120)]


class FirstPartyOfferCreate(Strict):
    """One of the retailer's own products ("add to order"), shown on that retailer's pages only."""

    category: Category
    creative: Creative
    landing_url: HttpsUrl
    payout: Payout
    targeting: Targeting = Targeting()
    tags: OfferTags = []
    sku: Sku | None = None
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

    NULLABLE = frozenset({"sku", "frequency_cap"})

    category: Category | None = None
    creative: Creative | None = None
    landing_url: HttpsUrl | None = None
    payout: Payout | None = None
    targeting: Targeting | None = None
    tags: OfferTags | None = None
    sku: Sku | None = None
    frequency_cap: FrequencyCap | None = None
    attribution_window_days: WindowDays | None = None
    lock_days: LockDays | None = None
    allow_repeat_conversions: bool | None = None


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
    frequency_cap: int | None = None
    status: Literal["active", "paused"] = "active"
    created_at: datetime
    version: int = 1


class CatalogImportResult(BaseModel):
    """What a bulk import did, per entity kind (`partner`, `offer`); importing the same file
    again creates and updates nothing."""

    created: dict[str, int]
    updated: dict[str, int]
    unchanged: dict[str, int]
    conflicts: Annotated[list[str], Field(description="Entities changed by someone else meanwhile")]
    write_calls: int
    snapshot_version: int | None = None


class Page(BaseModel):
    """One page of a listing; pass `next_cursor` back as `cursor` for the next page."""

    items: list[Retailer] | list[Partner] | list[Offer]
    next_cursor: str | None = None


# --- decisions ---------------------------------------------------------------------------------


class LineItem(Strict):
    sku: Annotated[str, Field(min_length=1, max_length=128)]
    category: Category
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
    order_id: Annotated[str, Field(min_length=1, max_length=128), _utf8_at_most(128)]
    order_value_minor: MinorUnits
    currency: Currency
    line_items: Annotated[list[LineItem], Field(min_length=1, max_length=200)]
    customer: Customer = Customer()
    survey: Annotated[dict[SurveyKey, SurveyAnswer], Field(max_length=10)] = {}
    device: Literal["desktop", "mobile", "tablet"] | None = None
    locale: Annotated[str, Field(max_length=35)] | None = None
    placement: Annotated[str, Field(pattern=r"^[a-z0-9_\-]{1,40}$")] = "order_confirmation"
    k: Annotated[int, Field(ge=1, le=3)] = 3


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


class DecisionExplanation(BaseModel):
    """Why each candidate would or would not show (secret key, `explain=true`); records nothing."""

    arm: Arm
    candidates: list[CandidateExplanation]


# --- conversions -------------------------------------------------------------------------------


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


class ConversionResult(BaseModel):
    """Outcome of one webhook delivery. `rejected` is final: retrying cannot change it."""

    status: Literal["recorded", "duplicate", "rejected"]
    reason: str | None = None
    conversion_id: str
    reversal_id: str | None = None
    payout_minor: Annotated[int | None, Field(description="Negative for a reversal")] = None
    currency: str | None = None


# --- storefront events -------------------------------------------------------------------------


class EventType(StrEnum):
    IMPRESSION = "impression"
    DISMISS = "dismiss"
    ENGAGE = "engage"
    ACCEPT = "accept"
    SURVEY_ANSWER = "survey_answer"


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


# --- errors ------------------------------------------------------------------------------------


class ErrorItem(BaseModel):
    """One of several problems, e.g. one bad line of an imported catalog file."""

    message: str
    field: str | None = None
    line: int | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    details: Annotated[list[ErrorItem] | None, Field(description="Every problem, when several")] = None


class ErrorBody(BaseModel):
    """Every 4xx/5xx response body."""

    error: ErrorDetail
