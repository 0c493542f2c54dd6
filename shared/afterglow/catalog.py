"""The in-memory catalog a warm `decide` holds: active offers indexed by category."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from afterglow.models import FixedPayout, Offer, Partner, Retailer
from afterglow.taxonomy import RELATIONS


@dataclass
class CatalogIndex:
    """Retailers, and the active offers of active partners looked up by category (never a scan)."""

    version: int = 0
    retailers: dict[str, Retailer] = field(default_factory=dict)
    # Offers by id and by category: plain dicts when built here; a snapshot's index reads each
    # category's offers only when a decision first asks for it (see afterglow.catalog_snapshot).
    offers: Mapping[str, Offer] = field(default_factory=dict)
    by_category: Mapping[str, list[Offer]] = field(default_factory=dict)
    partners: dict[str, Partner] = field(default_factory=dict)  # owners of the offers, for budgets
    # What ranking and budgets need of every offer, without reading every offer.
    offer_categories: dict[str, str] = field(default_factory=dict)
    offer_owners: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        offers: Sequence[Offer],
        partners: Sequence[Partner],
        retailers: Sequence[Retailer] = (),
        version: int = 0,
    ) -> "CatalogIndex":
        active_partners = {p.partner_id for p in partners if p.status == "active"}
        by_id: dict[str, Offer] = {}
        by_category: dict[str, list[Offer]] = defaultdict(list)
        for offer in offers:
            # First-party offers belong to the retailer, not to a partner.
            owner_active = offer.kind == "first_party" or offer.partner_id in active_partners
            if offer.status == "active" and owner_active:
                by_id[offer.offer_id] = offer
                by_category[offer.category].append(offer)
        # Best paying first, so a decision can stop scanning a category once it has enough.
        for category_offers in by_category.values():
            category_offers.sort(key=lambda o: (-_headline_value(o), o.offer_id))
        owners = {offer.partner_id for offer in by_id.values()}
        return cls(
            version=version,
            retailers={r.retailer_id: r for r in retailers},
            offers=by_id,
            by_category=dict(by_category),
            partners={p.partner_id: p for p in partners if p.partner_id in owners},
            offer_categories={offer_id: offer.category for offer_id, offer in by_id.items()},
            offer_owners={offer_id: offer.partner_id for offer_id, offer in by_id.items()},
        )

    def all_origins(self) -> set[str]:
        """Every origin any retailer allows (CORS preflight cannot know the retailer yet)."""
        return {origin for retailer in self.retailers.values() for origin in retailer.allowed_origins}

    def categories_for(self, purchased_categories: set[str]) -> list[str]:
        """The purchased categories and the categories related to them, in a stable order."""
        wanted = set(purchased_categories)
        for category in purchased_categories:
            wanted.update(RELATIONS.get(category, {}))
        return sorted(wanted)

    def candidates_for(self, purchased_categories: set[str]) -> list[Offer]:
        """Every offer in the purchased or related categories (best paying first per category)."""
        categories = self.categories_for(purchased_categories)
        return [offer for category in categories for offer in self.by_category.get(category, ())]


def _headline_value(offer: Offer) -> int:
    """An offer's best payout (or price, for first-party): the static order offers are scanned in."""
    if offer.kind == "first_party":
        return offer.creative.price_minor or 0
    if isinstance(offer.payout, FixedPayout):
        return max(offer.payout.amounts.values())
    return offer.payout.bps
