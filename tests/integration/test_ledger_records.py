"""The ledger's typed records round-trip through DynamoDB (moto) as the very attributes the ledger
held before they were typed: reconciliation and the learning aggregator read those names from the
ledger and its stream, and records written before keep reading."""

from datetime import UTC, datetime, timedelta, timezone

from afterglow.models import FixedPayout, PercentPayout
from afterglow.store.records import (
    ClickRecord,
    ConversionRecord,
    DeliveryRecord,
    EventRecord,
    RejectionRecord,
    ReversalRecord,
)

AT = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
PARIS = timezone(timedelta(hours=1))
ENVELOPE = ("at", "at_pk", "expires_at", "day_shard", "write_id")


def _stored(stores, pk):
    """The item as DynamoDB holds it, without the envelope every record shares."""
    item = stores.ledger.get(pk)
    assert item is not None and item["pk"] == pk and item["at"] == item["at_pk"].split("#")[0]
    return {name: value for name, value in item.items() if name not in ENVELOPE}


def _click(**changes):
    fields = {
        "click_id": "clk_1",
        "retailer_id": "ret_1",
        "partner_id": "par_1",
        "offer_id": "off_1",
        "decision_id": "dec_1",
        "arm": "mixed",
        "context": {"purchase_category": "coffee", "order_value": 42.5},
        "payout": FixedPayout(currency="EUR", amounts={"signup": 700, "first_purchase": 1500}),
        "attribution_window_days": 30,
        "lock_days": 14,
        "allow_repeat_conversions": False,
        "recorded_at": AT,
    }
    return ClickRecord(**{**fields, **changes})


def _conversion(**changes):
    fields = {
        "partner_id": "par_1",
        "conversion_id": "c-1",
        "click_id": "clk_1",
        "retailer_id": "ret_1",
        "offer_id": "off_1",
        "decision_id": "dec_1",
        "arm": "mixed",
        "action": "first_purchase",
        "occurred_at": datetime(2026, 3, 4, 6, 0, tzinfo=PARIS),
        "payout_minor": 1500,
        "currency": "EUR",
        "amount_minor": 10_000,
        "locks_at": AT + timedelta(days=14),
        "context": {"purchase_category": "coffee"},
        "recorded_at": AT,
    }
    return ConversionRecord(**{**fields, **changes})


def test_a_click_is_stored_as_before_and_found_by_its_id(stores):
    click = _click()
    assert stores.ledger.record_click(click) is True
    assert _stored(stores, "CLICK#clk_1") == {
        "pk": "CLICK#clk_1",
        "kind": "click",
        "retailer_id": "ret_1",
        "partner_id": "par_1",
        "offer_id": "off_1",
        "decision_id": "dec_1",
        "arm": "mixed",
        "context": {"purchase_category": "coffee", "order_value": 42.5},
        "payout": {"type": "fixed", "currency": "EUR", "amounts": {"signup": 700, "first_purchase": 1500}},
        "attribution_window_days": 30,
        "lock_days": 14,
        "allow_repeat_conversions": False,
        "click_id": "clk_1",
    }
    assert stores.ledger.find_click("clk_1") == click
    # A second write of the same click keeps the first
    assert stores.ledger.record_click(_click(arm="holdout")) is False
    assert stores.ledger.find_click("clk_1") == click
    assert stores.ledger.find_click("clk_unknown") is None


def test_a_percentage_click_keeps_its_terms(stores):
    click = _click(click_id="clk_2", payout=PercentPayout(bps=1000), allow_repeat_conversions=True)
    stores.ledger.record_click(click)
    stored = _stored(stores, "CLICK#clk_2")["payout"]
    assert stored == {"type": "percent", "bps": 1000, "actions": ["first_purchase"]}
    assert stores.ledger.find_click("clk_2") == click


def test_a_conversion_is_stored_as_before_and_its_reversal_moves_its_totals(stores):
    conversion = _conversion()
    assert stores.ledger.record_conversion(conversion, once_per_click_action=True) == ("recorded", None)
    assert _stored(stores, "CONVERSION#par_1#c-1") == {
        "pk": "CONVERSION#par_1#c-1",
        "kind": "conversion",
        "partner_id": "par_1",
        "conversion_id": "c-1",
        "click_id": "clk_1",
        "retailer_id": "ret_1",
        "offer_id": "off_1",
        "decision_id": "dec_1",
        "arm": "mixed",
        "action": "first_purchase",
        "occurred_at": "2026-03-04T05:00:00+00:00",  # in UTC, as every conversion
        "payout_minor": 1500,
        "currency": "EUR",
        "amount_minor": 10_000,
        "status": "pending",
        "locks_at": "2026-03-18T05:06:07.891011+00:00",
        "context": {"purchase_category": "coffee"},
    }
    found = stores.ledger.find_conversion("par_1", "c-1")
    assert found == conversion
    # A resend is the conversion recorded first; another id for the same click × action a repeat
    assert stores.ledger.record_conversion(_conversion(payout_minor=1), once_per_click_action=True) == (
        "duplicate",
        conversion,
    )
    assert stores.ledger.record_conversion(_conversion(conversion_id="c-2"), once_per_click_action=True) == (
        "repeat",
        None,
    )

    reversal = ReversalRecord(
        partner_id="par_1",
        conversion_id="c-1",
        reversal_id="r-1",
        retailer_id="ret_1",
        offer_id="off_1",
        decision_id="dec_1",
        arm="mixed",
        occurred_at=AT,
        payout_minor=-375,
        currency="EUR",
        refund_amount_minor=2_500,
        recorded_at=AT + timedelta(days=1),
    )
    assert stores.ledger.record_reversal(reversal, refund_minor=2_500, conversion_as_read=found) == "recorded"
    assert _stored(stores, "REVERSAL#par_1#r-1") == {
        "pk": "REVERSAL#par_1#r-1",
        "kind": "reversal",
        "partner_id": "par_1",
        "conversion_id": "c-1",
        "reversal_id": "r-1",
        "retailer_id": "ret_1",
        "offer_id": "off_1",
        "decision_id": "dec_1",
        "arm": "mixed",
        "occurred_at": "2026-03-04T05:06:07.891011+00:00",
        "payout_minor": -375,
        "currency": "EUR",
        "refund_amount_minor": 2_500,
    }
    assert stores.ledger.find_reversal("par_1", "r-1") == reversal
    reversed_conversion = stores.ledger.find_conversion("par_1", "c-1")
    assert (reversed_conversion.reversed_minor, reversed_conversion.refunded_minor) == (375, 2_500)
    # A reversal computed from the totals before this one is told to read them again
    second = ReversalRecord(**{**reversal.__dict__, "reversal_id": "r-2", "refund_amount_minor": None})
    assert stores.ledger.record_reversal(second, refund_minor=0, conversion_as_read=found) == "changed"
    assert stores.ledger.find_reversal("par_1", "r-2") is None


def test_conversions_move_along_their_lifecycle_and_keep_reading(stores):
    stores.ledger.record_conversion(_conversion(amount_minor=None), once_per_click_action=False)
    assert "amount_minor" not in _stored(stores, "CONVERSION#par_1#c-1")  # None is never written
    assert stores.ledger.advance_conversion("par_1", "c-1", "invoiced", invoice_number="AG-2026-03-0001")
    found = stores.ledger.find_conversion("par_1", "c-1")
    assert (found.status, found.invoice_number, found.amount_minor) == ("invoiced", "AG-2026-03-0001", None)


def test_a_conversion_written_before_records_were_typed_still_reads(stores):
    # Given a conversion as an older release wrote it: no click id, context, status or occurred_at
    body = {
        "partner_id": "par_1",
        "conversion_id": "old-1",
        "retailer_id": "ret_1",
        "offer_id": "off_1",
        "decision_id": "dec_1",
        "arm": "mixed",
        "action": "signup",
        "payout_minor": 700,
        "currency": "EUR",
        "locks_at": AT.isoformat(),
    }
    stores.ledger.record_once("CONVERSION#par_1#old-1", "conversion", AT, body)
    found = stores.ledger.find_conversion("par_1", "old-1")
    assert (found.payout_minor, found.status, found.context, found.click_id) == (700, "pending", {}, None)
    assert (found.occurred_at, found.reversed_minor, found.locks_at) == (None, 0, AT)


def test_refused_conversions_and_reversals_are_kept_apart(stores):
    refused_conversion = RejectionRecord(
        partner_id="par_1",
        conversion_id="c-9",
        click_id="clk_nope",
        retailer_id="-",
        offer_id=None,
        reason="unknown_click",
        recorded_at=AT,
    )
    refused_reversal = RejectionRecord(
        partner_id="par_1",
        conversion_id="c-9",
        reversal_id="r-9",
        retailer_id="ret_1",
        offer_id=None,
        reason="unknown_conversion",
        recorded_at=AT,
    )
    stores.ledger.record_rejection(refused_conversion)
    stores.ledger.record_rejection(refused_reversal)
    assert _stored(stores, "REJECTED#par_1#c-9") == {
        "pk": "REJECTED#par_1#c-9",
        "kind": "rejected_conversion",
        "partner_id": "par_1",
        "conversion_id": "c-9",
        "click_id": "clk_nope",
        "retailer_id": "-",
        "reason": "unknown_click",
    }
    assert _stored(stores, "REJECTED_REVERSAL#par_1#r-9") == {
        "pk": "REJECTED_REVERSAL#par_1#r-9",
        "kind": "rejected_conversion",
        "partner_id": "par_1",
        "conversion_id": "c-9",
        "reversal_id": "r-9",
        "retailer_id": "ret_1",
        "reason": "unknown_conversion",
    }
    assert stores.ledger.find_rejection("par_1", "c-9") == refused_conversion
    assert stores.ledger.find_rejected_reversal("par_1", "r-9") == refused_reversal
    assert refused_reversal.of_reversal and not refused_conversion.of_reversal
    # Both are of the day the reconciliation reads, under the one kind it counts
    kinds = [r["kind"] for r in stores.ledger.read_day(AT.date().isoformat())]
    assert kinds == ["rejected_conversion", "rejected_conversion"]


def test_deliveries_are_logged_per_partner_newest_first(stores):
    logged = [
        DeliveryRecord(
            partner_id="par_1",
            webhook_id=f"msg_{n}",
            type="conversion",
            partner_reference=f"c-{n}",
            outcome="rejected" if n else "recorded",
            reason="unknown_click" if n else None,
            recorded_at=AT + timedelta(seconds=n),
        )
        for n in range(2)
    ]
    for delivery in logged:
        stores.ledger.log_delivery(delivery)
    pk = f"DELIVERY#par_1#msg_0#{AT.isoformat()}"
    item = stores.ledger.get(pk)
    assert "day_shard" not in item  # not a record of the day
    assert _stored(stores, pk) == {
        "pk": pk,
        "kind": "delivery",
        "webhook_id": "msg_0",
        "type": "conversion",
        "partner_reference": "c-0",
        "outcome": "recorded",
        "owner": "DELIVERIES#par_1",
    }
    page, _ = stores.ledger.delivery_page("par_1", cursor=None, limit=10)
    assert page == logged[::-1]
    assert stores.ledger.delivery_page("par_2", cursor=None, limit=10) == ([], None)


def test_storefront_events_are_stored_as_before_once_per_decision_offer_and_type(stores):
    accept = EventRecord(
        type="accept",
        retailer_id="ret_1",
        decision_id="dec_1",
        arm="mixed",
        client_event_id="evt-00000001",
        client_occurred_at=datetime(2026, 3, 4, 6, 0, tzinfo=PARIS),
        recorded_at=AT,
        offer_id="off_fp",
        partner_id="ret_1",
        quantity=2,
        own_brand_revenue_minor=2598,
        currency="EUR",
        context={"purchase_category": "kitchen"},
    )
    survey = EventRecord(
        type="survey_answer",
        retailer_id="ret_1",
        decision_id="dec_1",
        arm="mixed",
        client_event_id="evt-00000002",
        client_occurred_at=AT,
        recorded_at=AT,
        answer=False,
    )
    assert stores.ledger.record_event(accept) and stores.ledger.record_event(survey)
    assert not stores.ledger.record_event(EventRecord(**{**accept.__dict__, "client_event_id": "evt-9"}))
    assert _stored(stores, "EVENT#accept#dec_1#off_fp") == {
        "pk": "EVENT#accept#dec_1#off_fp",
        "kind": "accept",
        "retailer_id": "ret_1",
        "decision_id": "dec_1",
        "arm": "mixed",
        "client_event_id": "evt-00000001",
        "client_occurred_at": "2026-03-04T05:00:00+00:00",
        "offer_id": "off_fp",
        "partner_id": "ret_1",
        "quantity": 2,
        "own_brand_revenue_minor": 2598,
        "currency": "EUR",
        "context": {"purchase_category": "kitchen"},
    }
    assert _stored(stores, "EVENT#survey_answer#dec_1#-") == {
        "pk": "EVENT#survey_answer#dec_1#-",
        "kind": "survey_answer",
        "retailer_id": "ret_1",
        "decision_id": "dec_1",
        "arm": "mixed",
        "client_event_id": "evt-00000002",
        "client_occurred_at": "2026-03-04T05:06:07.891011+00:00",
        "answer": False,
    }
    assert stores.ledger.find_event("accept", "dec_1", "off_fp") == accept
    assert stores.ledger.find_event("survey_answer", "dec_1", None) == survey
