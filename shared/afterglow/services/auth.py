"""Who is calling: API keys resolved to a principal with a scope."""

import time
from dataclasses import dataclass
from typing import Literal

from afterglow import warm
from afterglow.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from afterglow.models import Offer, Retailer
from afterglow.services.catalog_cache import catalog_cache
from afterglow.signing import hash_key
from afterglow.store import CatalogStore

KEY_CACHE_SECONDS = 60.0
SECRET_KEY_PREFIX = "sk_"  # noqa: S105 - the prefix every secret API key starts with, not a secret


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the platform operator, one retailer, or one partner brand.

    Tenancy lives here: what this caller may see and manage. Whatever it may not see answers
    404, not 403, exactly like an id that does not exist, so that a key never learns which other
    tenants exist.
    """

    kind: Literal["publishable", "secret"]
    scope: Literal["platform", "retailer", "partner"]
    retailer_id: str | None
    partner_id: str | None = None

    @property
    def is_platform(self) -> bool:
        """The operator: sees and manages every tenant, and alone changes commercial terms."""
        return self.scope == "platform"

    def can_see_retailer(self, retailer_id: str) -> bool:
        return self.is_platform or (self.scope == "retailer" and self.retailer_id == retailer_id)

    def can_see_partner(self, partner_id: str) -> bool:
        return self.is_platform or (self.scope == "partner" and self.partner_id == partner_id)

    def may_manage(self, offer: Offer) -> bool:
        """The platform manages every offer, a retailer its own first-party offers."""
        return self.is_platform or (offer.kind == "first_party" and self.can_see_retailer(offer.partner_id))

    def require_secret(self) -> "Principal":
        """This caller, if it holds a secret key: a publishable key, which any web page can read,
        never reaches the admin API."""
        if self.kind != "secret":
            raise Forbidden("publishable keys cannot use the admin API")
        return self

    def require_platform(self) -> None:
        if not self.is_platform:
            raise Forbidden("this operation needs a platform key")

    def require_retailer(self, retailer_id: str) -> None:
        """Go on only for the platform or that retailer's own key; 404 for any other caller."""
        if not self.can_see_retailer(retailer_id):
            raise NotFound(f"no retailer {retailer_id!r}")

    def require_partner(self, partner_id: str) -> None:
        """Go on only for the platform or that partner's own key; 404 for any other caller."""
        if not self.can_see_partner(partner_id):
            raise NotFound(f"no partner {partner_id!r}")

    def require_offer(self, offer: Offer) -> None:
        """Go on only if this caller may manage the offer; 404 for any other caller."""
        if not self.may_manage(offer):
            raise NotFound(f"no offer {offer.offer_id!r}")


class KeyCache:
    """Principals by key hash, each held for a minute: keys change rarely, and a warm function
    saves a round trip per request."""

    def __init__(self) -> None:
        self._principals: dict[str, tuple[Principal, float]] = {}

    def get(self, key_hash: str) -> Principal | None:
        """The principal of a key looked up less than a minute ago, else None."""
        cached = self._principals.get(key_hash)
        if cached and time.monotonic() - cached[1] < KEY_CACHE_SECONDS:
            return cached[0]
        return None

    def remember(self, key_hash: str, principal: Principal, *, fetched_at: float | None = None) -> None:
        """Hold a principal just read (or read at `fetched_at`, on the `time.monotonic` clock)."""
        self._principals[key_hash] = (principal, time.monotonic() if fetched_at is None else fetched_at)

    def forget(self, key_hash: str) -> None:
        self._principals.pop(key_hash, None)

    def clear(self) -> None:
        self._principals.clear()


key_cache = warm.keep("api keys", KeyCache())


def authenticate(catalog: CatalogStore, api_key: str | None) -> Principal:
    """The principal behind an API key; `Unauthorized` for a missing, unknown or revoked key."""
    if not api_key:
        raise Unauthorized("missing API key (Authorization: Bearer <key>)")
    key_hash = hash_key(api_key)
    cached = key_cache.get(key_hash)
    if cached is not None:
        return cached
    return _look_up(catalog, key_hash, consistent=False)


def known_server_key(api_key: str | None) -> bool:
    """Whether `api_key` is a secret key this function authenticated less than a minute ago (from
    the cache only: never a round trip, so a flood of made-up keys costs nothing here)."""
    if not api_key or not api_key.startswith(SECRET_KEY_PREFIX):
        return False
    principal = key_cache.get(hash_key(api_key))
    return principal is not None and principal.kind == "secret"


def authenticate_fresh(catalog: CatalogStore, api_key: str | None) -> Principal:
    """The principal behind an API key, read from the table itself (strongly consistent) and not
    from this function's cache: for the routes that mint, revoke or rotate credentials, so that a
    key revoked a moment ago cannot mint a successor that outlives it."""
    if not api_key:
        raise Unauthorized("missing API key (Authorization: Bearer <key>)")
    return _look_up(catalog, hash_key(api_key), consistent=True)


def forget_key(key_hash: str) -> None:
    """Drop a key from this function's cache (it was just revoked here)."""
    key_cache.forget(key_hash)


def _look_up(catalog: CatalogStore, key_hash: str, *, consistent: bool) -> Principal:
    record = catalog.find_key(key_hash, consistent=consistent)
    if record is None or record.get("status") != "active":
        forget_key(key_hash)
        raise Unauthorized("invalid API key")
    principal = Principal(
        kind=record["key_kind"],
        scope=record["scope"],
        retailer_id=record.get("retailer_id"),
        partner_id=record.get("partner_id"),
    )
    key_cache.remember(key_hash, principal)
    return principal


def storefront_retailer(catalog: CatalogStore, principal: Principal) -> Retailer:
    """The retailer a publishable key belongs to (from the in-memory catalog: no round trip)."""
    if principal.kind != "publishable" or principal.retailer_id is None:
        raise Forbidden("storefront endpoints take a retailer's publishable key")
    retailer = catalog_cache.retailer(catalog, principal.retailer_id)
    if retailer is None:
        raise Unauthorized("invalid API key")
    return retailer


def deciding_retailer(catalog: CatalogStore, principal: Principal, *, email: bool) -> Retailer:
    """The retailer a decision is for: its publishable key (the storefront), or, for an e-mail
    placement, also its own secret key (its mailer, a server: rate-limited by that key, not by its
    address)."""
    if email and principal.kind == "secret" and principal.scope == "retailer":
        return back_office_retailer(catalog, principal)
    return storefront_retailer(catalog, principal)


def back_office_retailer(catalog: CatalogStore, principal: Principal) -> Retailer:
    """The retailer whose own secret key calls from its back office (server to server): never a
    publishable key, which any web page can read, and not the platform's or a partner's key."""
    if principal.kind != "secret" or principal.scope != "retailer" or principal.retailer_id is None:
        raise Forbidden("this endpoint takes the retailer's own secret key (sk_…), from its servers")
    retailer = catalog_cache.retailer(catalog, principal.retailer_id)
    if retailer is None:
        raise Unauthorized("invalid API key")
    return retailer


def explaining_retailer(catalog: CatalogStore, principal: Principal, retailer_id: str | None) -> Retailer:
    """The retailer whose decision a secret key may explain: its own, or any for the platform."""
    if principal.kind != "secret":
        raise Forbidden("explain needs a secret key; publishable keys are public")
    wanted = retailer_id or principal.retailer_id
    if wanted is None:
        raise InvalidInput("a platform key must name the retailer_id to explain", field="retailer_id")
    principal.require_retailer(wanted)
    retailer = catalog_cache.retailer(catalog, wanted)
    if retailer is None:
        raise NotFound(f"no retailer {wanted!r}")
    return retailer
