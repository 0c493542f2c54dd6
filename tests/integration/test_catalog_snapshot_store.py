"""The catalog snapshot in the Catalog table: chunked, published atomically, never older than its label."""

import gzip
import os

import boto3

from afterglow.catalog_snapshot import open_snapshot
from afterglow.services.catalog_cache import catalog_cache
from afterglow.services.snapshots import load_published_index, publish_snapshot
from afterglow.store.catalog import SNAPSHOT_CHUNK_BYTES
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


def test_publishing_snapshots_the_current_version_and_a_warm_function_can_load_it(stores):
    # Given a catalog changed through the admin API
    seeded = seed_catalog(stores.catalog)
    version = stores.catalog.version()
    # When a snapshot is published
    published = publish_snapshot(stores.catalog)
    # Then it is labelled with the current version and loads as the index the cache builds
    assert published is not None and published.version == version
    index = load_published_index(stores.catalog, version)
    assert index is not None
    assert index.offers == catalog_cache.refresh_to(stores.catalog, version).offers
    assert seeded.retailer_id in index.retailers
    # And publishing again without a change does nothing
    assert publish_snapshot(stores.catalog) is None


def test_after_a_change_the_old_snapshot_is_not_offered_as_current(stores):
    seed_catalog(stores.catalog)
    publish_snapshot(stores.catalog)
    seed_catalog(stores.catalog, category="pets")  # bumps the version
    assert load_published_index(stores.catalog, stores.catalog.version()) is None


def test_webhook_secrets_never_enter_the_snapshot(stores):
    seeded = seed_catalog(stores.catalog)
    publish_snapshot(stores.catalog)
    stored = stores.catalog.read_snapshot()
    assert stored is not None
    assert seeded.webhook_secret.encode() not in gzip.decompress(stored[1])
    assert open_snapshot(stored[1]).partners[0].partner_id == seeded.partner_id
