"""Every admin route of the template, called with the wrong tenant's keys: nothing is read or changed.

The routes come from template.yaml, so a route added later is walked too; each is called with the
body of its sample event in events/ (a valid request), aimed at another retailer's resources.
"""

import json
from pathlib import Path
from string import Template as Placeholders

import boto3
import pytest

from afterglow.models import FirstPartyOfferCreate
from afterglow.services import keys, offers, webhook_secrets
from afterglow.services.keys import create_platform_key
from afterglow.signing import webhook_secret_id
from tests.utils import http_event, invoke, seed_catalog

EVENTS = Path(__file__).resolve().parents[2] / "events"
PUBLIC = {"GET /v1/openapi.json"}


def _sample_bodies(params: dict[str, str]) -> dict[str, str | None]:
    """Each admin route's sample-event body, its ${…} ids filled in with the victim's."""
    values = {name.upper(): value for name, value in params.items()}
    bodies = {}
    for path in EVENTS.glob("admin_*.json"):
        event = json.loads(path.read_text())
        body = event.get("body")
        bodies[event["routeKey"]] = Placeholders(body).safe_substitute(values) if body else None
    return bodies


def _admin_routes(template):
    return [r for r in template.routes() if r.function == "AdminFunction" and r.route_key not in PUBLIC]


@pytest.fixture
def victim(stores):
    """A retailer with a first-party offer and a spare key, and a partner with two secrets."""
    seeded = seed_catalog(stores)
    first_party = offers.create_first_party_offer(
        stores,
        seeded.retailer_id,
        FirstPartyOfferCreate.model_validate(
            {
                "category": "coffee",
                "creative": {"title": "Victim's house blend"},
                "landing_url": "https://shop.example/blend",
                "payout": {"type": "percent", "bps": 10000},
            }
        ),
    )
    spare_key = keys.create_retailer_key(stores, seeded.retailer_id, "secret")
    spare_secret = webhook_secrets.add_webhook_secret(stores, seeded.partner_id)
    return {
        "seeded": seeded,
        "params": {
            "retailer_id": seeded.retailer_id,
            "partner_id": seeded.partner_id,
            "offer_id": first_party.offer_id,
            "key_id": spare_key.key.key_id,
            "secret_id": spare_secret.secret_id,
        },
    }


def _catalog_items(aws) -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName=aws["CatalogTable"])["Items"]
    return sorted((i for i in items if not i["pk"]["S"].startswith(("SNAPSHOT#", "CATALOG"))), key=str)


@pytest.mark.parametrize(
    "kind", ["other retailer's secret key", "other partner's key", "victim's own publishable key"]
)
def test_a_wrong_tenant_key_gets_nothing_on_any_admin_route(
    stores, aws, template, function_module, victim, kind
):
    intruder = seed_catalog(stores)
    key = {
        "other retailer's secret key": intruder.secret_key,
        "other partner's key": keys.create_partner_key(stores, intruder.partner_id).api_key,
        "victim's own publishable key": victim["seeded"].publishable_key,
    }[kind]
    bodies = _sample_bodies(victim["params"])
    before = _catalog_items(aws)
    secrets_to_hide = {victim["seeded"].webhook_secret, victim["seeded"].secret_key}
    walked = []
    for route in _admin_routes(template):
        path = route.path.format(**victim["params"])
        body = bodies.get(route.route_key)
        headers = {"authorization": f"Bearer {key}"}
        if route.path.endswith("/catalog/import"):
            headers["content-type"] = "application/x-ndjson"
        event = http_event(
            route.method,
            path,
            route_path=route.path,
            raw=body.encode() if body else b"",
            headers=headers,
        )
        status, _, answer = invoke(function_module("AdminFunction"), event)
        walked.append(route.route_key)
        assert status in {403, 404}, (route.route_key, status, answer)
        assert set(answer) == {"error"}, route.route_key
        text = json.dumps(answer)
        assert "Victim" not in text and not any(secret in text for secret in secrets_to_hide)
    # Nothing anywhere in the catalog changed: no key revoked or minted, no offer or rule touched
    assert _catalog_items(aws) == before
    assert len(walked) >= 30
    assert webhook_secret_id(victim["seeded"].webhook_secret) in {
        s.secret_id for s in webhook_secrets.list_webhook_secrets(stores, victim["seeded"].partner_id).items
    }


def test_the_platform_key_reaches_every_admin_route(stores, template, function_module, victim):
    """The walk above proves something only if the same requests succeed with the right key."""
    platform = create_platform_key(stores)
    bodies = _sample_bodies(victim["params"])
    for route in _admin_routes(template):
        if route.path.endswith("/revoke") or route.method == "DELETE":
            continue  # destructive: the sample-event test covers them
        path = route.path.format(**victim["params"])
        body = bodies.get(route.route_key)
        headers = {"authorization": f"Bearer {platform}"}
        if route.path.endswith("/catalog/import"):
            headers["content-type"] = "application/x-ndjson"
        event = http_event(
            route.method, path, route_path=route.path, raw=body.encode() if body else b"", headers=headers
        )
        status, _, answer = invoke(function_module("AdminFunction"), event)
        assert status in {200, 201, 409}, (route.route_key, status, answer)
