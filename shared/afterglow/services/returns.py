"""`POST /v1/returns`: a retailer's order system reports a return or refund of an own-brand add-on
accepted on the confirmation page — the retailer-side analogue of a partner's reversal.

Recorded once per retailer × `return_id` (a resend is a `duplicate` and changes nothing), and
never more than the add-on added: the return record and its accept's running totals are written in
one transaction whose condition holds only if enough is left when it lands (`LedgerStore.
record_return`), so concurrent returns cannot together exceed it. The return is a ledger record of
the day it is recorded: reconciliation nets it from that day's own-brand revenue.
"""

from dataclasses import replace
from datetime import UTC, datetime

from afterglow.catalog import CatalogIndex
from afterglow.errors import StoreUnavailable
from afterglow.models import AddOnReturn, AddOnReturnResult, Retailer
from afterglow.observability import metrics
from afterglow.returns import AcceptedAddOn, AcceptNotFound, NotFirstPartyOffer, check_return
from afterglow.store import LedgerStore, Stores
from afterglow.store.records import ReturnRecord


def accepted_add_on(
    ledger: LedgerStore, index: CatalogIndex, retailer_id: str, decision_id: str, offer_id: str
) -> AcceptedAddOn:
    """The retailer's accept of `offer_id` in `decision_id`, as it stands now. A partner offer is
    refused by name (its refunds are the partner's reversals); anything else not found — another
    retailer's accept included — is `AcceptNotFound`, exactly like an id that does not exist."""
    offer = index.offers.get(offer_id)
    if offer is not None and offer.kind != "first_party":
        raise NotFirstPartyOffer(
            f"offer {offer_id!r} is a partner offer: only own-brand add-ons are returned here "
            "(a partner reports its refunds as reversals)",
            field="offer_id",
        )
    accept = ledger.find_event("accept", decision_id, offer_id)
    if accept is None or accept.retailer_id != retailer_id or accept.own_brand_revenue_minor is None:
        raise AcceptNotFound(f"no accepted add-on {offer_id!r} in decision {decision_id!r}", field="offer_id")
    return AcceptedAddOn(
        retailer_id=accept.retailer_id,
        decision_id=accept.decision_id,
        offer_id=offer_id,
        partner_id=accept.partner_id or retailer_id,
        arm=accept.arm,
        currency=accept.currency or "",
        quantity=accept.quantity or 1,
        added_minor=accept.own_brand_revenue_minor,
        returned_minor=accept.returned_minor,
        returned_units=accept.returned_units,
        context=accept.context,
    )


def _answer(status: str, recorded: ReturnRecord, accepted: AcceptedAddOn) -> AddOnReturnResult:
    return AddOnReturnResult.model_validate(
        {
            "status": status,
            "return_id": recorded.return_id,
            "decision_id": recorded.decision_id,
            "offer_id": recorded.offer_id,
            "amount_minor": recorded.amount_minor,
            "quantity": recorded.quantity,
            "currency": recorded.currency,
            "added_minor": accepted.added_minor,
            "returned_minor": accepted.returned_minor,
        }
    )


def record_return(
    stores: Stores, index: CatalogIndex, retailer: Retailer, request: AddOnReturn, now: datetime | None = None
) -> AddOnReturnResult:
    """Record one return of an own-brand add-on once; refuse one that exceeds what it added."""
    ledger = stores.ledger
    retailer_id = retailer.retailer_id

    def add_on() -> AcceptedAddOn:
        return accepted_add_on(ledger, index, retailer_id, request.decision_id, request.offer_id)

    def duplicate() -> AddOnReturnResult:
        """The answer to a resend: the return as first recorded, with its add-on's totals now."""
        earlier = ledger.find_return(retailer_id, request.return_id)
        assert earlier is not None  # returns are never deleted
        found = accepted_add_on(ledger, index, retailer_id, earlier.decision_id, earlier.offer_id)
        return _answer("duplicate", earlier, found)

    if ledger.find_return(retailer_id, request.return_id) is not None:
        return duplicate()
    accepted = add_on()
    check_return(accepted, request.amount_minor, request.quantity)
    recorded = ReturnRecord(
        retailer_id=retailer_id,
        return_id=request.return_id,
        decision_id=request.decision_id,
        offer_id=request.offer_id,
        partner_id=accepted.partner_id,
        arm=accepted.arm,
        currency=accepted.currency,
        amount_minor=request.amount_minor,
        quantity=request.quantity,
        occurred_at=request.occurred_at,
        recorded_at=now or datetime.now(UTC),
        context=accepted.context,
    )
    outcome = ledger.record_return(
        recorded, added_minor=accepted.added_minor, accepted_units=accepted.quantity
    )
    if outcome == "duplicate":  # the same return sent twice at once: the other one landed first
        return duplicate()
    if outcome == "exceeds":  # other returns of this add-on landed first: say what is left now
        check_return(add_on(), request.amount_minor, request.quantity)
        raise StoreUnavailable("this add-on's returns changed while recording; retry")
    metrics.add_metric(name="AddOnReturnsRecorded", unit="Count", value=1)
    returned = replace(accepted, returned_minor=accepted.returned_minor + request.amount_minor)
    return _answer("recorded", recorded, returned)
