"""A realistic, deterministic synthetic partner catalog for demos, load tests and imports.

`afterglow catalog generate --partners 4600 --seed 7` writes ~4,600 partner brands and ~20,000
offers as JSONL: every partner line first (`{"type": "partner", "partner_id": …, …PartnerCreate}`),
then every offer line (`{"type": "offer", "offer_id": …, …OfferCreate}`). Everything is drawn from
one `random.Random(seed)` — no global random state, no clock, no set iteration — so the same seed
always writes byte-identical files, and the ids (`par_gen_00001`, `off_gen_00001_01`) are stable,
which makes re-importing a regenerated file a no-op. An offer's id names its partner, so catalogs
of different sizes never give one offer id to two partners (importing a bigger one after a smaller
one updates, never conflicts).
"""

import json
import random
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

from afterglow.taxonomy import CATEGORIES, RELATIONS, relevance
from afterglow_dev.catalog_vocabulary import (
    ADJECTIVES,
    COMPANY_NOUNS,
    CTAS,
    MARKETS,
    OFFER_ROLES,
    PROFILES,
    SUFFIXES,
    SURNAMES,
    TITLES,
    CategoryProfile,
    Market,
    OfferRole,
)

PARTNER_ID_FORMAT: Final = "par_gen_{:05d}"
OFFER_ID_FORMAT: Final = "off_gen_{:05d}_{:02d}"  # partner number, the partner's nth offer
OFFERS_PER_PARTNER: Final = 20_000 / 4_600  # the size of the market leader's network
OWN_CATEGORY_SHARE: Final = 0.85  # the rest of a brand's offers are in a related category
PAYOUT_MULTIPLIER: Final = {"signup": 1.0, "first_purchase": 2.0, "subscription": 3.0}
APP_CATEGORIES: Final = ("gaming", "mobile", "streaming", "computing", "finance")
# Seasonal campaigns: fixed dates, so that the file does not depend on when it is generated.
SEASONS: Final = (
    ("2026-11-20T00:00:00Z", "2026-12-02T00:00:00Z"),  # Black Friday week
    ("2026-12-01T00:00:00Z", "2026-12-24T00:00:00Z"),  # Christmas
    ("2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"),  # New year, new habits
    ("2027-02-01T00:00:00Z", "2027-02-15T00:00:00Z"),  # Valentine's Day
)


@dataclass(frozen=True)
class Brand:
    """A generated partner brand: the line written for it, and what its offers draw on."""

    partner_id: str
    name: str
    domain: str
    category: str
    market: Market
    line: dict[str, Any]


@dataclass(frozen=True)
class GeneratedCatalog:
    """What `write_catalog` wrote."""

    partners: int
    offers: int
    bytes_written: int


def generate_catalog(partners: int, *, seed: int, offers: int | None = None) -> Iterator[dict[str, Any]]:
    """Every line of the catalog, partners first: `offers` defaults to ~4.35 per partner."""
    if partners < 1:
        raise ValueError("a catalog needs at least one partner")
    total_offers = round(partners * OFFERS_PER_PARTNER) if offers is None else offers
    if total_offers < partners:
        raise ValueError("every partner needs at least one offer: offers must be >= partners")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    brands = _brands(rng, partners)
    for brand in brands:
        yield brand.line
    for number, (brand, count) in enumerate(
        zip(brands, _offer_counts(rng, partners, total_offers), strict=True), start=1
    ):
        for nth in range(1, count + 1):
            yield _offer(rng, brand, OFFER_ID_FORMAT.format(number, nth))


def catalog_line(record: dict[str, Any]) -> str:
    """One JSONL line (without the newline): compact, UTF-8, keys in their generated order."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def write_catalog(out: TextIO, partners: int, *, seed: int, offers: int | None = None) -> GeneratedCatalog:
    """Write the catalog to an open text stream; returns what was written."""
    counts = {"partner": 0, "offer": 0}
    size = 0
    for record in generate_catalog(partners, seed=seed, offers=offers):
        line = catalog_line(record) + "\n"
        out.write(line)
        counts[record["type"]] += 1
        size += len(line.encode())
    return GeneratedCatalog(partners=counts["partner"], offers=counts["offer"], bytes_written=size)


def write_catalog_file(
    path: Path, partners: int, *, seed: int, offers: int | None = None
) -> GeneratedCatalog:
    """Write the catalog to a file (UTF-8, `\\n` line endings on every platform)."""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        return write_catalog(out, partners, seed=seed, offers=offers)


# --- partners ----------------------------------------------------------------------------------


def _brands(rng: random.Random, count: int) -> list[Brand]:
    category_weights = [PROFILES[category].weight for category in CATEGORIES]
    market_weights = [market.weight for market in MARKETS]
    names: set[str] = set()
    domains: set[str] = set()
    brands = []
    for number in range(1, count + 1):
        category = rng.choices(CATEGORIES, category_weights)[0]
        market = rng.choices(MARKETS, market_weights)[0]
        name, domain = _unique_name(rng, PROFILES[category], market, names, domains)
        partner_id = PARTNER_ID_FORMAT.format(number)
        line: dict[str, Any] = {"type": "partner", "partner_id": partner_id, "name": name}
        if rng.random() < 0.9:
            line["contact_email"] = f"partners@{domain}"
        line["default_attribution_window_days"] = rng.choices((7, 14, 30, 45, 60, 90), (1, 2, 6, 1, 2, 1))[0]
        line["default_lock_days"] = rng.choices((14, 30, 45, 60, 90), (1, 6, 2, 2, 1))[0]
        brands.append(Brand(partner_id, name, domain, category, market, line))
    return brands


def _unique_name(
    rng: random.Random, profile: CategoryProfile, market: Market, names: set[str], domains: set[str]
) -> tuple[str, str]:
    """A brand name (and its `.example` domain) that no earlier brand has."""
    for attempt in range(100):
        name = _brand_name(rng, profile)
        if attempt >= 20:  # a crowded category: brands often add their home market
            name = f"{name} {market.countries[0]}" if attempt < 40 else f"{name} {attempt}"
        domain = f"{_slug(name, separator='')}.example"
        if name not in names and domain not in domains:
            names.add(name)
            domains.add(domain)
            return name, domain
    raise RuntimeError("could not find a free brand name")  # pragma: no cover - 100 tries always do


def _brand_name(rng: random.Random, profile: CategoryProfile) -> str:
    stems = profile.stems.split()
    stem, other = rng.sample(stems, 2)
    pattern = rng.choices(
        ("suffix", "adjective", "company", "pair", "founder", "compound"), (2, 4, 4, 2, 2, 1)
    )
    match pattern[0]:
        case "suffix":
            return f"{stem}{rng.choice(SUFFIXES)}"
        case "adjective":
            return f"{rng.choice(ADJECTIVES)} {stem}"
        case "company":
            return f"{stem} {rng.choice(COMPANY_NOUNS)}"
        case "pair":
            return f"{stem} & {other}"
        case "founder":
            return f"{rng.choice(SURNAMES)}'s {stem}"
        case _:
            return f"{stem}{other.lower()}"


def _slug(text: str, *, separator: str = "-") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", separator, ascii_text.lower().replace("&", "and")).strip("-")


def _offer_counts(rng: random.Random, partners: int, total: int) -> list[int]:
    """Offers per brand: one each, the rest to brands in proportion to a skewed brand size."""
    counts = [1] * partners
    sizes = [rng.lognormvariate(0.0, 0.9) for _ in range(partners)]
    for brand in rng.choices(range(partners), weights=sizes, k=total - partners):
        counts[brand] += 1
    return counts


# --- offers ------------------------------------------------------------------------------------


def _offer(rng: random.Random, brand: Brand, offer_id: str) -> dict[str, Any]:
    category = _offer_category(rng, brand.category)
    profile = PROFILES[category]
    market = brand.market
    product = rng.choice(profile.products.split("|"))
    payout = _payout(rng, profile, market)
    paid_actions = list(payout["amounts"]) if payout["type"] == "fixed" else payout["actions"]
    action = rng.choice(paid_actions)  # what the creative asks for
    line: dict[str, Any] = {
        "type": "offer",
        "offer_id": offer_id,
        "partner_id": brand.partner_id,
        "category": category,
        "creative": _creative(rng, brand, profile, product, action),
        "landing_url": (
            f"https://www.{brand.domain}/{_slug(product)}"
            f"?utm_source=afterglow&utm_medium=post_purchase&utm_campaign={offer_id}"
        ),
        "payout": payout,
    }
    targeting = _targeting(rng, category, market)
    if targeting:
        line["targeting"] = targeting
    tags = list(dict.fromkeys([*profile.tags, *(["subscription"] if "subscription" in paid_actions else [])]))
    if tags:
        line["tags"] = tags
    role = OFFER_ROLES.get(product)
    if role is not None:  # drawn from nothing: the rest of the catalog is the same with or without
        line.update(_role_fields(role, sold_as_subscription=action == "subscription"))
    if rng.random() < 0.25:
        line["frequency_cap"] = rng.choice((1, 2, 3, 5))
    if rng.random() < 0.1:
        line["attribution_window_days"] = rng.choice((7, 14, 30, 60))
    if rng.random() < 0.08:
        line["lock_days"] = rng.choice((14, 30, 45, 60))
    if "subscription" in paid_actions and rng.random() < 0.1:
        line["allow_repeat_conversions"] = True
    return line


def _role_fields(role: OfferRole, *, sold_as_subscription: bool) -> dict[str, Any]:
    """An offer's type, product type, complements and giftable, as `OfferCreate` takes them; a
    product whose creative sells it by the month ("…, delivered every month") is a subscription."""
    offer_type = "subscription" if sold_as_subscription and role.offer_type == "product" else role.offer_type
    fields: dict[str, Any] = {"offer_type": offer_type}
    if role.product_type:
        fields["product_type"] = role.product_type
    complements: dict[str, list[str]] = {}
    if role.categories:
        complements["categories"] = list(role.categories)
    if role.product_types:
        complements["product_types"] = list(role.product_types)
    if complements:
        fields["complements"] = complements
    if role.giftable:
        fields["giftable"] = True
    return fields


def _offer_category(rng: random.Random, brand_category: str) -> str:
    related = list(RELATIONS.get(brand_category, {}))
    if not related or rng.random() < OWN_CATEGORY_SHARE:
        return brand_category
    return rng.choice(related)


def _payout(rng: random.Random, profile: CategoryProfile, market: Market) -> dict[str, Any]:
    """Fixed minor units per action in the brand's currency, or basis points of the basket."""
    if rng.random() < profile.percent_share:
        low, high = profile.bps
        actions = ["first_purchase"]
        if "subscription" in profile.actions and rng.random() < 0.4:
            actions.append("subscription")
        return {"type": "percent", "bps": rng.randrange(low, high + 1, 50), "actions": actions}
    paid = rng.sample(profile.actions, rng.randint(1, len(profile.actions)))
    base = rng.uniform(*profile.fixed) * market.price_level
    amounts = {
        action: _round_to(base * PAYOUT_MULTIPLIER[action], market.rounding)
        for action in sorted(paid, key=list(PAYOUT_MULTIPLIER).index)
    }
    return {"type": "fixed", "currency": market.currency, "amounts": amounts}


def _creative(
    rng: random.Random, brand: Brand, profile: CategoryProfile, product: str, action: str
) -> dict[str, Any]:
    discount = rng.choice((10, 15, 20, 25, 30, 40, 50)) if rng.random() < 0.55 else None
    templates = [t for t in TITLES[action] if discount is not None or "{discount}" not in t]
    title = rng.choice(templates).format(
        brand=brand.name, product=product, discount=discount, trial=rng.choice((7, 14, 30))
    )
    benefit = rng.choice(profile.benefits.split("|"))
    body = f"{brand.name}: {benefit}." + (f" {discount}% off for new customers." if discount else "")
    creative: dict[str, Any] = {"title": title[0].upper() + title[1:], "body": body}
    if rng.random() < 0.85:
        creative["image_url"] = f"https://cdn.{brand.domain}/img/{_slug(product)}-{rng.randint(1, 9)}.jpg"
    creative["cta"] = rng.choice(CTAS[action])
    low, high = profile.price
    if high and rng.random() < 0.75:
        creative["price_minor"] = _price_point(rng.uniform(low, high) * brand.market.price_level)
    if discount is not None:
        creative["discount_pct"] = discount
    if rng.random() < 0.2:
        creative["exclusive_minutes"] = rng.choice((10, 15, 20, 30, 60))
    return creative


def _targeting(rng: random.Random, category: str, market: Market) -> dict[str, Any]:
    """Where and after what an offer may show; most offers target little beyond their market."""
    targeting: dict[str, Any] = {}
    if len(market.countries) > 2 and rng.random() < 0.7:
        targeting["countries"] = sorted(rng.sample(market.countries, rng.randint(1, 6)))
    elif len(market.countries) <= 2 and rng.random() < 0.8:
        targeting["countries"] = list(market.countries[: rng.randint(1, len(market.countries))])
    if rng.random() < 0.15:
        targeting["min_order_minor"] = _round_to(rng.choice((15, 25, 50)) * 100 * market.price_level, 100)
        if rng.random() < 0.2:
            targeting["max_order_minor"] = targeting["min_order_minor"] * 20
    if rng.random() < 0.2:
        buyers = [purchase for purchase in CATEGORIES if relevance(purchase, category) > 0]
        chosen = set(rng.sample(buyers, rng.randint(1, len(buyers))))
        targeting["purchase_categories"] = [purchase for purchase in buyers if purchase in chosen]
    if category in APP_CATEGORIES and rng.random() < 0.15:
        targeting["devices"] = ["mobile", "tablet"]
    if rng.random() < 0.04:
        targeting["starts_at"], targeting["ends_at"] = rng.choice(SEASONS)
    return targeting


def _round_to(amount: float, step: int) -> int:
    return max(step, round(amount / step) * step)


def _price_point(amount: float) -> int:
    """A shop price: 2999 rather than 3012."""
    return max(99, round(amount / 100) * 100 - 1)
