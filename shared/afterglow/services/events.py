"""`POST /v1/events`: storefront events, each recorded once per decision × offer × type.

Idempotency is by meaning, not only by the client's event id: a second `impression` of the same
offer in the same decision (a retry, a reload, a second tab) is a duplicate whatever its id. A
`satisfaction` answer counts once per decision (the first; see `afterglow.services.satisfaction`);
a `page_view` once per decision × view number (a reload is the next number: another session).
"""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError

from afterglow.catalog import CatalogIndex
from afterglow.models import (
    EventBatchResult,
    EventResult,
    EventType,
    IncomingEventBatch,
    Retailer,
    StorefrontEvent,
)
from afterglow.observability import metrics
from afterglow.services.decisions import signer
from afterglow.services.satisfaction import AnswerRefused, answer_details, view_number
from afterglow.signing import InvalidToken, TrackingClaims
from afterglow.store import Stores
from afterglow.store.records import EventRecord

MAX_ACCEPT_QUANTITY = 99
MAX_ECHOED_CHARS = 64  # of a client's event id or field name, echoed in a result


class EventRefused(Exception):
    """One event of a batch is refused; `reason` is a stable code for its result."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _survey_option(event: StorefrontEvent, retailer: Retailer) -> bool | str:
    """The answer of a `survey_answer` event, if it is one of the retailer's options.

    Only an option is ever stored: a storefront could otherwise send any text (an e-mail address,
    kilobytes of it) into the ledger. Types count: `1` is not `true`, `"true"` is not `true`.
    """
    if retailer.survey is None:
        raise EventRefused("retailer_has_no_survey")
    answer = event.data.get("answer")
    if answer is None:
        raise EventRefused("survey_answer_needs_data.answer")
    for option in retailer.survey.options:
        if type(option.value) is type(answer) and option.value == answer:
            return option.value
    raise EventRefused("answer_is_not_a_survey_option")


def _record(
    event: StorefrontEvent,
    claims: TrackingClaims,
    index: CatalogIndex,
    retailer: Retailer,
    now: datetime,
) -> EventRecord:
    """What the ledger keeps for one event, after the rules for its type."""
    recorded = EventRecord(
        type=event.type.value,
        retailer_id=claims.retailer_id,
        decision_id=claims.decision_id,
        arm=claims.arm,
        client_event_id=event.event_id,
        client_occurred_at=event.occurred_at,
        recorded_at=now,
    )
    if event.type in (EventType.SATISFACTION, EventType.PAGE_VIEW):
        if claims.offer_id:
            raise EventRefused(f"{event.type.value}_needs_the_decision_token")
        if event.type is EventType.PAGE_VIEW:
            return replace(recorded, view=view_number(event.data.get("view")))
        answer = answer_details(retailer, event.data.get("score"))
        return replace(recorded, channel="page", scale=answer["scale"], score=answer["score"])
    if event.type is EventType.SURVEY_ANSWER:
        if claims.offer_id:
            raise EventRefused("survey_answer_needs_the_decision_token")
        return replace(recorded, answer=_survey_option(event, retailer))
    if not claims.offer_id:
        raise EventRefused("offer_event_needs_an_offer_token")
    offer = index.offers.get(claims.offer_id)
    recorded = replace(
        recorded,
        offer_id=claims.offer_id,
        partner_id=offer.partner_id if offer else None,
        context=claims.context,  # what learning counts it under (the aggregator folds the ledger)
    )
    if event.type is EventType.ACCEPT:
        if offer is None or offer.kind != "first_party" or offer.creative.price_minor is None:
            raise EventRefused("accept_needs_a_priced_first_party_offer")
        quantity = event.data.get("quantity", 1)
        if (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or not 1 <= quantity <= MAX_ACCEPT_QUANTITY
        ):
            raise EventRefused("quantity_must_be_1_to_99")
        recorded = replace(
            recorded,
            quantity=quantity,
            own_brand_revenue_minor=offer.creative.price_minor * quantity,
            currency=retailer.currency,
        )
    return recorded


def _event_id(raw: Any) -> str:
    """The client's id of an event as sent, for its result even when the event is invalid."""
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    return event_id[:MAX_ECHOED_CHARS] if isinstance(event_id, str) else ""


def _checked(raw: Any) -> StorefrontEvent:
    """One event of a batch as a `StorefrontEvent`; `EventRefused` naming its first problem."""
    try:
        return StorefrontEvent.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])[:MAX_ECHOED_CHARS]
        if not field:
            reason = "event_must_be_an_object"
        elif first["type"] == "missing":
            reason = f"missing_{field}"
        elif first["type"] == "extra_forbidden":
            reason = f"unknown_field_{field}"
        elif field == "type":
            reason = "unknown_type"
        else:
            reason = f"invalid_{field}"
        raise EventRefused(reason) from error


def record_events(
    stores: Stores, index: CatalogIndex, retailer: Retailer, batch: IncomingEventBatch
) -> EventBatchResult:
    """Record a batch; each event gets its own result and one bad event never sinks the others."""
    tokens = signer()
    ledger = stores.ledger
    now = datetime.now(UTC)
    results = []
    for raw in batch.events:
        event_id = _event_id(raw)
        try:
            event = _checked(raw)
            claims = tokens.verify(event.token, now=int(now.timestamp()), retailer_id=retailer.retailer_id)
            recorded = _record(event, claims, index, retailer, now)
        except (InvalidToken, EventRefused, AnswerRefused) as error:
            results.append(EventResult(event_id=event_id, status="rejected", reason=error.reason))
            continue
        page_view = recorded.type == EventType.PAGE_VIEW.value
        written = ledger.record_page_view(recorded) if page_view else ledger.record_event(recorded)
        status: Literal["accepted", "duplicate"] = "accepted" if written else "duplicate"
        results.append(EventResult(event_id=event_id, status=status))
    accepted = sum(1 for result in results if result.status == "accepted")
    metrics.add_metric(name="EventsAccepted", unit="Count", value=accepted)
    return EventBatchResult(results=results)
