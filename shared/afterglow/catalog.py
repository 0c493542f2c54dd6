"""The in-memory catalog a warm `decide` holds: active offers indexed by category."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from afterglow.models import Offer, Partner, Retailer
from afterglow.taxonomy import RELATIONS


@dataclass
class CatalogIndex:
    """Retailers, and the active offers of active partners looked up by category (never a scan)."""

    version: int = 0
    retailers: dict[str, Retailer] = field(default_factory=dict)
    offers: dict[str, Offer] = field(default_factory=dict)
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
        return index

    def all_origins(self) -> set[str]:
        """Every origin any retailer allows (CORS preflight cannot know the retailer yet)."""
        return {origin for retailer in self.retailers.values() for origin in retailer.allowed_origins}

    def candidates_for(self, purchased_categories: set[str]) -> list[Offer]:
        """Offers in the purchased categories or in categories related to them, each once."""
        wanted = set(purchased_categories)
        for category in purchased_categories:
            wanted.update(RELATIONS.get(category, {}))
        seen: dict[str, Offer] = {}
        for category in sorted(wanted):
            for offer in self.by_category.get(category, ()):
                seen.setdefault(offer.offer_id, offer)
        return list(seen.values())
