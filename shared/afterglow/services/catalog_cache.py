"""The catalog a warm function holds in memory, refreshed when the catalog version changes."""

import time

from afterglow import warm
from afterglow.catalog import CatalogIndex
from afterglow.models import Retailer
from afterglow.services.snapshots import load_published_index
from afterglow.settings import get_settings
from afterglow.store import CatalogStore
from afterglow.store.entities import offer_of, partner_of, retailer_of


class CatalogCache:
    """Retailers, partners and offers in memory; a version read decides whether to reload.

    The version is read at most every `check_seconds` (0 = on every use: one small read that keeps
    admin changes visible immediately). A new version is loaded from the published catalog
    snapshot of that version (two reads), or entity by entity when none is published for it yet.
    """

    def __init__(self) -> None:
        self._index: CatalogIndex | None = None
        self._checked_at = float("-inf")

    def get(self, catalog: CatalogStore) -> CatalogIndex:
        """The current catalog index (reloaded only when the catalog changed)."""
        if (
            self._index is not None
            and time.monotonic() - self._checked_at < get_settings().catalog_version_check_seconds
        ):
            return self._index
        return self.refresh_to(catalog, catalog.version())

    def cached(self, catalog: CatalogStore) -> CatalogIndex:
        """The index held in memory, loaded if there is none yet; for callers that read the
        version themselves (the decision path reads it together with the customer's exposures)."""
        return self._index if self._index is not None else self.get(catalog)

    def refresh_to(self, catalog: CatalogStore, version: int) -> CatalogIndex:
        """The index at `version`: the cached one if it is that version, else a fresh load."""
        self._checked_at = time.monotonic()
        if self._index is None or self._index.version != version:
            cold = self._index is None
            self._index = load_published_index(catalog, version, freeze=cold) or CatalogIndex.build(
                offers=[offer_of(item) for item in catalog.all_of("OFFER")],
                partners=[partner_of(item) for item in catalog.all_of("PARTNER")],
                retailers=[retailer_of(item) for item in catalog.all_of("RETAILER")],
                version=version,
            )
        return self._index

    def retailer(self, catalog: CatalogStore, retailer_id: str) -> Retailer | None:
        """A retailer from memory; one version check when it is not there (created a moment ago)."""
        found = self.cached(catalog).retailers.get(retailer_id)
        return found if found is not None else self.get(catalog).retailers.get(retailer_id)

    def clear(self) -> None:
        self._index = None
        self._checked_at = float("-inf")


catalog_cache = warm.keep("catalog", CatalogCache())
