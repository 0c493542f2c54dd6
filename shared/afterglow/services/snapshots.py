"""Publish the catalog snapshot after changes, and load it where a warm function needs the catalog.

A snapshot is labelled with the catalog version read *before* the entities are read, so its
content is never older than its label: a function that sees version N and loads snapshot N holds
at least every change up to N.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from afterglow.catalog import CatalogIndex
from afterglow.catalog_snapshot import (
    SnapshotUnreadable,
    build_snapshot,
    load_snapshot,
    patch_snapshot,
    snapshot_id,
)
from afterglow.models import Offer, Partner, Retailer
from afterglow.observability import logger
from afterglow.store import CatalogStore
from afterglow.store.entities import offer_of, partner_of, retailer_of


@dataclass(frozen=True)
class PublishedSnapshot:
    version: int
    size_bytes: int


def publish_snapshot(catalog: CatalogStore) -> PublishedSnapshot | None:
    """Snapshot the whole catalog as it is now (one consistent scan) and publish it; None when
    the current version already has one (or a newer one won a race)."""
    version = catalog.version()
    pointer = catalog.snapshot_pointer()
    if pointer is not None and int(pointer["snapshot_version"]) >= version:
        return None
    entities = catalog.scan_entities(["RETAILER", "PARTNER", "OFFER"])
    return _publish(
        catalog,
        version,
        retailers=[retailer_of(item) for item in entities["RETAILER"]],
        partners=[partner_of(item) for item in entities["PARTNER"]],
        offers=[offer_of(item) for item in entities["OFFER"]],
    )


def publish_snapshot_with_changes(
    catalog: CatalogStore,
    *,
    base_version: int,
    version: int,
    written_partners: Sequence[dict[str, Any]] = (),
    written_offers: Sequence[dict[str, Any]] = (),
    written_retailers: Sequence[dict[str, Any]] = (),
) -> PublishedSnapshot | None:
    """Publish snapshot `version` as the published snapshot of `base_version` plus the entities
    written since (stored bodies, as read or written), without reading the whole catalog again:
    how an import publishes, and how a single admin change can.

    Only valid when those writes are *all* that changed between the two versions, which the
    caller knows when `version` is `base_version` plus its own bumps (every other change bumps
    the version too). Without a readable snapshot of `base_version`, publishes from a full scan.
    Not for resuming a partner: its offers are left out of snapshots while it is paused, so they
    would have to be passed too (an import never changes a status).
    """
    stored = catalog.read_snapshot(base_version)
    if stored is None:
        return publish_snapshot(catalog)

    def more_partners(partner_ids: set[str]) -> dict[str, Partner]:
        found = catalog.get_many("PARTNER", sorted(partner_ids))
        return {partner_id: partner_of(item) for partner_id, item in found.items()}

    try:
        snapshot = patch_snapshot(
            stored[1],
            version,
            retailers=[retailer_of(body) for body in written_retailers],
            partners=[partner_of(body) for body in written_partners],
            offers=[offer_of(body) for body in written_offers],
            more_partners=more_partners,
        )
    except (SnapshotUnreadable, ValidationError):
        return publish_snapshot(catalog)
    return _store(catalog, version, snapshot)


def publish_after_change(
    catalog: CatalogStore,
    before: int,
    *,
    partners: Sequence[dict[str, Any]] = (),
    offers: Sequence[dict[str, Any]] = (),
    retailers: Sequence[dict[str, Any]] = (),
    full: bool = False,
) -> PublishedSnapshot | None:
    """After one admin change (catalog version `before` + 1), publish the snapshot that warm and
    cold `decide` functions load: the previous snapshot plus the changed entities when this change
    is the only one since `before`, else (or with `full`, e.g. a resumed partner whose offers come
    back) from a full scan. Best effort: the change is already stored, and without a snapshot of
    the current version a function loads the catalog entity by entity, so a failure is logged
    rather than turning a stored change into an error."""
    try:
        after = catalog.version()
        if full or after != before + 1:
            return publish_snapshot(catalog)
        return publish_snapshot_with_changes(
            catalog,
            base_version=before,
            version=after,
            written_partners=partners,
            written_offers=offers,
            written_retailers=retailers,
        )
    except Exception:
        logger.warning(
            "catalog snapshot not published; functions load the catalog item by item", exc_info=True
        )
        return None


def _publish(
    catalog: CatalogStore,
    version: int,
    *,
    retailers: Sequence[Retailer],
    partners: Sequence[Partner],
    offers: Sequence[Offer],
) -> PublishedSnapshot | None:
    return _store(
        catalog, version, build_snapshot(version, retailers=retailers, partners=partners, offers=offers)
    )


def _store(catalog: CatalogStore, version: int, snapshot: bytes) -> PublishedSnapshot | None:
    if not catalog.write_snapshot(version, snapshot_id(snapshot), snapshot):
        return None
    logger.info("catalog snapshot published", extra={"version": version, "bytes": len(snapshot)})
    return PublishedSnapshot(version=version, size_bytes=len(snapshot))


def load_published_index(catalog: CatalogStore, version: int, *, freeze: bool = False) -> CatalogIndex | None:
    """The catalog index from the published snapshot of exactly `version`; None when there is no
    such snapshot (a change since the last publish) or it cannot be read, so that the caller loads
    the catalog entity by entity instead. One GetItem (the pointer), then one BatchGetItem of the
    chunks when it is that version. `freeze`: see `load_snapshot` (for a cold start)."""
    stored = catalog.read_snapshot(version)
    if stored is None:
        return None
    try:
        return load_snapshot(stored[1], freeze=freeze)
    except SnapshotUnreadable:
        logger.warning("catalog snapshot unreadable; loading the catalog item by item", exc_info=True)
        return None
