"""Secrets and PII never reach the logs, even at DEBUG and on the error paths."""

import io
import json
import logging
from datetime import UTC, datetime

from afterglow.observability import logger
from tests.utils import http_event, invoke, order, seed_catalog, signed_headers


def test_keys_secrets_and_emails_never_appear_in_logs(stores, function_module):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)  # the same JSON lines Lambda would ship
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        seeded = seed_catalog(stores)
        key = {"authorization": f"Bearer {seeded.publishable_key}"}
        body = order("pii-1", customer={"email": "Jane.Doe@example.com", "id": "cust-secret-77"})
        _, _, decision = invoke(
            function_module("DecideFunction"), http_event("POST", "/v1/decisions", body=body, headers=key)
        )
        invoke(
            function_module("DecideFunction"), http_event("POST", "/v1/decisions", body=body, headers=key)
        )  # replay
        invoke(
            function_module("DecideFunction"), http_event("POST", "/v1/decisions", raw=b"{bad", headers=key)
        )
        token = decision["offers"][0]["tracking_token"]
        click = invoke(
            function_module("TrackFunction"), http_event("GET", f"/v1/c/{token}", route_path="/v1/c/{token}")
        )
        click_id = click[1]["location"].rsplit("click_id=", 1)[1]
        raw = json.dumps(
            {"click_id": click_id, "conversion_id": "c-1", "occurred_at": datetime.now(UTC).isoformat()}
        ).encode()
        invoke(
            function_module("WebhooksFunction"),
            http_event(
                "POST",
                "/v1/webhooks/conversions",
                raw=raw,
                headers=signed_headers(seeded.webhook_secret, raw),
            ),
        )
        forged = {**signed_headers(seeded.webhook_secret, raw), "webhook-signature": "v1,AAAA"}
        invoke(
            function_module("WebhooksFunction"),
            http_event("POST", "/v1/webhooks/conversions", raw=raw, headers=forged),
        )
    finally:
        logger.setLevel(logging.WARNING)
        logger.removeHandler(handler)
    logs = stream.getvalue()
    assert "decision replayed" in logs  # the logs did record what happened
    for secret in (
        seeded.publishable_key,
        seeded.secret_key,
        seeded.webhook_secret,
        "jane.doe",
        "Jane.Doe",
        "cust-secret-77",
        token,
    ):
        assert secret not in logs, f"{secret[:12]}… leaked into the logs"
