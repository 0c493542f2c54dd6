"""The catalog snapshot in the Catalog table: chunked, published atomically, never older than its label."""

import gzip
import os

import boto3
import pytest

from afterglow.catalog import CatalogIndex
from afterglow.catalog_snapshot import open_snapshot
from afterglow.models import Offer, Partner, Retailer, StatusUpdate
from afterglow.services.catalog_cache import catalog_cache
from afterglow.services.catalog_entities import load_offer
from afterglow.services.offers import set_offer_status
from afterglow.services.snapshots import load_published_index, publish_snapshot
from afterglow.store.catalog_snapshots import SNAPSHOT_CHUNK_BYTES
from tests.utils import seed_catalog


def test_a_snapshot_bigger_than_an_item_is_stored_in_chunks_and_read_back_whole(stores):
    blob = os.urandom(2 * SNAPSHOT_CHUNK_BYTES + 123)
    assert stores.catalog.write_snapshot(3, "abc", blob)
    assert stores.catalog.snapshot_pointer()["chunks"] == 3
    assert stores.catalog.read_snapshot() == (3, blob)
    assert stores.catalog.read_snapshot(3) == (3, blob)


def test_a_reader_asking_for_another_version_gets_nothing(stores):
    stores.catalog.write_snapshot(3, "abc", b"snapshot three")
    assert stores.catalog.read_snapshot(4) is None


def test_an_older_snapshot_never_replaces_a_newer_one(stores):
    assert stores.catalog.write_snapshot(5, "new", b"five")
    assert not stores.catalog.write_snapshot(4, "old", b"four")
    assert not stores.catalog.write_snapshot(5, "new", b"five")
    assert stores.catalog.read_snapshot() == (5, b"five")


def test_only_the_published_and_the_previous_snapshot_are_kept(stores, aws):
    for version in (1, 2, 3):
        stores.catalog.write_snapshot(version, f"id{version}", f"snapshot {version}".encode())
    chunk_keys = {
        item["pk"]["S"]
        for item in boto3.client("dynamodb").scan(TableName=aws["CatalogTable"])["Items"]
        if item["pk"]["S"].startswith("SNAPSHOT#")
    }
    assert chunk_keys == {"SNAPSHOT#000000000002#id2", "SNAPSHOT#000000000003#id3"}


def _index_from_table(catalog, version):
    return CatalogIndex.build(
        offers=[Offer.model_validate(item) for item in catalog.all_of("OFFER")],
        partners=[Partner.model_validate(item) for item in catalog.all_of("PARTNER")],
        retailers=[Retailer.model_validate(item) for item in catalog.all_of("RETAILER")],
        version=version,
    )


def test_every_admin_change_publishes_the_snapshot_of_the_new_version(stores):
    # Given a catalog changed through the admin services (retailer, partner, offer, then a pause)
    seeded = seed_catalog(stores)
    other = seed_catalog(stores, category="pets")
    offer = load_offer(stores.catalog, other.offer_id)
    set_offer_status(stores, other.offer_id, StatusUpdate(version=offer.version, status="paused"))
    version = stores.catalog.version()
    # Then the snapshot of the current version is published and equals the table's catalog
    index = load_published_index(stores.catalog, version)
    assert index is not None
    assert index.offers == _index_from_table(stores.catalog, version).offers
    assert seeded.offer_id in index.offers and other.offer_id not in index.offers
    assert seeded.retailer_id in index.retailers
    # And publishing again without a change does nothing
    assert publish_snapshot(stores.catalog) is None


def test_a_cold_function_loads_the_catalog_from_the_snapshot_not_item_by_item(stores, monkeypatch):
    seeded = seed_catalog(stores)
    catalog_cache.clear()
    monkeypatch.setattr(stores.catalog, "all_of", lambda entity: pytest.fail(f"read every {entity}"))
    index = catalog_cache.refresh_to(stores.catalog, stores.catalog.version())
    assert seeded.offer_id in index.offers


def test_a_change_without_a_snapshot_is_loaded_item_by_item(stores):
    # Given a change that bumped the version without publishing (e.g. the publish failed)
    seeded = seed_catalog(stores)
    stored = stores.catalog.get("OFFER", seeded.offer_id)
    stores.catalog.replace(
        "OFFER", seeded.offer_id, {**stored, "status": "paused"}, expected_version=stored["version"]
    )
    version = stores.catalog.version()
    # Then the old snapshot is not offered as current, and a function still sees the change
    assert load_published_index(stores.catalog, version) is None
    assert seeded.offer_id not in catalog_cache.refresh_to(stores.catalog, version).offers


def test_webhook_secrets_never_enter_the_snapshot(stores):
    seeded = seed_catalog(stores)
    stored = stores.catalog.read_snapshot()
    assert stored is not None
    assert seeded.webhook_secret.encode() not in gzip.decompress(stored[1])
    assert open_snapshot(stored[1]).partners[0].partner_id == seeded.partner_id
