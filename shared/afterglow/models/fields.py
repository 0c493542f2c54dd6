"""Field types every model shares: money, currencies, identifiers, categories, URLs, times.

Each carries its own validation and OpenAPI description, so a body that breaks one gets a 422
naming the field, wherever the type is used.
"""

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl

from afterglow.product_types import PRODUCT_TYPE_NAMES
from afterglow.taxonomy import CATEGORIES


def _known_category(value: str) -> str:
    if value not in CATEGORIES:
        raise ValueError(f"unknown category {value!r}; see afterglow.taxonomy.CATEGORIES")
    return value


def _known_product_type(value: str) -> str:
    if value not in PRODUCT_TYPE_NAMES:
        raise ValueError(f"unknown product type {value!r}; see afterglow.product_types.PRODUCT_TYPES")
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


def utf8_at_most(limit: int) -> AfterValidator:
    """Bound a string in UTF-8 bytes: it ends up in a key, and DynamoDB limits keys in bytes."""

    def check(value: str) -> str:
        if len(value.encode()) > limit:
            raise ValueError(f"at most {limit} bytes in UTF-8")
        return value

    return AfterValidator(check)


AwareDatetime = Annotated[datetime, AfterValidator(_aware), Field(description="ISO 8601 with timezone")]


Category = Annotated[
    str,
    AfterValidator(_known_category),
    Field(description="A category of the taxonomy", json_schema_extra={"enum": list(CATEGORIES)}),
]
ProductType = Annotated[
    str,
    AfterValidator(_known_product_type),
    Field(
        description="A product type of the vocabulary (finer than a category: bicycle, tent, coffee_beans …)",
        json_schema_extra={"enum": list(PRODUCT_TYPE_NAMES)},
    ),
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
ContactEmail = Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Device = Literal["desktop", "mobile", "tablet"]
OfferTag = Literal["gift", "refill", "subscription", "service", "donation"]
OfferTags = Annotated[
    list[OfferTag], Field(max_length=5, description="refill/subscription are hidden for gifts")
]
OfferType = Annotated[
    Literal[
        "product",
        "accessory",
        "refill",
        "subscription",
        "service",
        "insurance",
        "experience",
        "membership",
        "donation",
    ],
    Field(
        description="What kind of offer it is: accessories and other products suit the confirmation page, "
        "refills the follow-up e-mail; refills and subscriptions are hidden on gift orders unless giftable; "
        "insurance, services and accessories show only after what they complement"
    ),
]
TierName = Literal["bundle", "accessory", "low_friction"]
TIERS: tuple[str, ...] = get_args(TierName)  # a tiered slate's order: highest value first
Tier = Annotated[
    TierName,
    Field(
        description="Its place in a tiered slate (retailer `slate_layout: tiered`): `bundle` (the "
        "highest-value offer, shown first), `accessory` (mid-range), `low_friction` (a warranty, "
        "subscription or free sample, shown last). Unset: accessories are `accessory`; insurance, "
        "services, refills, subscriptions, memberships and donations are `low_friction`"
    ),
]
SlateLayout = Annotated[
    Literal["ranked", "tiered"],
    Field(
        description="`ranked`: the best offers first; `tiered`: the best offer of each tier, ordered "
        "bundle → accessory → low-friction (presented highest value first); every rule still applies"
    ),
]
Sku = Annotated[str, Field(max_length=128, description="Product SKU, never offered to its buyer")]
DEFAULT_RETURN_FLAG_RATE = 0.2
ReturnFlagRate = Annotated[
    float,
    Field(
        ge=0.0,
        le=1.0,
        description="An own-brand add-on whose returned share of the revenue it added exceeds this "
        "(0–1) is flagged in the daily read-out",
    ),
]
FrequencyCap = Annotated[int, Field(ge=1, le=100, description="Times one customer may be offered it")]
WindowDays = Annotated[int, Field(ge=1, le=90)]
LockDays = Annotated[int, Field(ge=0, le=120)]


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
