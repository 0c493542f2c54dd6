"""Partner brands: sign one up (with its first webhook secret), read and list them, change a
profile, default windows or budget, pause and resume, and read its webhook delivery log."""

from afterglow.models import (
    DeliveryPage,
    Page,
    Partner,
    PartnerCreate,
    PartnerCreated,
    PartnerUpdate,
    StatusUpdate,
    views,
)
from afterglow.services import catalog_entities
from afterglow.services.catalog_entities import load_partner, now
from afterglow.services.conversions import delivery_log
from afterglow.signing import new_id, new_webhook_secret, webhook_secret_id
from afterglow.store import Stores
from afterglow.store.entities import partner_item


def create_partner(stores: Stores, request: PartnerCreate) -> PartnerCreated:
    """A partner with its first webhook signing secret (in this answer only)."""
    partner = Partner(partner_id=new_id("par"), created_at=now(), **request.model_dump(mode="json"))
    secret = new_webhook_secret()
    item = partner_item(partner, webhook_secrets=[secret])
    catalog_entities.create(stores.catalog, "PARTNER", partner.partner_id, item)
    return PartnerCreated(
        partner=views.Partner.of(partner), webhook_secret=secret, secret_id=webhook_secret_id(secret)
    )


def get_partner(stores: Stores, partner_id: str) -> views.Partner:
    """One partner as callers see it."""
    return views.Partner.of(load_partner(stores.catalog, partner_id))


def list_partners(stores: Stores, *, cursor: str | None, limit: int) -> Page:
    """A page of partners."""
    items, next_cursor = catalog_entities.page(stores.catalog, Partner, cursor=cursor, limit=limit)
    return Page(items=[views.Partner.of(item) for item in items], next_cursor=next_cursor)


def update_partner(stores: Stores, partner_id: str, update: PartnerUpdate) -> views.Partner:
    """Change a partner's profile, default windows or budget (409 on a stale version)."""
    return views.Partner.of(catalog_entities.patch(stores.catalog, Partner, partner_id, update))


def set_partner_status(stores: Stores, partner_id: str, update: StatusUpdate) -> views.Partner:
    """Pause (all its offers stop showing) or resume a partner; 409 if it changed meanwhile."""
    # A resumed partner's offers come back: they are not in the snapshot, so publish in full.
    resumed = update.status == "active"
    changed = catalog_entities.change_status(
        stores.catalog, Partner, partner_id, update, full_publish=resumed
    )
    return views.Partner.of(changed)


def partner_deliveries(stores: Stores, partner_id: str, *, cursor: str | None, limit: int) -> DeliveryPage:
    """A partner's webhook delivery log, newest first; 404 if there is no such partner."""
    load_partner(stores.catalog, partner_id)
    return delivery_log(stores.ledger, partner_id, cursor=cursor, limit=limit)
