"""Admin routes of partner brands: create, list, read, change, pause and resume, and the webhook
delivery log."""

from fastapi import APIRouter

from afterglow.models import (
    DeliveryPage,
    Page,
    PartnerCreate,
    PartnerCreated,
    PartnerUpdate,
    StatusUpdate,
    views,
)
from afterglow.routes.access import Caller, Cursor, KeyManager, Limit, StoresDep
from afterglow.services import partners

router = APIRouter()


@router.post("/v1/admin/partners", status_code=201, response_model=PartnerCreated, tags=["admin"])
async def create_partner(body: PartnerCreate, caller: KeyManager, stores: StoresDep) -> PartnerCreated:
    """Create a partner brand (platform key). Its webhook secret is shown only in this response."""
    caller.require_platform()
    return partners.create_partner(stores, body)


@router.get("/v1/admin/partners", response_model=Page, tags=["admin"])
async def list_partners(caller: Caller, stores: StoresDep, cursor: Cursor = None, limit: Limit = 50) -> Page:
    """List partners (platform key)."""
    caller.require_platform()
    return partners.list_partners(stores, cursor=cursor, limit=limit)


@router.get("/v1/admin/partners/{partner_id}", response_model=views.Partner, tags=["admin"])
async def get_partner(partner_id: str, caller: Caller, stores: StoresDep) -> views.Partner:
    """One partner (platform key, or the partner's own key)."""
    caller.require_partner(partner_id)
    return partners.get_partner(stores, partner_id)


@router.patch("/v1/admin/partners/{partner_id}", response_model=views.Partner, tags=["admin"])
async def update_partner(
    partner_id: str, body: PartnerUpdate, caller: Caller, stores: StoresDep
) -> views.Partner:
    """Change a partner's profile, default windows or budget (platform key). 409 on a stale version."""
    caller.require_platform()
    return partners.update_partner(stores, partner_id, body)


@router.post("/v1/admin/partners/{partner_id}/status", response_model=views.Partner, tags=["admin"])
async def partner_status(
    partner_id: str, body: StatusUpdate, caller: Caller, stores: StoresDep
) -> views.Partner:
    """Pause (all its offers stop showing) or resume a partner (platform key). 409 on a stale version."""
    caller.require_platform()
    return partners.set_partner_status(stores, partner_id, body)


@router.get("/v1/admin/partners/{partner_id}/deliveries", response_model=DeliveryPage, tags=["admin"])
async def list_deliveries(
    partner_id: str, caller: Caller, stores: StoresDep, cursor: Cursor = None, limit: Limit = 50
) -> DeliveryPage:
    """A partner's webhook delivery log, newest first: webhook id, time, outcome, reason (platform
    key, or the partner's own key)."""
    caller.require_partner(partner_id)
    return partners.partner_deliveries(stores, partner_id, cursor=cursor, limit=limit)
