"""The in-memory catalog a warm `decide` holds: active offers indexed by category."""

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
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
    # What offers declare they go with (`complement_keys`) -> their ids, best paying first: an offer
    # filed under a category unrelated to the order is still found by what it complements.
    complementing: dict[str, list[str]] = field(default_factory=dict)

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
            category_offers.sort(key=lambda o: (-headline_value(o), o.offer_id))
        owners = {offer.partner_id for offer in by_id.values()}
        complementing: dict[str, list[str]] = defaultdict(list)
        for offer in sorted(by_id.values(), key=lambda o: (-headline_value(o), o.offer_id)):
            for key in complement_keys(offer):
                complementing[key].append(offer.offer_id)
        return cls(
            version=version,
            retailers={r.retailer_id: r for r in retailers},
            offers=by_id,
            by_category=dict(by_category),
            partners={p.partner_id: p for p in partners if p.partner_id in owners},
            offer_categories={offer_id: offer.category for offer_id, offer in by_id.items()},
            offer_owners={offer_id: offer.partner_id for offer_id, offer in by_id.items()},
            complementing=dict(complementing),
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

    def complementing_offers(
        self, categories: Iterable[str], product_types: Iterable[str], *, skip: Set[str] = frozenset()
    ) -> list[Iterator[Offer]]:
        """Per category and product type of an order, the offers that declare they complement it,
        best paying first, read as they are asked for: an offer filed under a category of `skip`
        (one a decision has scanned already) or found under an earlier key is left out."""
        keys = [
            *(f"category:{c}" for c in sorted(categories)),
            *(f"product_type:{t}" for t in sorted(product_types)),
        ]
        seen: set[str] = set()
        return [
            self._complementing(self.complementing[key], skip, seen)
            for key in keys
            if key in self.complementing
        ]

    def _complementing(self, offer_ids: list[str], skip: Set[str], seen: set[str]) -> Iterator[Offer]:
        for offer_id in offer_ids:
            if offer_id not in seen and self.offer_categories[offer_id] not in skip:
                seen.add(offer_id)
                yield self.offers[offer_id]

    def candidates_for(self, purchased_categories: set[str]) -> list[Offer]:
        """Every offer in the purchased or related categories (best paying first per category)."""
        categories = self.categories_for(purchased_categories)
        return [offer for category in categories for offer in self.by_category.get(category, ())]


def complement_keys(offer: Offer) -> list[str]:
    """The keys an offer is found by for what it declares it complements."""
    if offer.complements is None:
        return []
    return [
        *(f"category:{category}" for category in offer.complements.categories),
        *(f"product_type:{product_type}" for product_type in offer.complements.product_types),
    ]


def headline_value(offer: Offer) -> int:
    """An offer's best payout (or price, for first-party): the static order offers are scanned in."""
    if offer.kind == "first_party":
        return offer.creative.price_minor or 0
    if isinstance(offer.payout, FixedPayout):
        return max(offer.payout.amounts.values())
    return offer.payout.bps


def catalog_payout(offer: Offer) -> float | None:
    """What one conversion of `offer` should pay, in the minor units learning counts rewards in:
    the learned policy's prior of its payout, before (and beside) the conversions it reports.

    A fixed payout: its amount, or for several actions the geometric mean of their amounts (which
    action converts is learned from the conversions). A first-party add-on: its price. A percentage
    of an amount not known in advance: None (the payout is learned from conversions alone).
    """
    if offer.kind == "first_party":
        return float(offer.creative.price_minor) if offer.creative.price_minor else None
    if isinstance(offer.payout, FixedPayout):
        amounts = [amount for amount in offer.payout.amounts.values() if amount > 0]
        if amounts:
            return float(math.prod(amounts) ** (1.0 / len(amounts)))
    return None


class CatalogPayouts(Mapping[str, float]):
    """Every showable offer's `catalog_payout`, read from the offer only when asked for: a policy
    asks for the offers it ranks, whose categories a decision has read anyway."""

    def __init__(self, index: CatalogIndex) -> None:
        self._index = index

    def __getitem__(self, offer_id: str) -> float:
        payout = catalog_payout(self._index.offers[offer_id])
        if payout is None:
            raise KeyError(offer_id)
        return payout

    def __iter__(self) -> Iterator[str]:
        return iter(self._index.offer_categories)

    def __len__(self) -> int:
        return len(self._index.offer_categories)
