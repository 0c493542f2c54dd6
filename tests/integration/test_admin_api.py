"""Admin API: scoped keys, tenancy, bad input, keys stored only as hashes."""

import boto3
import pytest

from afterglow.services.admin import create_platform_key
from tests.utils import http_event, invoke, seed_catalog


@pytest.fixture
def admin(function_module):
    module = function_module("AdminFunction")

    def call(method, path, key, body=None, route_path=None, raw=None, query=""):
        headers = {"authorization": f"Bearer {key}"} if key else {}
        event = http_event(
            method, path, body=body, raw=raw, headers=headers, route_path=route_path, query=query
        )
        return invoke(module, event)

    return call


def test_retailer_key_cannot_read_another_retailer(stores, admin):
    mine = seed_catalog(stores.catalog)
    theirs = seed_catalog(stores.catalog)
    status, _, body = admin(
        "GET",
        f"/v1/admin/retailers/{theirs.retailer_id}",
        mine.secret_key,
        route_path="/v1/admin/retailers/{retailer_id}",
    )
    assert status == 404 and theirs.retailer_id in body["error"]["message"]
    status, _, body = admin(
        "GET",
        f"/v1/admin/retailers/{mine.retailer_id}",
        mine.secret_key,
        route_path="/v1/admin/retailers/{retailer_id}",
    )
    assert status == 200 and body["retailer_id"] == mine.retailer_id and "salt" not in body


def test_retailer_key_cannot_list_tenants_or_create_partners(stores, admin):
    mine = seed_catalog(stores.catalog)
    assert admin("GET", "/v1/admin/retailers", mine.secret_key)[0] == 403
    assert admin("POST", "/v1/admin/partners", mine.secret_key, body={"name": "Sneaky"})[0] == 403


def test_publishable_key_cannot_reach_admin(stores, admin):
    mine = seed_catalog(stores.catalog)
    status, _, body = admin("GET", "/v1/admin/retailers", mine.publishable_key)
    assert status == 403 and body["error"]["code"] == "forbidden"


def test_missing_or_unknown_key_is_401(stores, admin):
    assert admin("GET", "/v1/admin/retailers", None)[0] == 401
    assert admin("GET", "/v1/admin/retailers", "sk_not-a-key")[0] == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Shop", "currency": "euro"}, "currency"),
        ({"name": "Shop", "currency": "EUR", "max_offers": 4}, "max_offers"),
        (
            {"name": "Shop", "currency": "EUR", "allowed_origins": ["http://shop.example"]},
            "allowed_origins.0",
        ),
        ({"name": "Shop", "currency": "EUR", "experiment": {"holdout": 50, "mixed": 60}}, "experiment"),
        ({"name": "Shop", "currency": "EUR", "surprise": 1}, "surprise"),
        ({"name": 7, "currency": "EUR"}, "name"),
    ],
)
def test_bad_retailer_input_names_the_field(stores, admin, body, field):
    status, _, response = admin("POST", "/v1/admin/retailers", create_platform_key(stores.catalog), body=body)
    assert status == 422
    assert response["error"]["field"] == field


def test_offer_with_unknown_category_or_negative_payout_is_refused(stores, admin):
    seeded = seed_catalog(stores.catalog)
    key = create_platform_key(stores.catalog)
    offer = {
        "partner_id": seeded.partner_id,
        "category": "spaceships",
        "creative": {"title": "x"},
        "landing_url": "https://x.example",
        "payout": {"type": "fixed", "currency": "EUR", "amounts": {"signup": 100}},
    }
    status, _, body = admin("POST", "/v1/admin/offers", key, body=offer)
    assert (status, body["error"]["field"]) == (422, "category")
    offer.update(category="coffee", payout={"type": "fixed", "currency": "EUR", "amounts": {"signup": -1}})
    status, _, body = admin("POST", "/v1/admin/offers", key, body=offer)
    assert (status, body["error"]["field"]) == (422, "payout.fixed.amounts.signup")
    offer.update(
        payout={"type": "fixed", "currency": "EUR", "amounts": {"signup": 1}}, partner_id="par_missing"
    )
    status, _, body = admin("POST", "/v1/admin/offers", key, body=offer)
    assert (status, body["error"]["field"]) == (422, "partner_id")


def test_malformed_json_is_400_and_unicode_is_kept(stores, admin):
    key = create_platform_key(stores.catalog)
    status, _, body = admin("POST", "/v1/admin/retailers", key, raw=b'{"name": ')
    assert (status, body["error"]["code"]) == (400, "malformed_json")
    status, _, body = admin(
        "POST", "/v1/admin/retailers", key, body={"name": "Café Åsa 東京 🎁", "currency": "SEK"}
    )
    assert status == 201 and body["retailer"]["name"] == "Café Åsa 東京 🎁"


def test_huge_body_is_413(stores, admin):
    key = create_platform_key(stores.catalog)
    status, _, body = admin("POST", "/v1/admin/retailers", key, raw=b'{"name": "' + b"x" * 300_000 + b'"}')
    assert (status, body["error"]["code"]) == (413, "payload_too_large")


def test_list_pages_with_a_cursor_and_rejects_a_forged_one(stores, admin):
    key = create_platform_key(stores.catalog)
    for _ in range(3):
        seed_catalog(stores.catalog)
    _, _, everything = admin("GET", "/v1/admin/partners", key)
    status, _, page = admin("GET", "/v1/admin/partners", key, query="limit=2")
    assert status == 200 and len(page["items"]) == 2 and page["next_cursor"]
    _, _, rest = admin("GET", "/v1/admin/partners", key, query=f"limit=2&cursor={page['next_cursor']}")
    ids = [p["partner_id"] for p in page["items"] + rest["items"]]
    assert sorted(ids) == sorted(p["partner_id"] for p in everything["items"]) and len(set(ids)) == 3
    status, _, body = admin("GET", "/v1/admin/partners", key, query="cursor=bm90LWEtY3Vyc29y")
    assert (status, body["error"]["field"]) == (422, "cursor")


def test_no_plaintext_key_or_customer_email_is_stored(stores, function_module):
    seeded = seed_catalog(stores.catalog)
    from tests.utils import order

    event = http_event(
        "POST", "/v1/decisions", body=order(), headers={"authorization": f"Bearer {seeded.publishable_key}"}
    )
    status, _, body = invoke(function_module("DecideFunction"), event)
    assert status == 200, body
    ddb = boto3.client("dynamodb")
    dump = str(ddb.scan(TableName=stores.catalog._table)["Items"]) + str(
        ddb.scan(TableName=stores.ledger._table)["Items"]
    )
    for secret in (seeded.publishable_key, seeded.secret_key, "ada@example.com", "Ada@Example.com"):
        assert secret not in dump


def test_tiny_floats_and_odd_unicode_are_stored_not_a_500(stores, admin):
    # Found by schemathesis: a denormal float underflowed DynamoDB's decimal context.
    body = {"name": "W\u00d5\t\u00a6\u0000 d", "currency": "VMC", "min_relevance": 2.225073858507e-311}
    status, _, created = admin("POST", "/v1/admin/retailers", create_platform_key(stores.catalog), body=body)
    assert status == 201
    stored = stores.catalog.get("RETAILER", created["retailer"]["retailer_id"])
    assert stored["min_relevance"] == 0 and stored["name"] == body["name"]


def test_every_answer_forbids_mime_sniffing_and_plain_http(stores, admin, function_module):
    ok = admin("GET", "/v1/admin/retailers", create_platform_key(stores.catalog))
    refused = admin("GET", "/v1/admin/retailers", None)
    too_large = admin("POST", "/v1/admin/retailers", None, raw=b"x" * (300 * 1024))
    sdk = invoke(function_module("TrackFunction"), http_event("GET", "/v1/sdk.js"))
    for status, headers, _ in (ok, refused, too_large, sdk):
        assert headers["x-content-type-options"] == "nosniff", status
        assert headers["strict-transport-security"].startswith("max-age="), status
