"""Admin routes of offers: partner offers (platform key) and a retailer's own first-party offers
(its secret key, or the platform)."""

from fastapi import APIRouter

from afterglow.models import FirstPartyOfferCreate, OfferCreate, OfferUpdate, Page, StatusUpdate, views
from afterglow.routes.access import Caller, Cursor, Limit, StoresDep
from afterglow.services import offers
from afterglow.services.catalog_entities import load_offer

router = APIRouter()


@router.post("/v1/admin/offers", status_code=201, response_model=views.Offer, tags=["admin"])
async def create_offer(body: OfferCreate, caller: Caller, stores: StoresDep) -> views.Offer:
    """Create a partner offer (platform key)."""
    caller.require_platform()
    return offers.create_offer(stores, body)


@router.get("/v1/admin/offers", response_model=Page, tags=["admin"])
async def list_offers(caller: Caller, stores: StoresDep, cursor: Cursor = None, limit: Limit = 50) -> Page:
    """List offers (platform key)."""
    caller.require_platform()
    return offers.list_offers(stores, cursor=cursor, limit=limit)


@router.get("/v1/admin/offers/{offer_id}", response_model=views.Offer, tags=["admin"])
async def get_offer(offer_id: str, caller: Caller, stores: StoresDep) -> views.Offer:
    """One offer (platform key, or the retailer owning a first-party offer)."""
    offer = load_offer(stores.catalog, offer_id)
    caller.require_offer(offer)
    return views.Offer.of(offer)


@router.patch("/v1/admin/offers/{offer_id}", response_model=views.Offer, tags=["admin"])
async def update_offer(offer_id: str, body: OfferUpdate, caller: Caller, stores: StoresDep) -> views.Offer:
    """Change an offer (platform key, or the retailer owning a first-party offer). Fields left out
    stay; 409 if it changed meanwhile."""
    caller.require_offer(load_offer(stores.catalog, offer_id))
    return offers.update_offer(stores, offer_id, body)


@router.post("/v1/admin/offers/{offer_id}/status", response_model=views.Offer, tags=["admin"])
async def offer_status(offer_id: str, body: StatusUpdate, caller: Caller, stores: StoresDep) -> views.Offer:
    """Pause or resume one offer (platform key, or the retailer owning a first-party offer).
    409 on a stale version."""
    caller.require_offer(load_offer(stores.catalog, offer_id))
    return offers.set_offer_status(stores, offer_id, body)


@router.get("/v1/admin/partners/{partner_id}/offers", response_model=Page, tags=["admin"])
async def list_partner_offers(
    partner_id: str, caller: Caller, stores: StoresDep, cursor: Cursor = None, limit: Limit = 50
) -> Page:
    """A partner's offers (platform key, or the partner's own key)."""
    caller.require_partner(partner_id)
    return offers.list_partner_offers(stores, partner_id, cursor=cursor, limit=limit)


@router.get("/v1/admin/retailers/{retailer_id}/offers", response_model=Page, tags=["admin"])
async def list_first_party_offers(
    retailer_id: str, caller: Caller, stores: StoresDep, cursor: Cursor = None, limit: Limit = 50
) -> Page:
    """The retailer's own first-party offers (its secret key, or the platform)."""
    caller.require_retailer(retailer_id)
    return offers.list_first_party_offers(stores, retailer_id, cursor=cursor, limit=limit)


@router.post(
    "/v1/admin/retailers/{retailer_id}/offers", status_code=201, response_model=views.Offer, tags=["admin"]
)
async def create_first_party_offer(
    retailer_id: str, body: FirstPartyOfferCreate, caller: Caller, stores: StoresDep
) -> views.Offer:
    """One of the retailer's own products ("add to order"), shown on its own pages only."""
    caller.require_retailer(retailer_id)
    return offers.create_first_party_offer(stores, retailer_id, body)
