"""Catalog administration: retailers, partners, offers and their keys.

TODO(issue 4): update with optimistic concurrency, pause, rotate/revoke keys, first-party offers
owned by retailers, bulk import, relevance audit.
"""

import secrets
from datetime import UTC, datetime
from typing import Any

from afterglow.errors import Conflict, InvalidInput, NotFound
from afterglow.models import (
    AuditSuppression,
    Offer,
    OfferCreate,
    Partner,
    PartnerCreate,
    PartnerCreated,
    Retailer,
    RetailerCreate,
    RetailerCreated,
    RulesUpdate,
    StatusUpdate,
)
from afterglow.signing import hash_key, new_api_key, new_id, new_webhook_secret
from afterglow.store import CatalogStore
from afterglow.store.catalog import VersionConflict

ENTITY_MODELS: dict[str, type[Retailer] | type[Partner] | type[Offer]] = {
    "RETAILER": Retailer,
    "PARTNER": Partner,
    "OFFER": Offer,
}


def _now() -> datetime:
    return datetime.now(UTC)


def _key_record(key: str, kind: str, scope: str, retailer_id: str | None) -> dict[str, Any]:
    return {
        "key_hash": hash_key(key),
        "key_kind": kind,
        "scope": scope,
        "retailer_id": retailer_id,
        "status": "active",
        "created_at": _now().isoformat(),
    }


def create_platform_key(catalog: CatalogStore) -> str:
    """A new platform-scoped secret key (the operator's bootstrap credential); shown once."""
    key = new_api_key("sk")
    catalog.put_key(_key_record(key, "secret", "platform", None))
    return key


def create_retailer(catalog: CatalogStore, request: RetailerCreate) -> RetailerCreated:
    """A retailer with a fresh publishable and secret key, written in one transaction."""
    retailer = Retailer(
        retailer_id=new_id("ret"),
        created_at=_now(),
        salt=secrets.token_hex(16),
        **request.model_dump(mode="json"),
    )
    publishable, secret = new_api_key("pk"), new_api_key("sk")
    catalog.create(
        "RETAILER",
        retailer.retailer_id,
        {**retailer.model_dump(mode="json"), "salt": retailer.salt},
        keys=[
            _key_record(publishable, "publishable", "retailer", retailer.retailer_id),
            _key_record(secret, "secret", "retailer", retailer.retailer_id),
        ],
    )
    return RetailerCreated(retailer=retailer, publishable_key=publishable, secret_key=secret)


def create_partner(catalog: CatalogStore, request: PartnerCreate) -> PartnerCreated:
    """A partner with its first webhook signing secret."""
    partner = Partner(partner_id=new_id("par"), created_at=_now(), **request.model_dump(mode="json"))
    secret = new_webhook_secret()
    catalog.create(
        "PARTNER", partner.partner_id, {**partner.model_dump(mode="json"), "webhook_secrets": [secret]}
    )
    return PartnerCreated(partner=partner, webhook_secret=secret)


def create_offer(catalog: CatalogStore, request: OfferCreate) -> Offer:
    """A partner offer; window and lock period default to the partner's."""
    partner = load_partner(catalog, request.partner_id, field="partner_id")
    fields = request.model_dump(mode="json")
    fields["attribution_window_days"] = (
        request.attribution_window_days or partner.default_attribution_window_days
    )
    fields["lock_days"] = request.lock_days if request.lock_days is not None else partner.default_lock_days
    offer = Offer(offer_id=new_id("off"), created_at=_now(), **fields)
    catalog.create("OFFER", offer.offer_id, offer.model_dump(mode="json"))
    return offer


def create_first_party_offer(catalog: CatalogStore, retailer_id: str, request: OfferCreate) -> Offer:
    """One of the retailer's own products ("add to order"); `partner_id` is ignored: the owner is
    the retailer, and the rules show it on that retailer's pages only."""
    load_retailer(catalog, retailer_id)
    fields = request.model_dump(mode="json")
    fields.update(partner_id=retailer_id, kind="first_party")
    fields["attribution_window_days"] = request.attribution_window_days or 1
    fields["lock_days"] = request.lock_days if request.lock_days is not None else 0
    offer = Offer(offer_id=new_id("off"), created_at=_now(), **fields)
    catalog.create("OFFER", offer.offer_id, offer.model_dump(mode="json"))
    return offer


def _load(catalog: CatalogStore, entity: str, entity_id: str, field: str | None) -> dict[str, Any]:
    item = catalog.get(entity, entity_id)
    if item is None:
        if field:
            raise InvalidInput(f"no {entity.lower()} {entity_id!r}", field=field)
        raise NotFound(f"no {entity.lower()} {entity_id!r}")
    return item


def load_retailer(catalog: CatalogStore, retailer_id: str) -> Retailer:
    """A retailer's profile and rules (salt included, for hashing its customers)."""
    return Retailer.model_validate(_load(catalog, "RETAILER", retailer_id, None))


def load_partner(catalog: CatalogStore, partner_id: str, *, field: str | None = None) -> Partner:
    """A partner's profile (no secrets)."""
    return Partner.model_validate(_load(catalog, "PARTNER", partner_id, field))


def load_offer(catalog: CatalogStore, offer_id: str) -> Offer:
    """One offer."""
    return Offer.model_validate(_load(catalog, "OFFER", offer_id, None))


def partner_webhook_secrets(catalog: CatalogStore, partner_id: str) -> list[str]:
    """Every currently valid webhook secret of a partner (several during rotation); [] if unknown."""
    item = catalog.get("PARTNER", partner_id)
    return list(item.get("webhook_secrets", [])) if item else []


def list_entities(
    catalog: CatalogStore, entity: str, *, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """A page of retailers, partners or offers."""
    try:
        items, next_cursor = catalog.page(entity, cursor=cursor, limit=limit)
    except ValueError as error:
        raise InvalidInput(str(error), field="cursor") from error
    model = ENTITY_MODELS[entity]
    return [model.model_validate(item) for item in items], next_cursor


def _replace(catalog: CatalogStore, entity: str, entity_id: str, body: dict[str, Any], version: int) -> None:
    try:
        catalog.replace(entity, entity_id, body, expected_version=version)
    except VersionConflict as error:
        raise Conflict(
            f"{entity.lower()} {entity_id} was changed by someone else; reload and retry"
        ) from error


def update_rules(catalog: CatalogStore, retailer_id: str, update: RulesUpdate) -> Retailer:
    """Replace a retailer's rules, refusing (409) if it changed since `update.version`."""
    current = load_retailer(catalog, retailer_id)
    if current.version != update.version:
        raise Conflict(f"retailer {retailer_id} is at version {current.version}, not {update.version}")
    changed = current.model_copy(update={"rules": update.rules})
    _replace(
        catalog,
        "RETAILER",
        retailer_id,
        {**changed.model_dump(mode="json"), "salt": current.salt},
        update.version,
    )
    return load_retailer(catalog, retailer_id)


def suppress_for_category(catalog: CatalogStore, retailer_id: str, suppression: AuditSuppression) -> Retailer:
    """A reviewer's "irrelevant after this purchase": add the suppression (retrying lost races)."""
    load_offer(catalog, suppression.offer_id)
    for _ in range(3):
        current = load_retailer(catalog, retailer_id)
        if suppression in current.rules.audit_suppressions:
            return current
        rules = current.rules.model_copy(
            update={"audit_suppressions": [*current.rules.audit_suppressions, suppression]}
        )
        try:
            return update_rules(catalog, retailer_id, RulesUpdate(version=current.version, rules=rules))
        except Conflict:
            continue
    raise Conflict("the retailer keeps changing; retry")


def set_status(catalog: CatalogStore, entity: str, entity_id: str, update: StatusUpdate) -> Partner | Offer:
    """Pause or resume a partner (all its offers) or one offer; 409 if it changed meanwhile."""
    stored = _load(catalog, entity, entity_id, None)
    if stored.get("version", 1) != update.version:
        raise Conflict(
            f"{entity.lower()} {entity_id} is at version {stored.get('version', 1)}, not {update.version}"
        )
    _replace(catalog, entity, entity_id, {**stored, "status": update.status}, update.version)
    model: type[Partner] | type[Offer] = Partner if entity == "PARTNER" else Offer
    return model.model_validate(_load(catalog, entity, entity_id, None))
