"""Admin changes over the API: partial updates with optimistic concurrency, key and secret
rotation, retailers' own first-party offers, and the bulk catalog import."""

import gzip
import json
from datetime import UTC, datetime

import boto3
import pytest

from afterglow.services import auth, webhook_secrets
from afterglow.services.keys import create_platform_key
from afterglow_dev.local.gateway import FakeLambdaContext
from tests.utils import http_event, invoke, order, seed_catalog, signed_headers


@pytest.fixture
def api(function_module):
    """Call a route of any function: `api("GET", "/v1/admin/offers/{offer_id}", key, offer_id=…)`."""

    def call(
        method, route, key, body=None, *, function="AdminFunction", raw=None, headers=None, query="", **params
    ):
        path = route.format(**params)
        all_headers = {"authorization": f"Bearer {key}", **(headers or {})}
        event = http_event(
            method, path, route_path=route, body=body, raw=raw, headers=all_headers, query=query
        )
        return invoke(function_module(function), event)

    return call


@pytest.fixture(autouse=True)
def keys_checked_on_every_request(monkeypatch):
    # Warm functions cache keys for a minute; these tests look at what happens after that minute.
    monkeypatch.setattr(auth, "KEY_CACHE_SECONDS", 0.0)


RETAILER = "/v1/admin/retailers/{retailer_id}"
RETAILER_KEYS = "/v1/admin/retailers/{retailer_id}/keys"
REVOKE_KEY = "/v1/admin/retailers/{retailer_id}/keys/{key_id}/revoke"
RETAILER_OFFERS = "/v1/admin/retailers/{retailer_id}/offers"
OFFER = "/v1/admin/offers/{offer_id}"
PARTNER = "/v1/admin/partners/{partner_id}"
SECRETS = "/v1/admin/partners/{partner_id}/secrets"
SECRET = "/v1/admin/partners/{partner_id}/secrets/{secret_id}"
IMPORT = "/v1/admin/catalog/import"


def _decide(api, publishable_key, order_id="o-1", **overrides):
    return api(
        "POST", "/v1/decisions", publishable_key, order(order_id, **overrides), function="DecideFunction"
    )


# --- partial updates -----------------------------------------------------------------------------


def test_a_retailer_changes_its_own_settings_and_a_stale_version_is_409(stores, api):
    seeded = seed_catalog(stores)
    before = api("GET", RETAILER, seeded.secret_key, retailer_id=seeded.retailer_id)[2]
    status, _, retailer = api(
        "PATCH", RETAILER, seeded.secret_key, {"version": 1, "max_offers": 1}, retailer_id=seeded.retailer_id
    )
    assert status == 200 and retailer["max_offers"] == 1 and retailer["version"] == 2
    # Fields left out stay as they were
    assert retailer == before | {"max_offers": 1, "version": 2}
    status, _, body = api(
        "PATCH", RETAILER, seeded.secret_key, {"version": 1, "max_offers": 3}, retailer_id=seeded.retailer_id
    )
    assert status == 409 and body["error"]["code"] == "conflict"
    assert api("GET", RETAILER, seeded.secret_key, retailer_id=seeded.retailer_id)[2]["max_offers"] == 1


def test_commercial_terms_are_the_platforms_to_change(stores, api):
    seeded = seed_catalog(stores)
    change = {"version": 1, "revenue_share_bps": 9000}
    status, _, body = api("PATCH", RETAILER, seeded.secret_key, change, retailer_id=seeded.retailer_id)
    assert status == 403 and body["error"]["field"] == "revenue_share_bps"
    status, _, retailer = api(
        "PATCH", RETAILER, create_platform_key(stores), change, retailer_id=seeded.retailer_id
    )
    assert status == 200 and retailer["revenue_share_bps"] == 9000


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": None}, "name"),
        ({"currency": "USD"}, "currency"),
        ({"max_offers": 0}, "max_offers"),
        ({"allowed_origins": ["http://shop.example"]}, "allowed_origins.0"),
        ({"version": "one"}, "version"),
    ],
)
def test_a_bad_retailer_change_names_the_field(stores, api, change, field):
    seeded = seed_catalog(stores)
    platform = create_platform_key(stores)
    status, _, body = api(
        "PATCH", RETAILER, platform, {"version": 1, **change}, retailer_id=seeded.retailer_id
    )
    assert status == 422 and body["error"]["field"] == field


NOT_PLAIN_ORIGINS = [
    "https://*.shop.example",  # a wildcard would let any subdomain's pages spend the key
    "https://*",
    "https://%2a.shop.example",
    "https://sh*op.example",
    "https://user:password@shop.example",  # credentials in an origin: never what a browser sends
    "https://user@shop.example",
    "https://shop.example/checkout",
    "https://shop.example?x=1",
    "ftp://shop.example",
    "http://shop.example",
]


@pytest.mark.parametrize("origin", NOT_PLAIN_ORIGINS)
def test_an_allowed_origin_is_only_a_plain_scheme_host_and_port_on_create_and_update(stores, api, origin):
    seeded = seed_catalog(stores)
    platform = create_platform_key(stores)
    created = {"name": "Shop", "currency": "EUR", "allowed_origins": ["https://shop.example", origin]}
    status, _, body = api("POST", "/v1/admin/retailers", platform, created)
    assert (status, body["error"]["field"]) == (422, "allowed_origins.1"), body
    change = {"version": 1, "allowed_origins": [origin]}
    for key in (platform, seeded.secret_key):
        status, _, body = api("PATCH", RETAILER, key, change, retailer_id=seeded.retailer_id)
        assert (status, body["error"]["field"]) == (422, "allowed_origins.0"), body
    kept = api("GET", RETAILER, platform, retailer_id=seeded.retailer_id)[2]
    assert kept["allowed_origins"] == ["https://shop.example/"] and kept["version"] == 1


PLAIN_ORIGINS = [
    "https://shop.example",
    "https://shop.example:8443",
    "https://xn--caf-dma.example",
    "http://localhost:3000",
    "http://127.0.0.1:8000",
    "https://203.0.113.7",
    "https://shop.example/",
]


@pytest.mark.parametrize("origin", PLAIN_ORIGINS)
def test_a_plain_origin_is_accepted(stores, api, origin):
    platform = create_platform_key(stores)
    created = {"name": "Shop", "currency": "EUR", "allowed_origins": [origin]}
    assert api("POST", "/v1/admin/retailers", platform, created)[0] == 201


def test_a_catalog_import_cannot_set_a_retailers_origins(stores, api):
    """The import carries partners and offers only: a retailer line (origins and all) is refused."""
    platform = create_platform_key(stores)
    line = {"type": "retailer", "retailer_id": "ret_x", "name": "X", "allowed_origins": ["https://*"]}
    status, _, body = _import(api, platform, json.dumps(line).encode())
    assert status == 422 and body["error"]["details"][0]["line"] == 1
    assert api("GET", RETAILER, platform, retailer_id="ret_x")[0] == 404


def test_an_offer_change_is_checked_as_a_whole_and_shows_in_the_next_decision(stores, api):
    seeded = seed_catalog(stores)
    platform = create_platform_key(stores)
    # A new minimum above the stored maximum is refused, naming the field
    status, _, offer = api(
        "PATCH",
        OFFER,
        platform,
        {"version": 1, "targeting": {"max_order_minor": 20000}},
        offer_id=seeded.offer_id,
    )
    assert status == 200 and offer["version"] == 2
    status, _, body = api(
        "PATCH",
        OFFER,
        platform,
        {"version": 2, "targeting": {"min_order_minor": 30000, "max_order_minor": 20000}},
        offer_id=seeded.offer_id,
    )
    assert status == 422 and body["error"]["field"] == "targeting"
    status, _, body = api(
        "PATCH",
        OFFER,
        platform,
        {"version": 2, "payout": {"type": "fixed", "currency": "EUR", "amounts": {"signup": -5}}},
        offer_id=seeded.offer_id,
    )
    assert status == 422 and body["error"]["field"].startswith("payout")
    # A new title is what the next decision shows
    status, _, offer = api(
        "PATCH",
        OFFER,
        platform,
        {"version": 2, "creative": {"title": "Two free bags"}},
        offer_id=seeded.offer_id,
    )
    assert status == 200
    _, _, decision = _decide(api, seeded.publishable_key)
    assert [o["title"] for o in decision["offers"]] == ["Two free bags"]


def _set_budget(api, seeded, platform, budget, version=1):
    """PATCH the seeded partner's budget with the platform key: (status, body)."""
    status, _, body = api("PATCH", PARTNER, platform, {"version": version, "budget": budget},
                          partner_id=seeded.partner_id)  # fmt: skip
    return status, body


def test_a_payout_in_another_currency_than_the_partner_budget_is_refused(stores, api):
    seeded = seed_catalog(stores)
    platform = create_platform_key(stores)
    status, partner = _set_budget(api, seeded, platform, {"currency": "GBP", "daily_minor": 10000})
    assert status == 200 and partner["budget"]["currency"] == "GBP"
    offer = {
        "partner_id": seeded.partner_id,
        "category": "coffee",
        "creative": {"title": "Tea"},
        "landing_url": "https://beans.example/tea",
        "payout": {"type": "fixed", "currency": "EUR", "amounts": {"signup": 100}},
    }
    status, _, body = api("POST", "/v1/admin/offers", platform, offer)
    assert status == 422 and body["error"]["field"] == "payout.currency"
    assert "currency mismatch" in body["error"]["message"]
    over_monthly = {"currency": "GBP", "daily_minor": 10, "monthly_minor": 5}
    status, body = _set_budget(api, seeded, platform, over_monthly, version=2)
    assert status == 422 and "daily_minor" in body["error"]["message"]


# --- keys and secrets ----------------------------------------------------------------------------


def test_a_retailer_rotates_its_publishable_key_and_the_old_one_stops_working(stores, api, aws):
    seeded = seed_catalog(stores)
    # Given a new publishable key, shown once
    status, _, created = api(
        "POST", RETAILER_KEYS, seeded.secret_key, {"kind": "publishable"}, retailer_id=seeded.retailer_id
    )
    assert status == 201 and created["api_key"].startswith("pk_")
    new_key = created["api_key"]
    # Both keys work while the storefront is redeployed
    assert _decide(api, seeded.publishable_key, "k-1")[0] == 200
    assert _decide(api, new_key, "k-2")[0] == 200
    # The listing shows every key by id and hint, never a key
    status, _, listing = api("GET", RETAILER_KEYS, seeded.secret_key, retailer_id=seeded.retailer_id)
    assert status == 200 and len(listing["items"]) == 3
    assert new_key not in json.dumps(listing) and seeded.publishable_key not in json.dumps(listing)
    old = next(
        k for k in listing["items"] if k["kind"] == "publishable" and k["key_id"] != created["key"]["key_id"]
    )
    assert old["hint"] == seeded.publishable_key[-4:]
    # When the old key is revoked (twice: nothing changes the second time)
    status, _, revoked = api(
        "POST", REVOKE_KEY, seeded.secret_key, retailer_id=seeded.retailer_id, key_id=old["key_id"]
    )
    assert status == 200 and revoked["status"] == "revoked"
    again = api("POST", REVOKE_KEY, seeded.secret_key, retailer_id=seeded.retailer_id, key_id=old["key_id"])[
        2
    ]
    assert again["revoked_at"] == revoked["revoked_at"]
    # Then it is refused and the new one works
    assert _decide(api, seeded.publishable_key, "k-3")[0] == 401
    assert _decide(api, new_key, "k-4")[0] == 200
    # And the table holds no key in plain text
    items = str(boto3.client("dynamodb").scan(TableName=aws["CatalogTable"])["Items"])
    assert new_key not in items and seeded.secret_key not in items


def test_a_retailer_cannot_touch_another_retailers_keys(stores, api):
    mine, theirs = seed_catalog(stores), seed_catalog(stores)
    assert api("GET", RETAILER_KEYS, mine.secret_key, retailer_id=theirs.retailer_id)[0] == 404
    assert (
        api("POST", RETAILER_KEYS, mine.secret_key, {"kind": "secret"}, retailer_id=theirs.retailer_id)[0]
        == 404
    )
    their_keys = api("GET", RETAILER_KEYS, theirs.secret_key, retailer_id=theirs.retailer_id)[2]["items"]
    for key in their_keys:
        # Not through its own retailer id either: a key id belongs to one retailer
        assert (
            api("POST", REVOKE_KEY, mine.secret_key, retailer_id=mine.retailer_id, key_id=key["key_id"])[0]
            == 404
        )
        assert (
            api("POST", REVOKE_KEY, mine.secret_key, retailer_id=theirs.retailer_id, key_id=key["key_id"])[0]
            == 404
        )
    assert _decide(api, theirs.publishable_key)[0] == 200


def test_a_retailer_that_revokes_its_own_secret_key_is_locked_out(stores, api):
    seeded = seed_catalog(stores)
    listing = api("GET", RETAILER_KEYS, seeded.secret_key, retailer_id=seeded.retailer_id)[2]["items"]
    secret = next(k for k in listing if k["kind"] == "secret")
    assert (
        api("POST", REVOKE_KEY, seeded.secret_key, retailer_id=seeded.retailer_id, key_id=secret["key_id"])[0]
        == 200
    )
    assert api("GET", RETAILER, seeded.secret_key, retailer_id=seeded.retailer_id)[0] == 401


def _conversion(api, seeded, secret, click_id, conversion_id, action="signup"):
    body = json.dumps(
        {
            "click_id": click_id,
            "conversion_id": conversion_id,
            "action": action,
            "occurred_at": datetime.now(UTC).isoformat(),
        }
    ).encode()
    headers = signed_headers(secret, body, msg_id=f"msg_{conversion_id}")
    return api(
        "POST", "/v1/webhooks/conversions", None, raw=body, headers=headers, function="WebhooksFunction"
    )


def _click(api, seeded):
    _, _, decision = _decide(api, seeded.publishable_key, "rot-1")
    token = decision["offers"][0]["tracking_token"]
    _, headers, _ = api("GET", "/v1/c/{token}", None, function="TrackFunction", token=token)
    return headers["location"].rsplit("click_id=", 1)[1]


def test_a_partner_rotates_its_webhook_secret_without_losing_a_conversion(stores, api, monkeypatch):
    from afterglow import warm

    seeded = seed_catalog(stores)
    platform = create_platform_key(stores)
    click_id = _click(api, seeded)
    # Given a second secret, valid alongside the first
    status, _, created = api("POST", SECRETS, platform, partner_id=seeded.partner_id)
    assert status == 201 and created["webhook_secret"].startswith("whsec_")
    warm.forget("partner webhook secrets")
    status, _, body = _conversion(api, seeded, seeded.webhook_secret, click_id, "c-old")
    assert status == 200 and body["status"] == "recorded"
    # When the old one is removed
    listing = api("GET", SECRETS, platform, partner_id=seeded.partner_id)[2]["items"]
    assert len(listing) == 2 and seeded.webhook_secret not in json.dumps(listing)
    old_id = next(s["secret_id"] for s in listing if s["secret_id"] != created["secret_id"])
    status, _, remaining = api("DELETE", SECRET, platform, partner_id=seeded.partner_id, secret_id=old_id)
    assert status == 200 and [s["secret_id"] for s in remaining["items"]] == [created["secret_id"]]
    warm.forget("partner webhook secrets")  # a minute later on a warm function
    # Then the old secret's signatures are refused and the new one's recorded
    assert _conversion(api, seeded, seeded.webhook_secret, click_id, "c-2")[0] == 401
    status, _, body = _conversion(api, seeded, created["webhook_secret"], click_id, "c-3", "first_purchase")
    assert status == 200 and body["status"] == "recorded"
    # And the last secret cannot be removed: the partner could no longer report anything
    status, _, body = api(
        "DELETE", SECRET, platform, partner_id=seeded.partner_id, secret_id=created["secret_id"]
    )
    assert status == 409


# --- first-party offers --------------------------------------------------------------------------


def _first_party(**overrides):
    return {
        "category": "coffee",
        "creative": {"title": "Another bag of the house blend", "price_minor": 1290, "cta": "Add to order"},
        "landing_url": "https://shop.example/cart/add?sku=HOUSE",
        "payout": {"type": "percent", "bps": 10000},
        "sku": "HOUSE",
        **overrides,
    }


def _rotating_between_read_and_write(monkeypatch, stores, rotate) -> None:
    """The next whole-partner write first lets a secret rotation land: the writer read the partner
    before the rotation and writes after it (as a concurrent request would)."""
    from afterglow.store import CatalogStore

    replace = CatalogStore.replace
    pending = [rotate]

    def rotation_lands_first(self, entity, entity_id, body, **kwargs):
        if entity == "PARTNER" and pending:
            pending.pop()()
        return replace(self, entity, entity_id, body, **kwargs)

    monkeypatch.setattr(CatalogStore, "replace", rotation_lands_first)


@pytest.mark.parametrize(
    ("change", "route"),
    [
        ({"version": 1, "name": "Beans & Co"}, PARTNER),
        ({"version": 1, "status": "paused"}, PARTNER + "/status"),
    ],
)
def test_partner_patch_racing_secret_rotation_never_restores_a_removed_secret(
    stores, api, monkeypatch, change, route
):
    # Given a partner mid-rotation: its old secret and a new one
    seeded = seed_catalog(stores)
    platform = create_platform_key(stores)
    old_id = api("GET", SECRETS, platform, partner_id=seeded.partner_id)[2]["items"][0]["secret_id"]
    new = api("POST", SECRETS, platform, partner_id=seeded.partner_id)[2]
    # When the old secret is removed between the PATCH's read of the partner and its write
    _rotating_between_read_and_write(
        monkeypatch, stores, lambda: webhook_secrets.remove_webhook_secret(stores, seeded.partner_id, old_id)
    )
    status, _, body = api(
        "POST" if route.endswith("status") else "PATCH", route, platform, change, partner_id=seeded.partner_id
    )
    # Then the change is made, and the removed secret stays removed
    assert status == 200 and all(body[k] == v for k, v in change.items() if k != "version"), body
    secrets = api("GET", SECRETS, platform, partner_id=seeded.partner_id)[2]["items"]
    assert [s["secret_id"] for s in secrets] == [new["secret_id"]]


def test_partner_patch_racing_secret_rotation_never_drops_an_added_secret(stores, api, monkeypatch):
    seeded = seed_catalog(stores)
    platform = create_platform_key(stores)
    added: list[str] = []
    _rotating_between_read_and_write(
        monkeypatch,
        stores,
        lambda: added.append(webhook_secrets.add_webhook_secret(stores, seeded.partner_id).secret_id),
    )
    status, _, body = api(
        "PATCH", PARTNER, platform, {"version": 1, "name": "Renamed"}, partner_id=seeded.partner_id
    )
    assert status == 200 and body["name"] == "Renamed", body
    secrets = [
        s["secret_id"] for s in api("GET", SECRETS, platform, partner_id=seeded.partner_id)[2]["items"]
    ]
    assert added and added[0] in secrets and len(secrets) == 2


def test_a_retailer_sells_its_own_product_on_its_own_page_only(stores, api):
    mine, theirs = (
        seed_catalog(stores, category="pets"),
        seed_catalog(stores, category="pets"),
    )
    status, _, offer = api(
        "POST", RETAILER_OFFERS, mine.secret_key, _first_party(), retailer_id=mine.retailer_id
    )
    assert status == 201 and offer["kind"] == "first_party" and offer["partner_id"] == mine.retailer_id
    # Its own listing has it; the other retailer cannot list, read or change it
    listing = api("GET", RETAILER_OFFERS, mine.secret_key, retailer_id=mine.retailer_id)[2]
    assert [o["offer_id"] for o in listing["items"]] == [offer["offer_id"]]
    assert api("GET", RETAILER_OFFERS, theirs.secret_key, retailer_id=mine.retailer_id)[0] == 404
    assert api("GET", OFFER, theirs.secret_key, offer_id=offer["offer_id"])[0] == 404
    assert (
        api("PATCH", OFFER, theirs.secret_key, {"version": 1, "sku": "X"}, offer_id=offer["offer_id"])[0]
        == 404
    )
    # A retailer key never reaches a partner's offer
    assert api("GET", OFFER, mine.secret_key, offer_id=mine.offer_id)[0] == 404
    # It shows on its own page and never on the other retailer's
    mine_shown = {o["offer_id"] for o in _decide(api, mine.publishable_key, "fp-1")[2]["offers"]}
    theirs_shown = {o["offer_id"] for o in _decide(api, theirs.publishable_key, "fp-2")[2]["offers"]}
    assert offer["offer_id"] in mine_shown and offer["offer_id"] not in theirs_shown
    # Its owner can pause it
    status, _, paused = api(
        "POST",
        OFFER + "/status",
        mine.secret_key,
        {"version": 1, "status": "paused"},
        offer_id=offer["offer_id"],
    )
    assert status == 200 and paused["status"] == "paused"


def test_a_first_party_payout_must_be_in_the_retailers_currency(stores, api):
    seeded = seed_catalog(stores)
    body = _first_party(payout={"type": "fixed", "currency": "USD", "amounts": {"first_purchase": 100}})
    status, _, error = api("POST", RETAILER_OFFERS, seeded.secret_key, body, retailer_id=seeded.retailer_id)
    assert status == 422 and error["error"]["field"] == "payout.currency"


# --- bulk import ---------------------------------------------------------------------------------


def _catalog_file(offer_title="A tea sampler, on us"):
    lines = [
        {"type": "partner", "partner_id": "par_bulk_1", "name": "Bulk Teas"},
        {
            "type": "offer",
            "offer_id": "off_bulk_1",
            "partner_id": "par_bulk_1",
            "category": "coffee",
            "creative": {"title": offer_title},
            "landing_url": "https://teas.example/sampler",
            "payout": {"type": "fixed", "currency": "EUR", "amounts": {"signup": 500}},
        },
    ]
    return ("\n".join(json.dumps(line) for line in lines) + "\n").encode()


def _import(api, key, raw):
    return api("POST", IMPORT, key, raw=raw, headers={"content-type": "application/x-ndjson"})


def test_the_bulk_endpoint_imports_once_and_a_reimport_changes_nothing(stores, api):
    platform = create_platform_key(stores)
    status, _, first = _import(api, platform, _catalog_file())
    assert status == 200 and first["created"] == {"partner": 1, "offer": 1}
    status, _, again = _import(api, platform, _catalog_file())
    assert status == 200 and again["write_calls"] == 0
    assert again["unchanged"] == {"partner": 1, "offer": 1} and again["created"] == {"partner": 0, "offer": 0}
    assert (
        api("GET", OFFER, platform, offer_id="off_bulk_1")[2]["creative"]["title"] == "A tea sampler, on us"
    )


def test_the_bulk_endpoint_reports_every_bad_line_and_imports_nothing(stores, api):
    platform = create_platform_key(stores)
    lines = _catalog_file().decode().splitlines()
    bad_offer = json.loads(lines[1]) | {"category": "spaceships", "offer_id": "off_bulk_2"}
    raw = "\n".join([lines[0], lines[1], json.dumps(bad_offer), "{not json"]).encode()
    status, _, body = _import(api, platform, raw)
    assert status == 422 and body["error"]["field"] == "body"
    assert [d["line"] for d in body["error"]["details"]] == [3, 4]
    assert "spaceships" in body["error"]["details"][0]["message"]
    assert api("GET", OFFER, platform, offer_id="off_bulk_1")[0] == 404


def test_the_bulk_endpoint_refuses_retailers_binary_and_oversized_files(stores, api):
    seeded = seed_catalog(stores)
    platform = create_platform_key(stores)
    assert _import(api, seeded.secret_key, _catalog_file())[0] == 403
    status, _, body = _import(api, platform, b"\xff\xfe not utf-8")
    assert status == 422 and "UTF-8" in body["error"]["message"]
    status, _, body = _import(api, platform, b"\n" * (5 * 1024 * 1024 + 1))
    assert status == 413 and body["error"]["code"] == "payload_too_large"


# --- budgets -------------------------------------------------------------------------------------


def test_a_partner_over_its_daily_budget_rests_until_the_day_turns(stores, api, learning_loop):
    seeded = seed_catalog(stores)
    platform = create_platform_key(stores)
    # Given a partner whose daily budget is 2,000, spent as fast as it comes (its offer pays 1,500
    # per first purchase; an evenly paced one would sit out decisions, see test_pacing)
    status, _ = _set_budget(api, seeded, platform, {"currency": "EUR", "daily_minor": 2000, "pacing": "asap"})
    assert status == 200
    click_id = _click(api, seeded)
    # When one first purchase is reported, the budget still has room
    assert (
        _conversion(api, seeded, seeded.webhook_secret, click_id, "b-1", "first_purchase")[2]["status"]
        == "recorded"
    )
    learning_loop.run_once()  # the ledger's stream aggregated, the model (with budgets) published
    assert _decide(api, seeded.publishable_key, "b-2")[2]["offers"]
    # And after a second conversion (a sign-up, 700) it is spent: 2,200 ≥ 2,000
    assert (
        _conversion(api, seeded, seeded.webhook_secret, click_id, "b-3", "signup")[2]["status"] == "recorded"
    )
    learning_loop.run_once()
    assert _decide(api, seeded.publishable_key, "b-4")[2]["offers"] == []
    _, _, explained = api(
        "POST",
        "/v1/decisions",
        seeded.secret_key,
        order("b-5"),
        function="DecideFunction",
        query="explain=true",
    )
    verdicts = next(c for c in explained["candidates"] if c["offer_id"] == seeded.offer_id)["verdicts"]
    assert verdicts["partner_budget"] == "partner_budget_exhausted"


def test_an_evenly_paced_partners_spend_share_is_published_and_its_day_read_out(
    stores, api, learning_loop, function_module
):
    seeded = seed_catalog(stores)
    platform = create_platform_key(stores)
    # Given a partner spending a daily budget of 2,000 evenly (the default), and a first purchase (1,500)
    status, partner = _set_budget(api, seeded, platform, {"currency": "EUR", "daily_minor": 2000})
    assert status == 200 and partner["budget"]["pacing"] == "even"
    click_id = _click(api, seeded)
    _conversion(api, seeded, seeded.webhook_secret, click_id, "p-1", "first_purchase")
    # When the learning loop publishes the model
    learning_loop.run_once()
    pointer = stores.learning.model_pointer()
    model = json.loads(gzip.decompress(stores.learning.read_model(pointer["object_key"])))
    # Then it carries the partner's spend today as a share of its daily budget, for decide's pacing
    today = datetime.now(UTC).date().isoformat()
    assert (model["budget_day"], model["pacing"]) == (today, {seeded.partner_id: 0.75})
    # And the day's read-out shows its spend against the budget, for operators only
    reconcile = function_module("ReconcileFunction").lambda_handler
    assert reconcile({"date": today}, FakeLambdaContext("reconcile"))["status"] == "ok"
    summary = json.loads(stores.reports.get(f"reports/daily/dt={today}/summary.json"))
    (row,) = summary["pacing"]
    assert (row["partner_id"], row["daily_budget_minor"], row["spent_minor"]) == (
        seeded.partner_id,
        2000,
        1500,
    )
    assert "Pacing of daily budgets" in stores.reports.get(f"reports/daily/dt={today}/report.html").decode()
    retailer_page = stores.reports.get(f"reports/daily/dt={today}/retailer={seeded.retailer_id}/report.html")
    assert "Pacing" not in retailer_page.decode()


# --- partners' own keys --------------------------------------------------------------------------


def test_a_partner_key_reads_its_own_partner_and_rotates_its_own_secret_only(stores, api):
    mine, theirs = seed_catalog(stores), seed_catalog(stores)
    platform = create_platform_key(stores)
    status, _, created = api(
        "POST", "/v1/admin/partners/{partner_id}/keys", platform, partner_id=mine.partner_id
    )
    assert status == 201
    key = created["api_key"]
    # Its own profile, offers, delivery log and secrets
    assert api("GET", PARTNER, key, partner_id=mine.partner_id)[2]["partner_id"] == mine.partner_id
    offers = api("GET", PARTNER + "/offers", key, partner_id=mine.partner_id)[2]["items"]
    assert [o["offer_id"] for o in offers] == [mine.offer_id]
    assert api("GET", PARTNER + "/deliveries", key, partner_id=mine.partner_id)[0] == 200
    assert api("POST", SECRETS, key, partner_id=mine.partner_id)[0] == 201
    # Not its commercial terms, not another partner, not a retailer, not the storefront
    assert (
        api("PATCH", PARTNER, key, {"version": 1, "name": "Mine now"}, partner_id=mine.partner_id)[0] == 403
    )
    assert api("GET", PARTNER, key, partner_id=theirs.partner_id)[0] == 404
    assert api("GET", PARTNER + "/deliveries", key, partner_id=theirs.partner_id)[0] == 404
    assert api("GET", RETAILER, key, retailer_id=mine.retailer_id)[0] == 404
    assert api("GET", "/v1/admin/offers/{offer_id}", key, offer_id=mine.offer_id)[0] == 404
    assert _decide(api, key, "pk-1")[0] == 403
    # And once revoked it is refused
    api("POST", "/v1/admin/partners/{partner_id}/keys/{key_id}/revoke", platform,
        partner_id=mine.partner_id, key_id=created["key"]["key_id"])  # fmt: skip
    assert api("GET", PARTNER, key, partner_id=mine.partner_id)[0] == 401


@pytest.mark.parametrize(
    ("method", "route", "body", "status", "field"),
    [
        ("POST", RETAILER_KEYS, {"kind": "master"}, 422, "kind"),
        ("POST", RETAILER_KEYS, {}, 422, "kind"),
        ("POST", REVOKE_KEY, None, 404, None),
        ("POST", RETAILER + "/status", {"version": 1, "status": "sleeping"}, 422, "status"),
        ("POST", RETAILER + "/status", {"version": 0, "status": "paused"}, 422, "version"),
        (
            "PATCH",
            PARTNER,
            {"version": 1, "budget": {"currency": "EUR", "daily_minor": -1}},
            422,
            "budget.daily_minor",
        ),
        ("PATCH", PARTNER, {"version": 1, "budget": {"currency": "EUR"}}, 422, "budget"),
        ("PATCH", OFFER, {"version": 1, "landing_url": "http://partner.example/x"}, 422, "landing_url"),
        ("PATCH", OFFER, {"version": 1, "category": "spaceships"}, 422, "category"),
        ("DELETE", SECRET, None, 404, None),
    ],
)
def test_bad_input_on_the_new_admin_routes_is_a_clear_4xx(stores, api, method, route, body, status, field):
    seeded = seed_catalog(stores)
    ids = {
        "retailer_id": seeded.retailer_id,
        "partner_id": seeded.partner_id,
        "offer_id": seeded.offer_id,
        "key_id": "key_does_not_exist",
        "secret_id": "whk_does_not_exist",
    }
    params = {name: value for name, value in ids.items() if "{" + name + "}" in route}
    answer_status, _, answer = api(method, route, create_platform_key(stores), body, **params)
    assert answer_status == status, answer
    assert set(answer) == {"error"} and answer["error"]["message"]
    assert answer["error"].get("field") == field
