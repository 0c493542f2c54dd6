"""Partner conversion webhooks: verify (Standard Webhooks), attribute, record exactly once."""

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from standardwebhooks import Webhook

from afterglow.attribution import Attributed, Click, attribute
from afterglow.errors import InvalidInput, NotFound, Unauthorized
from afterglow.models import ConversionResult, ConversionWebhook, Offer
from afterglow.observability import logger, metrics
from afterglow.services.admin import load_offer, partner_webhook_secrets
from afterglow.store import CatalogStore, LedgerStore

PARTNER_HEADER = "afterglow-partner"


def _claimed_partner(ledger: LedgerStore, headers: Mapping[str, str], body: bytes) -> str | None:
    """Which partner says it sent this: its header, else the owner of the click in the body.

    Nothing here is trusted yet; it only chooses whose secrets the signature is checked against.
    """
    if headers.get(PARTNER_HEADER):
        return headers[PARTNER_HEADER]
    try:
        click_id = json.loads(body).get("click_id")
    except (ValueError, AttributeError):
        return None
    click = ledger.get(f"CLICK#{click_id}") if isinstance(click_id, str) and click_id else None
    return str(click["partner_id"]) if click else None


def verify_partner_signature(
    catalog: CatalogStore, ledger: LedgerStore, headers: Mapping[str, str], body: bytes
) -> str:
    """The partner whose current secret signed these exact bytes, or `Unauthorized` (no details)."""
    partner_id = _claimed_partner(ledger, headers, body)
    secrets = partner_webhook_secrets(catalog, partner_id) if partner_id else []
    for secret in secrets:
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
        except Exception:  # noqa: S112 - any failure means "not this secret"; try the next one
            continue
        assert partner_id is not None
        return partner_id
    raise Unauthorized("invalid webhook signature")


def parse_conversion(body: bytes) -> ConversionWebhook:
    """The webhook body as a model; 400/422 naming the field when it is not one."""
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise InvalidInput("body is not valid JSON", field="body") from error
    try:
        return ConversionWebhook.model_validate(payload)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidInput(f"{field}: {first['msg']}", field=field) from error


def _click(record: dict[str, Any] | None) -> Click | None:
    if record is None:
        return None
    return Click(
        click_id=record["click_id"],
        retailer_id=record["retailer_id"],
        partner_id=record["partner_id"],
        offer_id=record["offer_id"],
        decision_id=record["decision_id"],
        arm=record["arm"],
        clicked_at=datetime.fromisoformat(record["at"]),
    )


def receive_conversion(
    catalog: CatalogStore, ledger: LedgerStore, headers: Mapping[str, str], body: bytes
) -> ConversionResult:
    """Verify, attribute and record one conversion webhook; a repeat delivery is recorded once."""
    partner_id = verify_partner_signature(catalog, ledger, headers, body)
    conversion = parse_conversion(body)
    click = _click(ledger.get(f"CLICK#{conversion.click_id}"))
    offer: Offer | None = None
    if click is not None:
        try:
            offer = load_offer(catalog, click.offer_id)
        except NotFound:
            offer = None
    verdict = attribute(conversion, partner_id, click, offer)
    now = datetime.now(UTC)
    common = {
        "partner_id": partner_id,
        "conversion_id": conversion.conversion_id,
        "click_id": conversion.click_id,
        "action": conversion.action.value,
        "occurred_at": conversion.occurred_at.astimezone(UTC).isoformat(),
        "webhook_id": headers.get("webhook-id"),
    }
    key_suffix = f"{partner_id}#{conversion.conversion_id}"
    if isinstance(verdict, Attributed):
        assert click is not None and offer is not None
        existing = ledger.record_once(
            f"CONVERSION#{key_suffix}",
            "conversion",
            now,
            {
                **common,
                "retailer_id": click.retailer_id,
                "offer_id": click.offer_id,
                "decision_id": click.decision_id,
                "arm": click.arm,
                "payout_minor": verdict.payout_minor,
                "currency": verdict.currency,
                "amount_minor": conversion.amount_minor,
                "status": "pending",
                "lock_days": offer.lock_days,
            },
        )
        status = "duplicate" if existing is not None else "recorded"
        metrics.add_metric(name=f"Conversion_{status}", unit="Count", value=1)
        return ConversionResult(
            status=status,
            conversion_id=conversion.conversion_id,
            payout_minor=verdict.payout_minor,
            currency=verdict.currency,
        )
    # Refused for a business reason: kept for reconciliation, answered 200 so the partner stops retrying.
    ledger.record_once(
        f"REJECTED#{key_suffix}",
        "rejected_conversion",
        now,
        {
            **common,
            "retailer_id": click.retailer_id if click else "-",
            "offer_id": click.offer_id if click else None,
            "reason": verdict.reason,
        },
    )
    logger.info("conversion rejected", extra={"partner_id": partner_id, "reason": verdict.reason})
    metrics.add_metric(name="Conversion_rejected", unit="Count", value=1)
    return ConversionResult(status="rejected", reason=verdict.reason, conversion_id=conversion.conversion_id)
