"""The stored shapes of the ledger's webhook and storefront side: clicks, conversions, reversals,
refused webhooks, the partners' delivery log, storefront events and returns of own-brand add-ons.

Each record knows its attributes as DynamoDB holds them (`to_item`, `from_item`); the ledger adds
the envelope every record shares (`pk`, `kind`, `at`, the day index, expiry) and composes the keys
(`afterglow.store.keys`). The attribute names and values are the ones written before these types
existed — reconciliation and the learning aggregator read them from the ledger and its stream — so
absent optional attributes read as their defaults and `None` is never written (`serialize` drops it).
Decision records and learning counters are not here: their stores own them as they are.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import TypeAdapter

from afterglow.models import Payout

_payout_terms: TypeAdapter[Payout] = TypeAdapter(Payout)


def _when(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class ClickRecord:
    """A click on an offer, with the offer's payout terms as they were then (`CLICK#<click id>`)."""

    click_id: str
    retailer_id: str
    partner_id: str
    offer_id: str
    decision_id: str
    arm: str
    context: Mapping[str, Any]  # the decision's context, which learning counts the click under
    payout: Payout
    attribution_window_days: int
    lock_days: int
    allow_repeat_conversions: bool
    recorded_at: datetime  # stored as the envelope's `at`

    def to_item(self) -> dict[str, Any]:
        """The record's own attributes, in the order they have always been written."""
        return {
            "retailer_id": self.retailer_id,
            "partner_id": self.partner_id,
            "offer_id": self.offer_id,
            "decision_id": self.decision_id,
            "arm": self.arm,
            "context": dict(self.context),
            "payout": self.payout.model_dump(mode="json"),
            "attribution_window_days": self.attribution_window_days,
            "lock_days": self.lock_days,
            "allow_repeat_conversions": self.allow_repeat_conversions,
            "click_id": self.click_id,
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> "ClickRecord":
        """A stored click (deserialized)."""
        return cls(
            click_id=str(item["click_id"]),
            retailer_id=str(item["retailer_id"]),
            partner_id=str(item["partner_id"]),
            offer_id=str(item["offer_id"]),
            decision_id=str(item["decision_id"]),
            arm=str(item["arm"]),
            context=dict(item.get("context", {})),
            payout=_payout_terms.validate_python(item["payout"]),
            attribution_window_days=int(item["attribution_window_days"]),
            lock_days=int(item["lock_days"]),
            allow_repeat_conversions=bool(item.get("allow_repeat_conversions", False)),
            recorded_at=datetime.fromisoformat(item["at"]),
        )


@dataclass(frozen=True)
class ConversionRecord:
    """A partner's attributed conversion (`CONVERSION#<partner>#<conversion id>`). Its money is
    written once; `reversed_minor`/`refunded_minor` (running totals that guard reversals), `status`
    and `invoice_number` are moved in place by the ledger, never written by `to_item` once set."""

    partner_id: str
    conversion_id: str
    click_id: str | None
    retailer_id: str
    offer_id: str
    decision_id: str
    arm: str
    action: str
    occurred_at: datetime | None  # when the partner says it happened (UTC when stored)
    payout_minor: int
    currency: str
    amount_minor: int | None  # the basket, if the partner sent it
    locks_at: datetime
    context: Mapping[str, Any]
    recorded_at: datetime
    status: str = "pending"  # pending → locked → invoiced (afterglow.services.lifecycle)
    reversed_minor: int = 0  # payout taken back by reversals so far
    refunded_minor: int = 0  # basket refunded by reversals so far
    invoice_number: str | None = None

    def to_item(self) -> dict[str, Any]:
        """The record as first written: the running totals appear with the first reversal."""
        item: dict[str, Any] = {
            "partner_id": self.partner_id,
            "conversion_id": self.conversion_id,
            "click_id": self.click_id,
            "retailer_id": self.retailer_id,
            "offer_id": self.offer_id,
            "decision_id": self.decision_id,
            "arm": self.arm,
            "action": self.action,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat() if self.occurred_at else None,
            "payout_minor": self.payout_minor,
            "currency": self.currency,
            "amount_minor": self.amount_minor,
            "status": self.status,
            "locks_at": self.locks_at.isoformat(),
            "context": dict(self.context),
        }
        if self.reversed_minor or self.refunded_minor:
            item.update(reversed_minor=self.reversed_minor, refunded_minor=self.refunded_minor)
        if self.invoice_number is not None:
            item["invoice_number"] = self.invoice_number
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> "ConversionRecord":
        """A stored conversion (deserialized)."""
        return cls(
            partner_id=str(item["partner_id"]),
            conversion_id=str(item["conversion_id"]),
            click_id=item.get("click_id"),
            retailer_id=str(item["retailer_id"]),
            offer_id=str(item["offer_id"]),
            decision_id=str(item["decision_id"]),
            arm=str(item["arm"]),
            action=str(item.get("action") or ""),
            occurred_at=_when(item.get("occurred_at")),
            payout_minor=int(item["payout_minor"]),
            currency=str(item["currency"]),
            amount_minor=_int_or_none(item.get("amount_minor")),
            locks_at=datetime.fromisoformat(item["locks_at"]),
            context=dict(item.get("context", {})),
            recorded_at=datetime.fromisoformat(item["at"]),
            status=str(item.get("status") or "pending"),
            reversed_minor=int(item.get("reversed_minor", 0)),
            refunded_minor=int(item.get("refunded_minor", 0)),
            invoice_number=item.get("invoice_number"),
        )


@dataclass(frozen=True)
class ReversalRecord:
    """Money a partner took back from a conversion (`REVERSAL#<partner>#<reversal id>`)."""

    partner_id: str
    conversion_id: str
    reversal_id: str
    retailer_id: str
    offer_id: str
    decision_id: str
    arm: str
    occurred_at: datetime | None
    payout_minor: int  # negative: what the reversal takes back
    currency: str
    refund_amount_minor: int | None  # the refunded basket, if the partner sent it
    recorded_at: datetime

    def to_item(self) -> dict[str, Any]:
        """The record's own attributes, in the order they have always been written."""
        return {
            "partner_id": self.partner_id,
            "conversion_id": self.conversion_id,
            "reversal_id": self.reversal_id,
            "retailer_id": self.retailer_id,
            "offer_id": self.offer_id,
            "decision_id": self.decision_id,
            "arm": self.arm,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat() if self.occurred_at else None,
            "payout_minor": self.payout_minor,
            "currency": self.currency,
            "refund_amount_minor": self.refund_amount_minor,
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> "ReversalRecord":
        """A stored reversal (deserialized)."""
        return cls(
            partner_id=str(item["partner_id"]),
            conversion_id=str(item["conversion_id"]),
            reversal_id=str(item["reversal_id"]),
            retailer_id=str(item["retailer_id"]),
            offer_id=str(item["offer_id"]),
            decision_id=str(item["decision_id"]),
            arm=str(item["arm"]),
            occurred_at=_when(item.get("occurred_at")),
            payout_minor=int(item["payout_minor"]),
            currency=str(item["currency"]),
            refund_amount_minor=_int_or_none(item.get("refund_amount_minor")),
            recorded_at=datetime.fromisoformat(item["at"]),
        )


@dataclass(frozen=True)
class RejectionRecord:
    """A partner webhook refused for a business reason, kept once for reconciliation's discrepancy
    report (kind `rejected_conversion` for both): a refused reversal has a `reversal_id`."""

    partner_id: str
    conversion_id: str
    retailer_id: str  # "-" when no click or conversion named one
    offer_id: str | None
    reason: str
    recorded_at: datetime
    click_id: str | None = None  # a refused conversion's, as the partner sent it
    reversal_id: str | None = None

    @property
    def of_reversal(self) -> bool:
        """Whether a reversal (not a conversion) was refused."""
        return self.reversal_id is not None

    def to_item(self) -> dict[str, Any]:
        """The record's own attributes, in the order they have always been written."""
        return {
            "partner_id": self.partner_id,
            "conversion_id": self.conversion_id,
            "click_id": self.click_id,
            "reversal_id": self.reversal_id,
            "retailer_id": self.retailer_id,
            "offer_id": self.offer_id,
            "reason": self.reason,
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> "RejectionRecord":
        """A stored rejection (deserialized)."""
        return cls(
            partner_id=str(item["partner_id"]),
            conversion_id=str(item["conversion_id"]),
            retailer_id=str(item["retailer_id"]),
            offer_id=item.get("offer_id"),
            reason=str(item["reason"]),
            recorded_at=datetime.fromisoformat(item["at"]),
            click_id=item.get("click_id"),
            reversal_id=item.get("reversal_id"),
        )


@dataclass(frozen=True)
class DeliveryRecord:
    """One verified webhook delivery in its partner's log (not a ledger record of the day: the
    `by_owner` index reads it). The partner is in its key and owner, not among its attributes."""

    partner_id: str
    webhook_id: str
    type: str  # conversion | reversal
    partner_reference: str  # the partner's conversion or reversal id
    outcome: Literal["recorded", "duplicate", "rejected"]
    reason: str | None
    recorded_at: datetime

    def to_item(self) -> dict[str, Any]:
        """The record's own attributes (the ledger adds its owner)."""
        return {
            "webhook_id": self.webhook_id,
            "type": self.type,
            "partner_reference": self.partner_reference,
            "outcome": self.outcome,
            "reason": self.reason,
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any], *, partner_id: str) -> "DeliveryRecord":
        """A stored delivery of `partner_id`'s log (deserialized)."""
        return cls(
            partner_id=partner_id,
            webhook_id=str(item["webhook_id"]),
            type=str(item["type"]),
            partner_reference=str(item["partner_reference"]),
            outcome=item["outcome"],
            reason=item.get("reason"),
            recorded_at=datetime.fromisoformat(item["at"]),
        )


@dataclass(frozen=True)
class EventRecord:
    """A storefront event, once per decision × offer × type (`EVENT#…`; its kind is its type):
    impression, engage, dismiss, accept (an own-brand add-to-order, with its revenue),
    survey_answer or satisfaction (the decision's, no offer; a satisfaction answer also comes by
    e-mail link), or page_view (once per decision × view number: a session)."""

    type: str
    retailer_id: str
    decision_id: str
    arm: str
    client_event_id: str
    client_occurred_at: datetime
    recorded_at: datetime
    offer_id: str | None = None
    partner_id: str | None = None  # None for an offer no longer in the catalog
    answer: bool | str | None = None  # a survey answer: one of the retailer's options
    quantity: int | None = None  # accept only
    own_brand_revenue_minor: int | None = None  # accept only
    currency: str | None = None  # accept only
    context: Mapping[str, Any] | None = None  # offer events: what learning counts them under
    channel: str | None = None  # satisfaction: page or link (one-tap); impression: email (open pixel)
    scale: str | None = None  # satisfaction: nps or csat
    score: int | None = None  # satisfaction: on the scale
    view: int | None = None  # page_view: 1 the first render, 2 a reload, …
    # accept only: running totals of its returns, moved in place by the ledger with each return
    returned_minor: int = 0
    returned_units: int = 0

    def to_item(self) -> dict[str, Any]:
        """The record's own attributes, in the order they have always been written (the
        satisfaction and page-view fields only on those events, an accept's running totals of
        returns once it has some)."""
        extra = {"channel": self.channel, "scale": self.scale, "score": self.score, "view": self.view}
        if self.returned_minor or self.returned_units:
            extra.update(returned_minor=self.returned_minor, returned_units=self.returned_units)
        return {
            "retailer_id": self.retailer_id,
            "decision_id": self.decision_id,
            "arm": self.arm,
            "client_event_id": self.client_event_id,
            "client_occurred_at": self.client_occurred_at.astimezone(UTC).isoformat(),
            "answer": self.answer,
            "offer_id": self.offer_id,
            "partner_id": self.partner_id,
            "quantity": self.quantity,
            "own_brand_revenue_minor": self.own_brand_revenue_minor,
            "currency": self.currency,
            "context": None if self.context is None else dict(self.context),
            **{name: value for name, value in extra.items() if value is not None},
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> "EventRecord":
        """A stored event (deserialized)."""
        return cls(
            type=str(item["kind"]),
            retailer_id=str(item["retailer_id"]),
            decision_id=str(item["decision_id"]),
            arm=str(item["arm"]),
            client_event_id=str(item["client_event_id"]),
            client_occurred_at=datetime.fromisoformat(item["client_occurred_at"]),
            recorded_at=datetime.fromisoformat(item["at"]),
            offer_id=item.get("offer_id"),
            partner_id=item.get("partner_id"),
            answer=item.get("answer"),
            quantity=_int_or_none(item.get("quantity")),
            own_brand_revenue_minor=_int_or_none(item.get("own_brand_revenue_minor")),
            currency=item.get("currency"),
            context=None if item.get("context") is None else dict(item["context"]),
            channel=item.get("channel"),
            scale=item.get("scale"),
            score=_int_or_none(item.get("score")),
            view=_int_or_none(item.get("view")),
            returned_minor=int(item.get("returned_minor", 0)),
            returned_units=int(item.get("returned_units", 0)),
        )


@dataclass(frozen=True)
class ReturnRecord:
    """A retailer's return or refund of an accepted own-brand add-on (`RETURN#<retailer>#<return
    id>`). It repeats its accept's offer, partner (the retailer itself), arm and currency, so that
    reconciliation counts it in the accept's cell and arm."""

    retailer_id: str
    return_id: str  # the retailer's own id: its idempotency key
    decision_id: str
    offer_id: str
    partner_id: str
    arm: str
    currency: str
    amount_minor: int  # money refunded (positive)
    quantity: int | None  # units that came back, if the retailer said
    occurred_at: datetime | None
    recorded_at: datetime
    context: Mapping[str, Any] | None = None  # its accept's: what learning counts the refund under

    def to_item(self) -> dict[str, Any]:
        """The record's own attributes."""
        return {
            "retailer_id": self.retailer_id,
            "return_id": self.return_id,
            "decision_id": self.decision_id,
            "offer_id": self.offer_id,
            "partner_id": self.partner_id,
            "arm": self.arm,
            "currency": self.currency,
            "amount_minor": self.amount_minor,
            "quantity": self.quantity,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat() if self.occurred_at else None,
            "context": None if self.context is None else dict(self.context),
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> "ReturnRecord":
        """A stored return (deserialized)."""
        return cls(
            retailer_id=str(item["retailer_id"]),
            return_id=str(item["return_id"]),
            decision_id=str(item["decision_id"]),
            offer_id=str(item["offer_id"]),
            partner_id=str(item["partner_id"]),
            arm=str(item["arm"]),
            currency=str(item["currency"]),
            amount_minor=int(item["amount_minor"]),
            quantity=_int_or_none(item.get("quantity")),
            occurred_at=_when(item.get("occurred_at")),
            recorded_at=datetime.fromisoformat(item["at"]),
            context=None if item.get("context") is None else dict(item["context"]),
        )
