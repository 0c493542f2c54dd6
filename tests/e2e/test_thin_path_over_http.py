"""The walking skeleton's path, over HTTP against `afterglow local`, with the Standard Webhooks
reference library as the partner's signer and the `afterglow` CLI for reconciliation."""

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from afterglow_dev.local.load import signed_webhook_headers

pytestmark = pytest.mark.e2e


def test_admin_to_decision_to_click_to_conversion_to_report(local_stack):
    api = local_stack["AFTERGLOW_API_URL"]
    admin = {"Authorization": f"Bearer {local_stack['AFTERGLOW_ADMIN_KEY']}"}

    # Given a retailer, a partner and an offer created through the admin API
    response = requests.post(
        f"{api}/v1/admin/retailers",
        json={"name": "E2E Shop", "currency": "GBP", "experiment": {"holdout": 0, "mixed": 100}},
        headers=admin,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    shop = response.json()
    partner = requests.post(
        f"{api}/v1/admin/partners", json={"name": "Tent Club"}, headers=admin, timeout=10
    ).json()
    offer_body = {
        "partner_id": partner["partner"]["partner_id"],
        "category": "streaming",
        "creative": {"title": "Join Tent Club"},
        "landing_url": "https://tentclub.example/join",
        "payout": {"type": "fixed", "currency": "GBP", "amounts": {"signup": 350}},
    }
    offer = requests.post(f"{api}/v1/admin/offers", json=offer_body, headers=admin, timeout=10).json()

    # When the storefront asks for offers for a books order (streaming is related; no demo offer is)
    order = {
        "order_id": "e2e-1",
        "order_value_minor": 18000,
        "currency": "GBP",
        "line_items": [{"sku": "NOVEL", "category": "books", "price_minor": 18000}],
    }
    storefront = {"Authorization": f"Bearer {shop['publishable_key']}"}
    decision = requests.post(f"{api}/v1/decisions", json=order, headers=storefront, timeout=10).json()
    assert [o["offer_id"] for o in decision["offers"]] == [offer["offer_id"]]

    # Then the click redirects to the partner with a click id
    click = requests.get(decision["offers"][0]["click_url"], allow_redirects=False, timeout=10)
    assert click.status_code == 302
    location = urlsplit(click.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "tentclub.example", "/join")
    click_id = parse_qs(location.query)["click_id"][0]

    # And the partner's signed conversion is recorded once; a forged one is refused
    body = json.dumps(
        {
            "click_id": click_id,
            "conversion_id": "tc-1",
            "action": "signup",
            "occurred_at": datetime.now(UTC).isoformat(),
        }
    )
    secret = partner["webhook_secret"]
    url = f"{api}/v1/webhooks/conversions"
    first = requests.post(url, data=body, headers=signed_webhook_headers(secret, "msg_1", body), timeout=10)
    again = requests.post(url, data=body, headers=signed_webhook_headers(secret, "msg_1", body), timeout=10)
    assert (first.status_code, first.json()["status"]) == (200, "recorded")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    forged = signed_webhook_headers("whsec_" + "A" * 43 + "=", "msg_2", body)
    assert requests.post(url, data=body, headers=forged, timeout=10).status_code == 401

    # And `afterglow reconcile` for today writes a report whose totals match the ledger
    env = {
        **os.environ,
        **{k: v for k, v in local_stack.items() if k.isupper() and "_" in k and k != "ENV_FILE"},
    }
    today = datetime.now(UTC).date().isoformat()
    cli = Path(sys.executable).with_name("afterglow")
    subprocess.run([cli, "reconcile", "--date", today], env=env, check=True, capture_output=True, timeout=60)
    s3 = boto3.client("s3", endpoint_url=local_stack["AWS_ENDPOINT_URL"], region_name="us-east-1")
    key = f"reports/daily/dt={today}/aggregates.csv"
    rows = list(
        csv.DictReader(
            io.StringIO(s3.get_object(Bucket=local_stack["REPORTS_BUCKET"], Key=key)["Body"].read().decode())
        )
    )
    ours = [row for row in rows if row["retailer_id"] == shop["retailer"]["retailer_id"]]
    assert sum(int(r["decisions"]) for r in ours) == 1
    assert sum(int(r["clicks"]) for r in ours) == 1
    paid = [r for r in ours if r["conversions"] != "0"]
    assert [(r["offer_id"], r["currency"], r["conversions"], r["gross_minor"]) for r in paid] == [
        (offer["offer_id"], "GBP", "1", "350")
    ]


def test_bad_input_gets_json_errors_naming_the_field(local_stack):
    api = local_stack["AFTERGLOW_API_URL"]
    storefront = {"Authorization": f"Bearer {local_stack['AFTERGLOW_DEMO_PUBLISHABLE_KEY']}"}
    malformed = requests.post(
        f"{api}/v1/decisions",
        data="{not json",
        headers={**storefront, "content-type": "application/json"},
        timeout=10,
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_json"
    wrong_type = requests.post(
        f"{api}/v1/decisions",
        json={"order_id": "x", "order_value_minor": "lots"},
        headers=storefront,
        timeout=10,
    )
    assert wrong_type.status_code == 422
    assert wrong_type.json()["error"]["field"] == "order_value_minor"
    no_key = requests.post(f"{api}/v1/decisions", json={}, timeout=10)
    assert no_key.status_code == 401
    unknown_route = requests.get(f"{api}/v1/nowhere", timeout=10)
    assert unknown_route.status_code == 404 and "error" in unknown_route.json()
    bad_token = requests.get(f"{api}/v1/c/not-a-real-token-at-all", allow_redirects=False, timeout=10)
    assert bad_token.status_code == 401 and "location" not in bad_token.headers


def test_openapi_document_lists_every_route(local_stack):
    document = requests.get(f"{local_stack['AFTERGLOW_API_URL']}/v1/openapi.json", timeout=10).json()
    assert {"/v1/decisions", "/v1/c/{token}", "/v1/webhooks/conversions", "/v1/admin/offers"} <= set(
        document["paths"]
    )


def test_the_curl_example_printed_at_startup_returns_offers(local_stack):
    # Given the curl command `afterglow local` printed for a newcomer
    printed = local_stack["STARTUP_OUTPUT"]
    url = re.search(r"curl -s -X POST (\S+)", printed).group(1)
    key = re.search(r"Authorization: Bearer (\S+?)'", printed).group(1)
    body = re.search(r"-d '(.+)'", printed).group(1)
    # When it is sent
    response = requests.post(
        url,
        data=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=10,
    )
    # Then it returns at least one offer with a click link
    assert response.status_code == 200, response.text
    offers = response.json()["offers"]
    assert offers and all(o["click_url"].startswith(local_stack["AFTERGLOW_API_URL"]) for o in offers)
