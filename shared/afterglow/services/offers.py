"""Offers: a partner brand's offers and a retailer's own first-party products ("add to order") —
create, read, list (all, or one owner's), change, pause and resume.

A payout in money is always in its owner's currency: the partner's budget currency, or the
retailer's currency for a first-party offer.
"""

from afterglow.errors import InvalidInput
from afterglow.models import (
    FirstPartyOfferCreate,
    FixedPayout,
    Offer,
    OfferCreate,
    OfferUpdate,
    Page,
    Partner,
    StatusUpdate,
    views,
)
from afterglow.services import catalog_entities
from afterglow.services.catalog_entities import load_partner, load_retailer, now
from afterglow.signing import new_id
from afterglow.store import Stores
from afterglow.store.entities import offer_item

# A first-party offer's defaults when the retailer names none.
FIRST_PARTY_WINDOW_DAYS = 1
FIRST_PARTY_LOCK_DAYS = 0


def create_offer(stores: Stores, request: OfferCreate) -> views.Offer:
    """A partner offer; window and lock period default to the partner's."""
    partner = load_partner(stores.catalog, request.partner_id, field="partner_id")
    fields = request.model_dump(mode="json")
    fields["attribution_window_days"] = (
        request.attribution_window_days or partner.default_attribution_window_days
    )
    fields["lock_days"] = request.lock_days if request.lock_days is not None else partner.default_lock_days
    offer = Offer(offer_id=new_id("off"), created_at=now(), **fields)
    _check_payout_currency(offer, _budget_currency(partner), "the partner")
    return _create(stores, offer)


def create_first_party_offer(stores: Stores, retailer_id: str, request: FirstPartyOfferCreate) -> views.Offer:
    """One of the retailer's own products ("add to order"): the owner is the retailer, and the
    rules show it on that retailer's pages only. Its payout is in the retailer's currency."""
    retailer = load_retailer(stores.catalog, retailer_id)
    fields = request.model_dump(mode="json")
    fields.update(partner_id=retailer_id, kind="first_party")
    fields["attribution_window_days"] = request.attribution_window_days or FIRST_PARTY_WINDOW_DAYS
    fields["lock_days"] = request.lock_days if request.lock_days is not None else FIRST_PARTY_LOCK_DAYS
    offer = Offer(offer_id=new_id("off"), created_at=now(), **fields)
    _check_payout_currency(offer, retailer.currency, "the retailer")
    return _create(stores, offer)


def _create(stores: Stores, offer: Offer) -> views.Offer:
    catalog_entities.create(stores.catalog, "OFFER", offer.offer_id, offer_item(offer))
    return views.Offer.of(offer)


def list_offers(stores: Stores, *, cursor: str | None, limit: int) -> Page:
    """A page of every offer."""
    items, next_cursor = catalog_entities.page(stores.catalog, Offer, cursor=cursor, limit=limit)
    return Page(items=[views.Offer.of(item) for item in items], next_cursor=next_cursor)


def list_partner_offers(stores: Stores, partner_id: str, *, cursor: str | None, limit: int) -> Page:
    """A page of one partner's offers; 404 if there is no such partner."""
    load_partner(stores.catalog, partner_id)
    return _owned(stores, partner_id, cursor=cursor, limit=limit)


def list_first_party_offers(stores: Stores, retailer_id: str, *, cursor: str | None, limit: int) -> Page:
    """A page of a retailer's own first-party offers; 404 if there is no such retailer."""
    load_retailer(stores.catalog, retailer_id)
    return _owned(stores, retailer_id, cursor=cursor, limit=limit)


def _owned(stores: Stores, owner: str, *, cursor: str | None, limit: int) -> Page:
    items, next_cursor = catalog_entities.page_owned_offers(stores.catalog, owner, cursor=cursor, limit=limit)
    return Page(items=[views.Offer.of(item) for item in items], next_cursor=next_cursor)


def update_offer(stores: Stores, offer_id: str, update: OfferUpdate) -> views.Offer:
    """Change an offer's creative, payout, targeting, … (409 on a stale version)."""

    def billed_in_owners_currency(offer: Offer) -> None:
        if offer.kind == "first_party":
            _check_payout_currency(
                offer, load_retailer(stores.catalog, offer.partner_id).currency, "the retailer"
            )
        else:
            _check_payout_currency(
                offer, _budget_currency(load_partner(stores.catalog, offer.partner_id)), "the partner"
            )

    changed = catalog_entities.patch(stores.catalog, Offer, offer_id, update, check=billed_in_owners_currency)
    return views.Offer.of(changed)


def set_offer_status(stores: Stores, offer_id: str, update: StatusUpdate) -> views.Offer:
    """Pause or resume one offer; 409 if it changed meanwhile."""
    return views.Offer.of(catalog_entities.change_status(stores.catalog, Offer, offer_id, update))


def _budget_currency(partner: Partner) -> str | None:
    return partner.budget.currency if partner.budget else None


def _check_payout_currency(offer: Offer, currency: str | None, whose: str) -> None:
    if currency and isinstance(offer.payout, FixedPayout) and offer.payout.currency != currency:
        raise InvalidInput(
            f"currency mismatch: payout is in {offer.payout.currency}, {whose} is billed in {currency}",
            field="payout.currency",
        )
