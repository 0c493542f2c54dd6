"""Partner webhooks: verify (Standard Webhooks), attribute, record exactly once, log the delivery."""

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from afterglow.attribution import (
    Attributed,
    Click,
    OfferTerms,
    RecordedConversion,
    Refused,
    attribute,
    lock_time,
    reversal_amount,
)
from afterglow.errors import InvalidInput, StoreUnavailable
from afterglow.json_input import parse_json
from afterglow.models import (
    ConversionResult,
    ConversionWebhook,
    Delivery,
    DeliveryPage,
    PercentPayout,
    ReversalWebhook,
)
from afterglow.observability import logger, metrics
from afterglow.services.webhook_verification import (
    lookup_name,
    parse_partner_webhook,
    verify_partner_signature,
    webhook_id_of,
)
from afterglow.store import LedgerStore, Stores
from afterglow.store.dynamo import decode_cursor, encode_cursor
from afterglow.store.records import (
    ClickRecord,
    ConversionRecord,
    DeliveryRecord,
    RejectionRecord,
    ReversalRecord,
)

REVERSAL_TRIES = 10  # each lost race means another reversal of the conversion landed; read it again


def _click_in_body(ledger: LedgerStore, payload: Any) -> ClickRecord | None:
    """The click record the body names, if any (read once, used for routing and attribution)."""
    click_id = lookup_name(payload, "click_id")
    return ledger.find_click(click_id) if click_id else None


def click_from_record(record: ClickRecord | None) -> Click | None:
    """A click record as the domain sees it, with the offer's terms at click time."""
    if record is None:
        return None
    return Click(
        click_id=record.click_id,
        retailer_id=record.retailer_id,
        partner_id=record.partner_id,
        offer_id=record.offer_id,
        decision_id=record.decision_id,
        arm=record.arm,
        clicked_at=record.recorded_at,
        terms=OfferTerms(
            payout=record.payout,
            attribution_window_days=record.attribution_window_days,
            lock_days=record.lock_days,
            allow_repeat_conversions=record.allow_repeat_conversions,
        ),
        context=dict(record.context),
    )


def _conversion_from_record(record: ConversionRecord | None) -> RecordedConversion | None:
    if record is None:
        return None
    return RecordedConversion(
        payout_minor=record.payout_minor,
        currency=record.currency,
        amount_minor=record.amount_minor,
        reversed_minor=record.reversed_minor,
        locks_at=record.locks_at,
        refunded_minor=record.refunded_minor,
    )


def _duplicate(
    webhook: ConversionWebhook | ReversalWebhook, stored: ConversionRecord | ReversalRecord | None
) -> ConversionResult:
    """The answer to a repeat delivery: the money as it was recorded the first time (a resend may
    carry another amount, which changes nothing)."""
    return ConversionResult(
        status="duplicate",
        conversion_id=webhook.conversion_id,
        reversal_id=webhook.reversal_id if isinstance(webhook, ReversalWebhook) else None,
        payout_minor=stored.payout_minor if stored else None,
        currency=stored.currency if stored else None,
    )


class ConversionDesk:
    """Receives partner webhooks: one instance per request, stores passed in."""

    def __init__(self, stores: Stores) -> None:
        self.catalog = stores.catalog
        self.ledger = stores.ledger

    def receive(
        self, headers: Mapping[str, str], body: bytes, now: datetime | None = None
    ) -> ConversionResult:
        """Verify, then record a conversion or reversal once; every verified delivery is logged."""
        payload = parse_json(body)  # once, for routing, verification and validation
        webhook_id = webhook_id_of(headers)
        click_record = _click_in_body(self.ledger, payload)
        partner_id = verify_partner_signature(self.catalog, headers, body, payload, click_record)
        webhook = parse_partner_webhook(payload)
        if webhook.partner_id not in (None, partner_id):
            raise InvalidInput("partner_id does not match the signing partner", field="partner_id")
        moment = now or datetime.now(UTC)
        if isinstance(webhook, ConversionWebhook):
            result = self._conversion(partner_id, webhook, moment, click_record)
        else:
            result = self._reversal(partner_id, webhook, moment)
        self._log_delivery(partner_id, webhook_id, webhook, result, moment)
        metrics.add_metric(name=f"Webhook_{webhook.type}_{result.status}", unit="Count", value=1)
        return result

    def _conversion(
        self,
        partner_id: str,
        webhook: ConversionWebhook,
        now: datetime,
        click_record: ClickRecord | None,
    ) -> ConversionResult:
        click = click_from_record(click_record)
        if click is not None and isinstance(click.terms.payout, PercentPayout):
            click = replace(click, currency=self._shop_currency(click.retailer_id))
        verdict = attribute(webhook, partner_id, click, now)
        if isinstance(verdict, Refused):
            # A resend of a conversion recorded earlier is that conversion, whatever it now says
            # (the window may have closed since): a duplicate, not a refusal to reconcile.
            recorded = self.ledger.find_conversion(partner_id, webhook.conversion_id)
            if recorded is not None:
                return _duplicate(webhook, recorded)
            return self._reject_conversion(partner_id, webhook, click, verdict, now)
        assert click is not None
        status, recorded_before = self.ledger.record_conversion(
            ConversionRecord(
                partner_id=partner_id,
                conversion_id=webhook.conversion_id,
                click_id=webhook.click_id,
                retailer_id=click.retailer_id,
                offer_id=click.offer_id,
                decision_id=click.decision_id,
                arm=click.arm,
                action=webhook.action.value,
                occurred_at=webhook.occurred_at,
                payout_minor=verdict.payout_minor,
                currency=verdict.currency,
                amount_minor=webhook.amount_minor,
                locks_at=lock_time(now, click.terms.lock_days),
                context=click.context,  # what learning counts it under (the aggregator folds the ledger)
                recorded_at=now,
            ),
            once_per_click_action=not click.terms.allow_repeat_conversions,
        )
        if status == "repeat":
            return self._reject_conversion(
                partner_id, webhook, click, Refused("click_already_converted_for_this_action"), now
            )
        if status == "duplicate":
            return _duplicate(webhook, recorded_before)
        return ConversionResult(
            status="recorded",
            conversion_id=webhook.conversion_id,
            payout_minor=verdict.payout_minor,
            currency=verdict.currency,
        )

    def _shop_currency(self, retailer_id: str) -> str | None:
        """The currency a retailer sells in (one read, for percentage payouts only)."""
        retailer = self.catalog.get("RETAILER", retailer_id)
        return str(retailer["currency"]) if retailer else None

    def _reversal(self, partner_id: str, webhook: ReversalWebhook, now: datetime) -> ConversionResult:
        # Each try reads the conversion's totals and writes only if they are still those: a reversal
        # of the same conversion landing in between sends this one round again, with the new totals.
        for _ in range(REVERSAL_TRIES):
            record = self.ledger.find_conversion(partner_id, webhook.conversion_id)
            reversed_before = (
                self.ledger.find_reversal(partner_id, webhook.reversal_id) if record is not None else None
            )
            if reversed_before is not None:
                return _duplicate(webhook, reversed_before)
            conversion = _conversion_from_record(record)
            verdict = reversal_amount(webhook, conversion, now)
            if isinstance(verdict, Refused):
                rejection = RejectionRecord(
                    partner_id=partner_id,
                    conversion_id=webhook.conversion_id,
                    reversal_id=webhook.reversal_id,
                    retailer_id=record.retailer_id if record else "-",
                    offer_id=None,
                    reason=verdict.reason,
                    recorded_at=now,
                )
                return self._reject(
                    rejection,
                    ConversionResult(
                        status="rejected",
                        reason=verdict.reason,
                        conversion_id=webhook.conversion_id,
                        reversal_id=webhook.reversal_id,
                    ),
                )
            assert record is not None and conversion is not None
            status = self.ledger.record_reversal(
                ReversalRecord(
                    partner_id=partner_id,
                    conversion_id=webhook.conversion_id,
                    reversal_id=webhook.reversal_id,
                    retailer_id=record.retailer_id,
                    offer_id=record.offer_id,
                    decision_id=record.decision_id,
                    arm=record.arm,
                    occurred_at=webhook.occurred_at,
                    payout_minor=-verdict.payout_minor,
                    currency=verdict.currency,
                    refund_amount_minor=webhook.amount_minor,
                    recorded_at=now,
                ),
                refund_minor=verdict.refund_minor,
                conversion_as_read=record,
            )
            if status == "duplicate":  # a concurrent delivery of this reversal recorded it first
                return _duplicate(webhook, self.ledger.find_reversal(partner_id, webhook.reversal_id))
            if status == "recorded":
                return ConversionResult(
                    status="recorded",
                    conversion_id=webhook.conversion_id,
                    reversal_id=webhook.reversal_id,
                    payout_minor=-verdict.payout_minor,
                    currency=verdict.currency,
                )
        raise StoreUnavailable("other reversals of this conversion are being recorded; retry")

    def _reject_conversion(
        self,
        partner_id: str,
        webhook: ConversionWebhook,
        click: Click | None,
        refused: Refused,
        now: datetime,
    ) -> ConversionResult:
        """Keep a refused conversion (see `_reject`)."""
        rejection = RejectionRecord(
            partner_id=partner_id,
            conversion_id=webhook.conversion_id,
            click_id=webhook.click_id,
            retailer_id=click.retailer_id if click else "-",
            offer_id=click.offer_id if click else None,
            reason=refused.reason,
            recorded_at=now,
        )
        return self._reject(
            rejection,
            ConversionResult(status="rejected", reason=refused.reason, conversion_id=webhook.conversion_id),
        )

    def _reject(self, rejection: RejectionRecord, result: ConversionResult) -> ConversionResult:
        """Keep a refused webhook for reconciliation (once) and answer 200: retrying cannot help."""
        self.ledger.record_rejection(rejection)
        logger.info(
            "partner webhook rejected",
            extra={"partner_id": rejection.partner_id, "reason": rejection.reason},
        )
        return result

    def _log_delivery(
        self,
        partner_id: str,
        webhook_id: str,
        webhook: ConversionWebhook | ReversalWebhook,
        result: ConversionResult,
        now: datetime,
    ) -> None:
        reference = webhook.reversal_id if isinstance(webhook, ReversalWebhook) else webhook.conversion_id
        self.ledger.log_delivery(
            DeliveryRecord(
                partner_id=partner_id,
                webhook_id=webhook_id,
                type=webhook.type,
                partner_reference=reference,
                outcome=result.status,
                reason=result.reason,
                recorded_at=now,
            )
        )


def delivery_log(ledger: LedgerStore, partner_id: str, *, cursor: str | None, limit: int) -> DeliveryPage:
    """One page of a partner's delivery log, newest first."""
    try:
        start = decode_cursor(cursor)
        items, last_key = ledger.delivery_page(partner_id, cursor=start, limit=limit)
    except ValueError as error:
        raise InvalidInput(str(error), field="cursor") from error
    deliveries = [
        Delivery(
            webhook_id=item.webhook_id,
            received_at=item.recorded_at,
            type=item.type,
            partner_reference=item.partner_reference,
            outcome=item.outcome,
            reason=item.reason,
        )
        for item in items
    ]
    return DeliveryPage(items=deliveries, next_cursor=encode_cursor(last_key))


def receive_conversion(stores: Stores, headers: Mapping[str, str], body: bytes) -> ConversionResult:
    """Verify, attribute and record one partner webhook; a repeat delivery is recorded once."""
    return ConversionDesk(stores).receive(headers, body)


__all__ = ["Attributed", "ConversionDesk", "click_from_record", "receive_conversion"]
