"""The in-memory catalog a warm `decide` holds: active offers indexed by category."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from afterglow.models import FixedPayout, Offer, Partner, Retailer
from afterglow.taxonomy import RELATIONS


@dataclass
class CatalogIndex:
    """Retailers, and the active offers of active partners looked up by category (never a scan)."""

    version: int = 0
    retailers: dict[str, Retailer] = field(default_factory=dict)
    offers: dict[str, Offer] = field(default_factory=dict)
    partners: dict[str, Partner] = field(default_factory=dict)  # owners of the offers, for budgets
    by_category: dict[str, list[Offer]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def build(
        cls,
        offers: Sequence[Offer],
        partners: Sequence[Partner],
        retailers: Sequence[Retailer] = (),
        version: int = 0,
    ) -> "CatalogIndex":
        active_partners = {p.partner_id for p in partners if p.status == "active"}
        index = cls(version=version, retailers={r.retailer_id: r for r in retailers})
        for offer in offers:
            # First-party offers belong to the retailer, not to a partner.
            owner_active = offer.kind == "first_party" or offer.partner_id in active_partners
            if offer.status == "active" and owner_active:
                index.offers[offer.offer_id] = offer
                index.by_category[offer.category].append(offer)
        owners = {offer.partner_id for offer in index.offers.values()}
        index.partners = {p.partner_id: p for p in partners if p.partner_id in owners}
        # Best paying first, so a decision can stop scanning a category once it has enough.
        for category_offers in index.by_category.values():
            category_offers.sort(key=lambda o: (-_headline_value(o), o.offer_id))
        return index

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
