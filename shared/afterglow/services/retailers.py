"""Retailers: open one (with its first keys), read and list them, change settings and rules, mark
an offer irrelevant after a purchase category, pause and resume."""

import secrets

from afterglow.errors import Conflict, Forbidden, NotFound
from afterglow.models import (
    AuditSuppression,
    Page,
    Retailer,
    RetailerCreate,
    RetailerCreated,
    RetailerUpdate,
    RulesUpdate,
    StatusUpdate,
    views,
)
from afterglow.services import catalog_entities
from afterglow.services.catalog_entities import load_offer, load_retailer, now
from afterglow.services.keys import new_key
from afterglow.signing import new_id
from afterglow.store import Stores
from afterglow.store.entities import retailer_item

SUPPRESSION_TRIES = 3


def create_retailer(stores: Stores, request: RetailerCreate, *, salt: str | None = None) -> RetailerCreated:
    """A retailer with a fresh publishable and secret key, written in one transaction; the keys
    are in this answer only (the table keeps their hashes). Its customers' salt is random unless
    given (the local demo fixes it, so that its sample customers land in the arms it documents)."""
    retailer = Retailer(
        retailer_id=new_id("ret"),
        created_at=now(),
        salt=salt or secrets.token_hex(16),
        **request.model_dump(mode="json"),
    )
    publishable, publishable_record = new_key("publishable", "retailer", retailer_id=retailer.retailer_id)
    secret, secret_record = new_key("secret", "retailer", retailer_id=retailer.retailer_id)
    catalog_entities.create(
        stores.catalog,
        "RETAILER",
        retailer.retailer_id,
        retailer_item(retailer),
        keys=[publishable_record, secret_record],
    )
    return RetailerCreated(
        retailer=views.Retailer.of(retailer), publishable_key=publishable, secret_key=secret
    )


def get_retailer(stores: Stores, retailer_id: str) -> views.Retailer:
    """One retailer as callers see it."""
    return views.Retailer.of(load_retailer(stores.catalog, retailer_id))


def list_retailers(stores: Stores, *, cursor: str | None, limit: int) -> Page:
    """A page of retailers."""
    items, next_cursor = catalog_entities.page(stores.catalog, Retailer, cursor=cursor, limit=limit)
    return Page(items=[views.Retailer.of(item) for item in items], next_cursor=next_cursor)


def update_retailer(
    stores: Stores, retailer_id: str, update: RetailerUpdate, *, platform: bool
) -> views.Retailer:
    """Change a retailer's settings; `name` and `revenue_share_bps` need the platform key."""
    commercial = sorted(update.changes().keys() & RetailerUpdate.PLATFORM_ONLY)
    if commercial and not platform:
        raise Forbidden(
            f"{commercial[0]} is a commercial term: only the platform can change it", field=commercial[0]
        )
    return views.Retailer.of(catalog_entities.patch(stores.catalog, Retailer, retailer_id, update))


def update_rules(stores: Stores, retailer_id: str, update: RulesUpdate) -> views.Retailer:
    """Replace a retailer's rules, refusing (409) if it changed since `update.version`."""
    change = RetailerUpdate(version=update.version, rules=update.rules)
    return update_retailer(stores, retailer_id, change, platform=False)


def suppress_for_category(stores: Stores, retailer_id: str, suppression: AuditSuppression) -> views.Retailer:
    """A reviewer's "irrelevant after this purchase": add the suppression (retrying lost races).

    Another retailer's own-brand offer is "not found", exactly like an unknown id: no oracle.
    """
    offer = load_offer(stores.catalog, suppression.offer_id)
    if offer.kind == "first_party" and offer.partner_id != retailer_id:
        raise NotFound(f"no offer {suppression.offer_id!r}")
    for _ in range(SUPPRESSION_TRIES):
        current = load_retailer(stores.catalog, retailer_id)
        if suppression in current.rules.audit_suppressions:
            return views.Retailer.of(current)
        rules = current.rules.model_copy(
            update={"audit_suppressions": [*current.rules.audit_suppressions, suppression]}
        )
        try:
            return update_rules(stores, retailer_id, RulesUpdate(version=current.version, rules=rules))
        except Conflict:
            continue
    raise Conflict("the retailer keeps changing; retry")


def set_retailer_status(stores: Stores, retailer_id: str, update: StatusUpdate) -> views.Retailer:
    """Pause (its pages show no offers from the next decision on) or resume a retailer; 409 if it
    changed meanwhile."""
    return views.Retailer.of(catalog_entities.change_status(stores.catalog, Retailer, retailer_id, update))
