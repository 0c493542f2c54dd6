"""API keys: mint one (random, shown once, stored only as its hash), list them (ids and hints)
and revoke one — for the platform, a retailer or a partner brand.

Keys are not part of the catalog a decision reads: they change without a new catalog version.
Warm functions cache a key for up to a minute (`afterglow.services.auth`), so a revoked key stops
working everywhere within a minute, and at once on the routes that manage credentials.
"""

from typing import Any, Literal

from afterglow.errors import NotFound
from afterglow.models import ApiKey, ApiKeyCreated, ApiKeyList
from afterglow.services.auth import forget_key
from afterglow.services.catalog_entities import load_partner, load_retailer, now
from afterglow.signing import hash_key, new_api_key, new_id
from afterglow.store import Stores
from afterglow.store.catalog import PLATFORM_OWNER

KeyKind = Literal["publishable", "secret"]
KeyScope = Literal["platform", "retailer", "partner"]
LISTED_KEYS = 100


def new_key(
    kind: KeyKind, scope: KeyScope, *, retailer_id: str | None = None, partner_id: str | None = None
) -> tuple[str, dict[str, Any]]:
    """A new random key and the record that stores it: its hash, never the key itself."""
    key = new_api_key("pk" if kind == "publishable" else "sk")
    record = {
        "key_id": new_id("key"),
        "key_hash": hash_key(key),
        "hint": key[-4:],
        "key_kind": kind,
        "scope": scope,
        "retailer_id": retailer_id,
        "partner_id": partner_id,
        "status": "active",
        "created_at": now().isoformat(),
    }
    return key, record


def _listed(record: dict[str, Any]) -> ApiKey:
    return ApiKey(
        key_id=record["key_id"],
        kind=record["key_kind"],
        status=record["status"],
        hint=record.get("hint", ""),
        created_at=record["created_at"],
        revoked_at=record.get("revoked_at"),
    )


def _issue(
    stores: Stores,
    kind: KeyKind,
    scope: KeyScope,
    *,
    retailer_id: str | None = None,
    partner_id: str | None = None,
) -> ApiKeyCreated:
    key, record = new_key(kind, scope, retailer_id=retailer_id, partner_id=partner_id)
    stores.catalog.put_key(record)
    return ApiKeyCreated(key=_listed(record), api_key=key)


def create_platform_key(stores: Stores) -> str:
    """A new platform-scoped secret key (the operator's bootstrap credential); shown once."""
    return create_platform_key_record(stores).api_key


def create_platform_key_record(stores: Stores) -> ApiKeyCreated:
    """A new platform-scoped secret key and its listing; the key is shown once."""
    return _issue(stores, "secret", "platform")


def create_retailer_key(stores: Stores, retailer_id: str, kind: KeyKind) -> ApiKeyCreated:
    """Another publishable or secret key for a retailer (rotation: the old keys stay valid until
    revoked); the key is in this answer only, the table holds its hash."""
    load_retailer(stores.catalog, retailer_id)
    return _issue(stores, kind, "retailer", retailer_id=retailer_id)


def create_partner_key(stores: Stores, partner_id: str) -> ApiKeyCreated:
    """A secret key for a partner brand's own back office: it reads that partner's profile, offers
    and webhook delivery log, and nothing else. Shown once; the table keeps its hash."""
    load_partner(stores.catalog, partner_id)
    return _issue(stores, "secret", "partner", partner_id=partner_id)


def list_platform_keys(stores: Stores) -> ApiKeyList:
    """The platform's own keys, active and revoked, without the keys."""
    return _list(stores, PLATFORM_OWNER)


def list_retailer_keys(stores: Stores, retailer_id: str) -> ApiKeyList:
    """A retailer's keys, active and revoked, without the keys; 404 if there is no such retailer."""
    load_retailer(stores.catalog, retailer_id)
    return _list(stores, retailer_id)


def list_partner_keys(stores: Stores, partner_id: str) -> ApiKeyList:
    """A partner's keys, active and revoked, without the keys; 404 if there is no such partner."""
    load_partner(stores.catalog, partner_id)
    return _list(stores, partner_id)


def _list(stores: Stores, owner: str) -> ApiKeyList:
    items, _ = stores.catalog.page_owned(owner, "KEY", cursor=None, limit=LISTED_KEYS)
    return ApiKeyList(items=[_listed(item) for item in items])


def revoke_platform_key(stores: Stores, key_id: str) -> ApiKey:
    """Revoke one of the platform's keys (see `revoke_key`)."""
    return revoke_key(stores, PLATFORM_OWNER, key_id)


def revoke_key(stores: Stores, owner: str, key_id: str) -> ApiKey:
    """Revoke one of an owner's keys (a retailer or partner id, `PLATFORM` for platform keys);
    revoking it again changes nothing. Warm functions cache keys for up to a minute, so a revoked
    key stops working within a minute everywhere."""
    record = stores.catalog.find_owned_key(owner, key_id)
    if record is None:
        raise NotFound(f"no key {key_id!r}")
    revoked = stores.catalog.revoke_key(record["key_hash"], now().isoformat())
    forget_key(record["key_hash"])
    return _listed(revoked)
