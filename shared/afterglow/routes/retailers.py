"""Admin routes of retailers: create, list, read, change settings and rules, pause and resume."""

from fastapi import APIRouter

from afterglow.models import (
    Page,
    RetailerCreate,
    RetailerCreated,
    RetailerUpdate,
    RulesUpdate,
    StatusUpdate,
    views,
)
from afterglow.routes.access import Caller, Cursor, KeyManager, Limit, StoresDep
from afterglow.services import retailers

router = APIRouter()


@router.post("/v1/admin/retailers", status_code=201, response_model=RetailerCreated, tags=["admin"])
async def create_retailer(body: RetailerCreate, caller: KeyManager, stores: StoresDep) -> RetailerCreated:
    """Create a retailer (platform key). Its publishable and secret keys are shown only in this response."""
    caller.require_platform()
    return retailers.create_retailer(stores, body)


@router.get("/v1/admin/retailers", response_model=Page, tags=["admin"])
async def list_retailers(caller: Caller, stores: StoresDep, cursor: Cursor = None, limit: Limit = 50) -> Page:
    """List retailers (platform key)."""
    caller.require_platform()
    return retailers.list_retailers(stores, cursor=cursor, limit=limit)


@router.get("/v1/admin/retailers/{retailer_id}", response_model=views.Retailer, tags=["admin"])
async def get_retailer(retailer_id: str, caller: Caller, stores: StoresDep) -> views.Retailer:
    """One retailer: the platform, or that retailer's own secret key."""
    caller.require_retailer(retailer_id)
    return retailers.get_retailer(stores, retailer_id)


@router.put("/v1/admin/retailers/{retailer_id}/rules", response_model=views.Retailer, tags=["admin"])
async def put_rules(retailer_id: str, body: RulesUpdate, caller: Caller, stores: StoresDep) -> views.Retailer:
    """Replace the retailer's rules (its own secret key, or the platform). 409 if it changed meanwhile."""
    caller.require_retailer(retailer_id)
    return retailers.update_rules(stores, retailer_id, body)


@router.patch("/v1/admin/retailers/{retailer_id}", response_model=views.Retailer, tags=["admin"])
async def update_retailer(
    retailer_id: str, body: RetailerUpdate, caller: Caller, stores: StoresDep
) -> views.Retailer:
    """Change some of a retailer's settings (its own secret key, or the platform; `name` and
    `revenue_share_bps` only the platform). Fields left out stay. 409 if it changed meanwhile."""
    caller.require_retailer(retailer_id)
    return retailers.update_retailer(stores, retailer_id, body, platform=caller.is_platform)


@router.post("/v1/admin/retailers/{retailer_id}/status", response_model=views.Retailer, tags=["admin"])
async def retailer_status(
    retailer_id: str, body: StatusUpdate, caller: Caller, stores: StoresDep
) -> views.Retailer:
    """Pause (its pages show no offers from the next decision on) or resume a retailer (its own
    secret key, or the platform). 409 on a stale version."""
    caller.require_retailer(retailer_id)
    return retailers.set_retailer_status(stores, retailer_id, body)
