"""Warm state: every cache a warm function keeps is registered in one place, and one reset forgets
all of it."""

import pytest

from afterglow import warm
from afterglow.errors import Unauthorized
from afterglow.services.auth import authenticate
from afterglow.services.catalog_cache import catalog_cache
from afterglow.signing import hash_key
from afterglow.store import get_stores
from tests.utils import seed_catalog

FUNCTIONS = ("DecideFunction", "TrackFunction", "WebhooksFunction", "AdminFunction", "ReconcileFunction")


def test_every_cache_a_warm_function_keeps_is_registered_by_name(function_module):
    for logical_id in FUNCTIONS:
        function_module(logical_id)
    assert set(warm.kept()) >= {
        "settings",
        "stores",
        "catalog",
        "api keys",
        "partner webhook secrets",
        "learned policy",
        "rate limits",
    }


def test_one_reset_forgets_keys_the_catalog_and_the_clients(stores):
    # Given a warm process: a key looked up, the catalog in memory
    seeded = seed_catalog(stores)
    authenticate(stores.catalog, seeded.secret_key)
    held = catalog_cache.get(stores.catalog)
    # And the key revoked in the table since
    stores.catalog.revoke_key(hash_key(seeded.secret_key), "2026-01-01T00:00:00+00:00")
    assert authenticate(stores.catalog, seeded.secret_key)  # still held for its minute
    # When the process is reset
    warm.reset()
    # Then the key is read again (and refused), the catalog loaded afresh and the stores rebuilt
    with pytest.raises(Unauthorized):
        authenticate(stores.catalog, seeded.secret_key)
    assert catalog_cache.get(stores.catalog) is not held
    assert get_stores() is not stores
