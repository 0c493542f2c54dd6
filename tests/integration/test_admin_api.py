"""Admin API: scoped keys, tenancy, bad input, keys stored only as hashes."""

import boto3
import pytest

from afterglow.models import FirstPartyOfferCreate, OfferCreate
from afterglow.services import catalog_entities, keys, offers, webhook_secrets
from afterglow.services.keys import create_platform_key
from afterglow.store.records import DeliveryRecord
from tests.utils import http_event, http_routes, invoke, seed_catalog


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
    mine = seed_catalog(stores)
    theirs = seed_catalog(stores)
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
    mine = seed_catalog(stores)
    assert admin("GET", "/v1/admin/retailers", mine.secret_key)[0] == 403
    assert admin("POST", "/v1/admin/partners", mine.secret_key, body={"name": "Sneaky"})[0] == 403


def test_publishable_key_cannot_reach_admin(stores, admin):
    mine = seed_catalog(stores)
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
    status, _, response = admin("POST", "/v1/admin/retailers", create_platform_key(stores), body=body)
    assert status == 422
    assert response["error"]["field"] == field


def test_offer_with_unknown_category_or_negative_payout_is_refused(stores, admin):
    seeded = seed_catalog(stores)
    key = create_platform_key(stores)
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
    key = create_platform_key(stores)
    status, _, body = admin("POST", "/v1/admin/retailers", key, raw=b'{"name": ')
    assert (status, body["error"]["code"]) == (400, "malformed_json")
    status, _, body = admin(
        "POST", "/v1/admin/retailers", key, body={"name": "Café Åsa 東京 🎁", "currency": "SEK"}
    )
    assert status == 201 and body["retailer"]["name"] == "Café Åsa 東京 🎁"


def test_huge_body_is_413(stores, admin):
    key = create_platform_key(stores)
    status, _, body = admin("POST", "/v1/admin/retailers", key, raw=b'{"name": "' + b"x" * 300_000 + b'"}')
    assert (status, body["error"]["code"]) == (413, "payload_too_large")


def test_list_pages_with_a_cursor_and_rejects_a_forged_one(stores, admin):
    key = create_platform_key(stores)
    for _ in range(3):
        seed_catalog(stores)
    _, _, everything = admin("GET", "/v1/admin/partners", key)
    status, _, page = admin("GET", "/v1/admin/partners", key, query="limit=2")
    assert status == 200 and len(page["items"]) == 2 and page["next_cursor"]
    _, _, rest = admin("GET", "/v1/admin/partners", key, query=f"limit=2&cursor={page['next_cursor']}")
    ids = [p["partner_id"] for p in page["items"] + rest["items"]]
    assert sorted(ids) == sorted(p["partner_id"] for p in everything["items"]) and len(set(ids)) == 3
    status, _, body = admin("GET", "/v1/admin/partners", key, query="cursor=bm90LWEtY3Vyc29y")
    assert (status, body["error"]["field"]) == (422, "cursor")


def test_no_plaintext_key_or_customer_email_is_stored(stores, function_module):
    seeded = seed_catalog(stores)
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
    status, _, created = admin("POST", "/v1/admin/retailers", create_platform_key(stores), body=body)
    assert status == 201
    stored = stores.catalog.get("RETAILER", created["retailer"]["retailer_id"])
    assert stored["min_relevance"] == 0 and stored["name"] == body["name"]


def test_every_answer_forbids_mime_sniffing_and_plain_http(stores, admin, function_module):
    ok = admin("GET", "/v1/admin/retailers", create_platform_key(stores))
    refused = admin("GET", "/v1/admin/retailers", None)
    too_large = admin("POST", "/v1/admin/retailers", None, raw=b"x" * (300 * 1024))
    sdk = invoke(function_module("TrackFunction"), http_event("GET", "/v1/sdk.js"))
    for status, headers, _ in (ok, refused, too_large, sdk):
        assert headers["x-content-type-options"] == "nosniff", status
        assert headers["strict-transport-security"].startswith("max-age="), status


def _cursor(payload: str) -> str:
    import base64

    return base64.urlsafe_b64encode(payload.encode()).decode()


MALFORMED_CURSORS = [
    "bm90LWEtY3Vyc29y",  # base64 of text, not JSON
    "%%%",  # not base64
    _cursor("[1, 2]"),  # JSON, not an object
    _cursor('{"a": 1}'),  # an object botocore refuses before sending (ParamValidationError)
    _cursor('{"pk": "x"}'),
    _cursor('{"pk": {"S": 1}}'),
    _cursor('{"pk": {"X": "y"}}'),
    _cursor('{"pk": {"S": "x"}}'),  # well-formed but not a start key of this listing
    _cursor('{"pk": {"N": "1"}, "sk": {"S": "x"}, "type_pk": {"S": "x"}, "type_sk": {"S": "x"}}'),
    _cursor('{"pk": {"S": "x"}, "sk": {"S": "x"}, "owner_pk": {"S": "x"}, "z": {"S": "x"}}'),
]


_OFFER_FIELDS = {"partner_id", "category", "creative", "landing_url", "payout"}


def _listings_of_two(stores) -> dict[str, str]:
    """Two of everything an admin listing pages over; the path parameters of their owners."""
    from datetime import UTC, datetime

    seeded = seed_catalog(stores)
    seed_catalog(stores)
    for title in ("Blend", "Mug"):
        offers.create_first_party_offer(
            stores,
            seeded.retailer_id,
            FirstPartyOfferCreate.model_validate(
                {
                    "category": "coffee",
                    "creative": {"title": title},
                    "landing_url": "https://shop.example/x",
                    "payout": {"type": "percent", "bps": 1000},
                }
            ),
        )
    first = catalog_entities.load_offer(stores.catalog, seeded.offer_id)
    offers.create_offer(
        stores, OfferCreate.model_validate(first.model_dump(mode="json", include=_OFFER_FIELDS))
    )
    for n in range(2):
        at = datetime(2025, 3, 1, 12, n, tzinfo=UTC)
        stores.ledger.log_delivery(
            DeliveryRecord(
                partner_id=seeded.partner_id,
                webhook_id=f"msg_{n}",
                type="conversion",
                partner_reference=f"c{n}",
                outcome="recorded",
                reason=None,
                recorded_at=at,
            )
        )
    return {"retailer_id": seeded.retailer_id, "partner_id": seeded.partner_id}


def test_a_malformed_cursor_is_422_naming_cursor_on_every_paginated_admin_route(
    stores, admin, template, function_module
):
    """Every admin listing that takes `?cursor=` (found from the app itself, so a listing added
    later is walked too) follows its own cursors, and answers one it never handed out with 422
    naming `cursor` (botocore's ParamValidationError used to answer 503)."""
    ids = _listings_of_two(stores)
    key = create_platform_key(stores)
    paginated = {
        f"{method} {route.path}"
        for route in http_routes(function_module("AdminFunction").app)
        if any(param.name == "cursor" for param in getattr(route, "dependant", None).query_params)
        for method in route.methods
    }
    walked = []
    for route in template.routes():
        if route.route_key not in paginated:
            continue
        path = route.path.format(**ids)
        status, _, first = admin(route.method, path, key, route_path=route.path, query="limit=1")
        assert status == 200 and first["next_cursor"], (route.route_key, first)
        query = f"limit=1&cursor={first['next_cursor']}"
        status, _, second = admin(route.method, path, key, route_path=route.path, query=query)
        assert status == 200 and second["items"] and second["items"] != first["items"], route.route_key
        for cursor in MALFORMED_CURSORS:
            status, _, body = admin(route.method, path, key, route_path=route.path, query=f"cursor={cursor}")
            assert (status, body["error"]["field"]) == (422, "cursor"), (route.route_key, cursor, body)
        walked.append(route.route_key)
    assert len(walked) == len(paginated) >= 6, walked


def _revoke_elsewhere(stores, key: str) -> None:
    """Revoke a key as another warm container would: in the table, not in this process's cache."""
    from afterglow.signing import hash_key

    stores.catalog.revoke_key(hash_key(key), "2025-03-01T00:00:00+00:00")


CREDENTIAL_ROUTES = {"POST /v1/admin/retailers", "POST /v1/admin/partners"}  # they mint keys, secrets


def _key_management_routes(function_module) -> list:
    """Every admin route that mints, revokes, rotates or lists keys or webhook secrets."""
    return [
        (method, route.path)
        for route in http_routes(function_module("AdminFunction").app)
        for method in getattr(route, "methods", ())
        if "keys" in getattr(route, "tags", ()) or f"{method} {route.path}" in CREDENTIAL_ROUTES
    ]


@pytest.mark.parametrize("kind", ["retailer", "partner", "platform"])
def test_a_revoked_key_cannot_manage_keys_or_secrets_while_it_is_still_cached(
    stores, aws, admin, function_module, kind
):
    """Warm functions cache a key for a minute; every route that mints, revokes, rotates or lists
    credentials re-checks the caller in the table, so a key revoked a moment ago (by another
    container) cannot mint a successor that outlives it."""
    seeded = seed_catalog(stores)
    spare = keys.create_retailer_key(stores, seeded.retailer_id, "secret")
    secret_id = webhook_secrets.add_webhook_secret(stores, seeded.partner_id).secret_id
    caller = {
        "retailer": seeded.secret_key,
        "partner": keys.create_partner_key(stores, seeded.partner_id).api_key,
        "platform": create_platform_key(stores),
    }[kind]
    ids = {
        "retailer_id": seeded.retailer_id,
        "partner_id": seeded.partner_id,
        "key_id": spare.key.key_id,
        "secret_id": secret_id,
    }
    reachable = [
        (method, path)
        for method, path in _key_management_routes(function_module)
        if kind == "platform" or f"/{kind}s/" in path
    ]
    # Each route answers this key while it is active (and the key is now cached)…
    for method, path in reachable:
        if method == "GET":
            status, _, answer = admin(method, path.format(**ids), caller, route_path=path)
            assert status == 200, (path, answer)
    _revoke_elsewhere(stores, caller)
    before = _credentials(aws)
    # … and none of them takes it once it is revoked, cached or not: nothing minted or revoked.
    for method, path in reachable:
        status, _, answer = admin(method, path.format(**ids), caller, route_path=path, body={})
        assert (status, answer["error"]["code"]) == (401, "unauthorized"), (method, path, answer)
    assert _credentials(aws) == before
    assert len(reachable) >= {"retailer": 3, "partner": 6, "platform": 14}[kind]


def _credentials(aws) -> list:
    """Every key record and every partner (with its webhook secrets), as stored."""
    items = boto3.client("dynamodb").scan(TableName=aws["CatalogTable"])["Items"]
    return sorted((i for i in items if i["pk"]["S"].startswith(("KEY#", "PARTNER#", "RETAILER#"))), key=str)
