"""Every route and the schedule have a sample event in events/, and each handler answers it."""

import json
from datetime import UTC, datetime
from pathlib import Path
from string import Template as Placeholders
from typing import Any

import pytest

from afterglow.services import keys, webhook_secrets
from afterglow.services.keys import create_platform_key
from afterglow_dev.local.gateway import FakeLambdaContext
from tests.utils import GIFT_SURVEY, NPS_QUESTION, accept_add_on, invoke, seed_catalog, signed_headers

EVENTS = Path(__file__).resolve().parents[2] / "events"

# sample event -> (function, expected status)
EXPECTED = {
    "decide_post_decision": ("DecideFunction", 200),
    "track_get_click": ("TrackFunction", 302),
    "webhooks_post_conversion": ("WebhooksFunction", 200),
    "admin_get_openapi": ("AdminFunction", 200),
    "admin_create_retailer": ("AdminFunction", 201),
    "admin_list_retailers": ("AdminFunction", 200),
    "admin_get_retailer": ("AdminFunction", 200),
    "admin_create_partner": ("AdminFunction", 201),
    "admin_list_partners": ("AdminFunction", 200),
    "admin_get_partner": ("AdminFunction", 200),
    "admin_create_offer": ("AdminFunction", 201),
    "admin_list_offers": ("AdminFunction", 200),
    "admin_get_offer": ("AdminFunction", 200),
    "admin_list_deliveries": ("AdminFunction", 200),
    "admin_put_rules": ("AdminFunction", 200),
    "admin_get_audit": ("AdminFunction", 200),
    "admin_post_suppression": ("AdminFunction", 200),
    "admin_partner_status": ("AdminFunction", 200),
    "admin_offer_status": ("AdminFunction", 200),
    "admin_retailer_status": ("AdminFunction", 200),
    "admin_list_partner_keys": ("AdminFunction", 200),
    "admin_create_partner_key": ("AdminFunction", 201),
    "admin_revoke_partner_key": ("AdminFunction", 200),
    "admin_update_retailer": ("AdminFunction", 200),
    "admin_list_retailer_keys": ("AdminFunction", 200),
    "admin_create_retailer_key": ("AdminFunction", 201),
    "admin_revoke_retailer_key": ("AdminFunction", 200),
    "admin_list_first_party_offers": ("AdminFunction", 200),
    "admin_create_first_party_offer": ("AdminFunction", 201),
    "admin_update_partner": ("AdminFunction", 200),
    "admin_list_partner_offers": ("AdminFunction", 200),
    "admin_list_webhook_secrets": ("AdminFunction", 200),
    "admin_add_webhook_secret": ("AdminFunction", 201),
    "admin_remove_webhook_secret": ("AdminFunction", 200),
    "admin_update_offer": ("AdminFunction", 200),
    "admin_import_catalog": ("AdminFunction", 200),
    "admin_list_platform_keys": ("AdminFunction", 200),
    "admin_create_platform_key": ("AdminFunction", 201),
    "admin_revoke_platform_key": ("AdminFunction", 200),
    "decide_preflight": ("DecideFunction", 204),
    "track_preflight_events": ("TrackFunction", 204),
    "track_post_events": ("TrackFunction", 200),
    "track_get_sdk": ("TrackFunction", 200),
    "track_get_satisfaction_link": ("TrackFunction", 200),
    "track_get_open_pixel": ("TrackFunction", 200),
    "track_post_return": ("TrackFunction", 200),
}


def _load(name: str, values: dict[str, str]) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(
        Placeholders((EVENTS / f"{name}.json").read_text()).safe_substitute(values)
    )
    return event


def test_every_template_route_has_exactly_one_sample_event(template):
    routes = {route.route_key for route in template.routes()}
    sampled = {
        json.loads(path.read_text())["routeKey"]
        for path in EVENTS.glob("*.json")
        if "routeKey" in json.loads(path.read_text())
    }
    assert sampled == routes
    not_http = ("reconcile", "aggregate", "train")
    assert set(EXPECTED) == {p.stem for p in EVENTS.glob("*.json") if not p.stem.startswith(not_http)}


@pytest.fixture
def placeholders(stores, function_module) -> dict[str, str]:
    """Real keys, ids and a real click, so that every sample event can succeed."""
    # the survey's answer is true; the one-tap link answers the NPS question
    seeded = seed_catalog(stores, category="coffee", survey=GIFT_SURVEY, satisfaction=NPS_QUESTION)
    status, _, decision = invoke(
        function_module("DecideFunction"),
        _load("decide_post_decision", {"PUBLISHABLE_KEY": seeded.publishable_key}),
    )
    assert status == 200 and decision["offers"], decision
    token = decision["offers"][0]["tracking_token"]
    decision_token = decision["decision_token"]
    _, headers, _ = invoke(
        function_module("TrackFunction"), _load("track_get_click", {"TRACKING_TOKEN": token})
    )
    click_id = headers["location"].rsplit("click_id=", 1)[1]
    spare_key = keys.create_retailer_key(stores, seeded.retailer_id, "secret")
    spare_secret = webhook_secrets.add_webhook_secret(stores, seeded.partner_id)
    add_on = accept_add_on(stores, seeded, decision_id="dec_sample_add_on")  # for the return
    return {
        "ADMIN_KEY": create_platform_key(stores),
        "KEY_ID": spare_key.key.key_id,
        "PLATFORM_KEY_ID": keys.create_platform_key_record(stores).key.key_id,
        "PARTNER_KEY_ID": keys.create_partner_key(stores, seeded.partner_id).key.key_id,
        "SECRET_ID": spare_secret.secret_id,
        "PUBLISHABLE_KEY": seeded.publishable_key,
        "SECRET_KEY": seeded.secret_key,
        "ADD_ON_OFFER_ID": add_on,
        "ADD_ON_DECISION_ID": "dec_sample_add_on",
        "TRACKING_TOKEN": token,
        "DECISION_TOKEN": decision_token,
        "CLICK_ID": click_id,
        "OCCURRED_AT": datetime.now(UTC).isoformat(),
        "RETAILER_ID": seeded.retailer_id,
        "PARTNER_ID": seeded.partner_id,
        "OFFER_ID": seeded.offer_id,
        "WEBHOOK_SECRET": seeded.webhook_secret,
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_handler_answers_its_sample_event(name, placeholders, function_module):
    function, expected_status = EXPECTED[name]
    event = _load(name, placeholders)
    if name == "webhooks_post_conversion":
        body = event["body"].encode()
        signed = signed_headers(placeholders["WEBHOOK_SECRET"], body, msg_id="msg_sample")
        event = _load(name, {**placeholders, **{k.replace("-", "_").upper(): v for k, v in signed.items()}})
    status, _, body = invoke(function_module(function), event)
    assert status == expected_status, body
    if name == "webhooks_post_conversion":
        assert body["status"] == "recorded" and body["payout_minor"] == 1500
    if name == "track_post_events":
        assert [r["status"] for r in body["results"]] == ["accepted"] * 3
    if name == "track_post_return":
        assert (body["status"], body["returned_minor"]) == ("recorded", 1299)


def test_the_aggregator_and_the_trainer_answer_their_sample_events(stores, function_module, placeholders):
    # Given the ledger stream's sample batch (one decision that showed the seeded offer)
    batch = _load("aggregate_stream", placeholders)
    # When the aggregator folds it, twice (a redelivery), and the trainer runs on its schedule
    for _ in range(2):
        answer = function_module("AggregateFunction").lambda_handler(batch, FakeLambdaContext("aggregate"))
        assert answer == {"batchItemFailures": []}
    schedule = json.loads((EVENTS / "train_schedule.json").read_text())
    trained = function_module("TrainFunction").lambda_handler(schedule, FakeLambdaContext("train"))
    # Then the exposure is counted once and the model is published
    assert trained["status"] == "ok" and trained["published"] is True
    rows = {row["sk"]: row for row in stores.learning.counters(placeholders["OFFER_ID"])}
    assert rows["purchase_category=kitchen"]["shown"] == 1


@pytest.mark.parametrize("name", ["reconcile_schedule", "reconcile_backfill"])
def test_reconcile_answers_its_sample_event(name, stores, function_module):
    event = json.loads((EVENTS / f"{name}.json").read_text())
    result = function_module("ReconcileFunction").lambda_handler(event, FakeLambdaContext("reconcile"))
    assert result["status"] == "ok"
    first_day = "2026-11-26" if name == "reconcile_schedule" else "2026-11-01"
    assert result["days"][0] == first_day
    assert stores.reports.get(f"reports/daily/dt={first_day}/manifest.json") is not None


WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def _tables(operation: str, params: dict[str, Any]) -> set[str]:
    if "TableName" in params:
        return {params["TableName"]}
    if operation in {"BatchWriteItem", "BatchGetItem"}:
        return set(params["RequestItems"])
    if operation == "TransactWriteItems":
        return {next(iter(item.values()))["TableName"] for item in params["TransactItems"]}
    return set()


def _granted(template, function: str, *kinds: str) -> set[str]:
    policies = template.document["Resources"][function]["Properties"].get("Policies", [])
    return {policy[kind]["TableName"]["Ref"] for policy in policies for kind in kinds if kind in policy}


NOT_HTTP = {"AggregateFunction": "aggregate_stream", "TrainFunction": "train_schedule"}


@pytest.mark.parametrize(
    "function", ["DecideFunction", "TrackFunction", "WebhooksFunction", "AdminFunction", *NOT_HTTP]
)
def test_each_function_may_use_every_table_its_code_uses(
    function, template, stores, aws, placeholders, function_module
):
    # Given every DynamoDB call the function's sample events make, by table
    written: set[str] = set()
    read: set[str] = set()

    def record(params, model, **_):
        (written if model.name in WRITES else read).update(_tables(model.name, params))

    for client in {id(c): c for c in (stores.catalog._ddb, stores.decisions._ddb)}.values():
        client.meta.events.register("provide-client-params.dynamodb.*", record)
    for name, (owner, _) in EXPECTED.items():
        if owner == function:
            event = _load(name, placeholders)
            if name == "webhooks_post_conversion":
                signed = signed_headers(
                    placeholders["WEBHOOK_SECRET"], event["body"].encode(), msg_id="msg_iam"
                )
                event = _load(
                    name, {**placeholders, **{k.replace("-", "_").upper(): v for k, v in signed.items()}}
                )
            invoke(function_module(function), event)
    if function in NOT_HTTP:
        function_module(function).lambda_handler(
            _load(NOT_HTTP[function], placeholders), FakeLambdaContext("x")
        )
    # Then the template grants it read-write access to each table it writes, read access to the rest
    logical = {physical: logical_id for logical_id, physical in aws.items()}
    assert written and read, function
    assert {logical[t] for t in written} <= _granted(template, function, "DynamoDBCrudPolicy")
    assert {logical[t] for t in read} <= _granted(
        template, function, "DynamoDBCrudPolicy", "DynamoDBReadPolicy"
    )
