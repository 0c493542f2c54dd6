"""Ledger table: append-only, write-once records of decisions, clicks, conversions, storefront
events and returns of own-brand add-ons.

Each record's `pk` is its natural idempotency key (retailer+order+placement, click id, partner +
partner's conversion id), written with `attribute_not_exists(pk)` so a retry never writes twice.
Records are also indexed by day and shard (GSI `by_day`: `day_shard` = `YYYY-MM-DD#NN`) so one
day reads back in parallel shards without a hot partition.
"""

import hashlib
import secrets
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from afterglow.errors import StoreUnavailable
from afterglow.store import keys
from afterglow.store.dynamo import deserialize, is_conditional_failure, query_page, query_pages, serialize
from afterglow.store.records import (
    ClickRecord,
    ConversionRecord,
    DeliveryRecord,
    EventRecord,
    RejectionRecord,
    ReturnRecord,
    ReversalRecord,
)

RETENTION_DAYS = 400  # a bit over a year: statements and disputes look back that far


class LedgerStore:
    def __init__(self, ddb: Any, table: str, *, shards: int) -> None:
        self._ddb = ddb
        self._table = table
        self.shards = shards

    def _shard(self, record_key: str) -> int:
        return int.from_bytes(hashlib.sha256(record_key.encode()).digest()[:4], "big") % self.shards

    def _item(
        self, pk: str, kind: str, at: datetime, body: dict[str, Any], *, daily: bool = True
    ) -> dict[str, Any]:
        item = {
            "pk": pk,
            "kind": kind,
            "at": at.isoformat(),
            "at_pk": f"{at.isoformat()}#{pk}",
            "expires_at": int(at.timestamp()) + RETENTION_DAYS * 86_400,
            **body,
        }
        if daily:  # only records that reconciliation reads go into the day index
            item["day_shard"] = f"{at.strftime('%Y-%m-%d')}#{self._shard(pk):02d}"
        return item

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": serialize(item),
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "NONE",
            }
        }

    def _transact(self, writes: list[dict[str, Any]]) -> list[str]:
        """Run a transaction; returns [] on success, else each write's cancellation code."""
        try:
            self._ddb.transact_write_items(TransactItems=writes)
        except self._ddb.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            codes = [reason.get("Code", "None") for reason in reasons]
            if not any(code == "ConditionalCheckFailed" for code in codes):
                # A conflict or throttle: the caller's retry (or the partner's) will settle it.
                raise StoreUnavailable(f"transaction cancelled ({', '.join(codes)}); retry") from error
            return codes
        return []

    def put_new_request(self, pk: str, kind: str, at: datetime, body: dict[str, Any]) -> dict[str, Any]:
        """A write-once Put of a ledger record, for a transaction that spans tables."""
        return self._put_new(self._item(pk, kind, at, body))

    def transact_once(self, writes: list[dict[str, Any]]) -> bool:
        """Run a transaction whose first write is write-once; False when that record already exists."""
        return not self._transact(writes)

    def record_conversion_once(
        self,
        pk: str,
        at: datetime,
        body: dict[str, Any],
        *,
        once_per_click_action: str | None,
    ) -> tuple[str, dict[str, Any] | None]:
        """Write a conversion once and, unless repeats are allowed, claim its click × action first.

        The claim is a conditional put of its own: it names the conversion that holds it, so a
        retry of the same conversion passes it again, and a crash after it is healed by the
        partner's retry. Returns `recorded`, `duplicate`
        (this conversion id was recorded before; with that record, as stored) or `repeat` (the
        click already converted for this action under another id).
        """
        if once_per_click_action:
            try:
                self._ddb.put_item(
                    TableName=self._table,
                    Item=serialize({"pk": once_per_click_action, "kind": "marker", "conversion_pk": pk}),
                    ConditionExpression="attribute_not_exists(pk) OR conversion_pk = :mine",
                    ExpressionAttributeValues={":mine": {"S": pk}},
                )
            except Exception as error:
                if not is_conditional_failure(error):
                    raise
                return "repeat", None
        existing = self.record_once(pk, "conversion", at, body)
        return ("recorded", None) if existing is None else ("duplicate", existing)

    def record_reversal_once(
        self,
        pk: str,
        conversion_pk: str,
        at: datetime,
        body: dict[str, Any],
        *,
        payout_minor: int,
        refund_minor: int,
        seen_reversed_minor: int,
        seen_refunded_minor: int,
    ) -> str:
        """Write a reversal and add it to its conversion's running totals (payout taken back, basket
        refunded), provided they are still the totals the reversal was computed from.

        The totals on the conversion record are guards (the only in-place update in the ledger); the
        money itself is the append-only reversal record. Returns `recorded`, `duplicate` or
        `changed` (another reversal of the conversion landed since it was read: read it again).
        """
        values = {":payout": {"N": str(payout_minor)}, ":refund": {"N": str(refund_minor)}}
        unchanged = []
        for total, seen, name in (
            ("reversed_minor", seen_reversed_minor, ":seen_reversed"),
            ("refunded_minor", seen_refunded_minor, ":seen_refunded"),
        ):
            values[name] = {"N": str(seen)}
            same = f"{total} = {name}"
            unchanged.append(f"(attribute_not_exists({total}) OR {same})" if seen == 0 else same)
        guard = {
            "Update": {
                "TableName": self._table,
                "Key": serialize({"pk": conversion_pk}),
                "UpdateExpression": "ADD reversed_minor :payout, refunded_minor :refund",
                "ConditionExpression": " AND ".join(["attribute_exists(pk)", *unchanged]),
                "ExpressionAttributeValues": values,
            }
        }
        codes = self._transact([self._put_new(self._item(pk, "reversal", at, body)), guard])
        if not codes:
            return "recorded"
        return "duplicate" if codes[0] == "ConditionalCheckFailed" else "changed"

    def record_delivery(self, owner: str, pk: str, at: datetime, body: dict[str, Any]) -> None:
        """Append one webhook delivery to its partner's log (not part of the daily ledger)."""
        item = self._item(pk, "delivery", at, {**body, "owner": owner}, daily=False)
        self._ddb.put_item(TableName=self._table, Item=serialize(item))

    def deliveries(
        self, owner: str, *, cursor: dict[str, Any] | None, limit: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """A page of one partner's delivery log, newest first."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_owner",
            "KeyConditionExpression": "#o = :o",
            "ExpressionAttributeNames": {"#o": "owner"},
            "ExpressionAttributeValues": {":o": {"S": owner}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        items, last_key = query_page(self._ddb, kwargs, cursor, key_names=frozenset({"pk", "owner", "at_pk"}))
        return items, last_key

    def record_once(
        self, pk: str, kind: str, at: datetime, body: dict[str, Any], *, daily: bool = True
    ) -> dict[str, Any] | None:
        """Write a record if its key is new. Returns None when written, else the record already there.

        Learning counts the record later, from the table's stream (`afterglow.feedback`): the
        request path writes this one record and nothing else.
        """
        # A fresh id per write: when a write lands but its answer is lost, botocore retries it and
        # meets the record; the id tells that record (ours: written once) from an earlier one.
        write_id = secrets.token_hex(16)
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=serialize({**self._item(pk, kind, at, body, daily=daily), "write_id": write_id}),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as error:
            if not is_conditional_failure(error):
                raise
            found = getattr(error, "response", {}).get("Item")
            existing = deserialize(found) if found else self.get(pk) or {}
            return None if existing.get("write_id") == write_id else existing
        return None

    def claim_click(
        self, decision_id: str, offer_id: str, click_id: str, at: datetime, *, window_seconds: int
    ) -> str:
        """The id of this decision × offer's click: the one claimed in the last `window_seconds`,
        else `click_id`, claimed now.

        One marker item per decision × offer, written on condition that it is absent or older than
        the window: concurrent clicks agree on one id, and a retry whose answer was lost finds its
        own. The marker is not a ledger record (no day index) and expires with its window.
        """
        pk = keys.clicked(decision_id, offer_id)
        clicked_at = int(at.timestamp())
        marker = {
            "pk": pk,
            "kind": "click_marker",
            "click_id": click_id,
            "clicked_at": clicked_at,
            "expires_at": clicked_at + window_seconds,
        }
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=serialize(marker),
                ConditionExpression="attribute_not_exists(pk) OR clicked_at <= :window_start",
                ExpressionAttributeValues={":window_start": {"N": str(clicked_at - window_seconds)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as error:
            if not is_conditional_failure(error):
                raise
            found = getattr(error, "response", {}).get("Item")
            held = deserialize(found) if found else self.get(pk) or {}
            return str(held.get("click_id") or click_id)
        return click_id

    # -- by name: the records the services write and read (keys composed in `store.keys`) -------

    def find_click(self, click_id: str) -> ClickRecord | None:
        """A click by its click id."""
        item = self.get(keys.click(click_id))
        return ClickRecord.from_item(item) if item else None

    def record_click(self, click: ClickRecord) -> bool:
        """Write a click once: False when it was there already."""
        existing = self.record_once(keys.click(click.click_id), "click", click.recorded_at, click.to_item())
        return existing is None

    def find_conversion(self, partner_id: str, conversion_id: str) -> ConversionRecord | None:
        """A partner's conversion by its conversion id."""
        item = self.get(keys.conversion(partner_id, conversion_id))
        return ConversionRecord.from_item(item) if item else None

    def record_conversion(
        self, conversion: ConversionRecord, *, once_per_click_action: bool
    ) -> tuple[str, ConversionRecord | None]:
        """`record_conversion_once` by name: `recorded`, `duplicate` (with the conversion recorded
        before) or `repeat`. With `once_per_click_action`, its click converts once per action."""
        claim = None
        if once_per_click_action:
            assert conversion.click_id is not None, "a claim needs the click"
            claim = keys.click_action(conversion.click_id, conversion.action)
        status, existing = self.record_conversion_once(
            keys.conversion(conversion.partner_id, conversion.conversion_id),
            conversion.recorded_at,
            conversion.to_item(),
            once_per_click_action=claim,
        )
        # `existing` is {} only if the record vanished between the refused write and the read
        return status, ConversionRecord.from_item(existing) if existing else None

    def find_reversal(self, partner_id: str, reversal_id: str) -> ReversalRecord | None:
        """A partner's reversal by its reversal id."""
        item = self.get(keys.reversal(partner_id, reversal_id))
        return ReversalRecord.from_item(item) if item else None

    def record_reversal(
        self, reversal: ReversalRecord, *, refund_minor: int, conversion_as_read: ConversionRecord
    ) -> str:
        """`record_reversal_once` by name: the reversal takes back `-reversal.payout_minor` and
        refunds `refund_minor` of the basket, provided the conversion's totals are still those it
        was read with (`recorded`, `duplicate` or `changed`)."""
        return self.record_reversal_once(
            keys.reversal(reversal.partner_id, reversal.reversal_id),
            keys.conversion(reversal.partner_id, reversal.conversion_id),
            reversal.recorded_at,
            reversal.to_item(),
            payout_minor=-reversal.payout_minor,
            refund_minor=refund_minor,
            seen_reversed_minor=conversion_as_read.reversed_minor,
            seen_refunded_minor=conversion_as_read.refunded_minor,
        )

    def record_rejection(self, rejection: RejectionRecord) -> None:
        """Keep a refused conversion or reversal once, for reconciliation."""
        key = (
            keys.rejected_reversal(rejection.partner_id, rejection.reversal_id)
            if rejection.reversal_id is not None
            else keys.rejected_conversion(rejection.partner_id, rejection.conversion_id)
        )
        self.record_once(key, "rejected_conversion", rejection.recorded_at, rejection.to_item())

    def find_rejection(self, partner_id: str, conversion_id: str) -> RejectionRecord | None:
        """A refused conversion of a partner by its conversion id."""
        item = self.get(keys.rejected_conversion(partner_id, conversion_id))
        return RejectionRecord.from_item(item) if item else None

    def find_rejected_reversal(self, partner_id: str, reversal_id: str) -> RejectionRecord | None:
        """A refused reversal of a partner by its reversal id."""
        item = self.get(keys.rejected_reversal(partner_id, reversal_id))
        return RejectionRecord.from_item(item) if item else None

    def log_delivery(self, delivery: DeliveryRecord) -> None:
        """Append one webhook delivery to its partner's log."""
        self.record_delivery(
            keys.deliveries(delivery.partner_id),
            keys.delivery(delivery.partner_id, delivery.webhook_id, delivery.recorded_at.isoformat()),
            delivery.recorded_at,
            delivery.to_item(),
        )

    def delivery_page(
        self, partner_id: str, *, cursor: dict[str, Any] | None, limit: int
    ) -> tuple[list[DeliveryRecord], dict[str, Any] | None]:
        """A page of one partner's delivery log, newest first (and the page's last key)."""
        items, last_key = self.deliveries(keys.deliveries(partner_id), cursor=cursor, limit=limit)
        return [DeliveryRecord.from_item(item, partner_id=partner_id) for item in items], last_key

    def record_event(self, event: EventRecord) -> bool:
        """Write a storefront event once per decision × offer × type: False when it was there already."""
        key = keys.event(event.type, event.decision_id, event.offer_id)
        return self.record_once(key, event.type, event.recorded_at, event.to_item()) is None

    def find_event(self, event_type: str, decision_id: str, offer_id: str | None) -> EventRecord | None:
        """A storefront event of one decision (× offer) by its type."""
        item = self.get(keys.event(event_type, decision_id, offer_id))
        return EventRecord.from_item(item) if item else None

    def record_page_view(self, event: EventRecord) -> bool:
        """Write a confirmation page view (a session) once per decision × view number: False when
        it was there already."""
        key = keys.page_view(event.decision_id, event.view or 1)
        return self.record_once(key, "page_view", event.recorded_at, event.to_item()) is None

    def find_return(self, retailer_id: str, return_id: str) -> ReturnRecord | None:
        """A retailer's return of an own-brand add-on by the retailer's return id."""
        item = self.get(keys.add_on_return(retailer_id, return_id))
        return ReturnRecord.from_item(item) if item else None

    def record_return(self, returned: ReturnRecord, *, added_minor: int, accepted_units: int) -> str:
        """Write a return once and add it to its accept's running totals, in one transaction, on
        condition that the accept (this retailer's; it added `added_minor` for `accepted_units`,
        figures written once with it) still has that much left to return *when the transaction
        lands*: concurrent returns of one add-on can never together take back more than it added.

        Returns `recorded`, `duplicate` (this return id is recorded already: nothing changed) or
        `exceeds` (other returns of the add-on landed first and left too little: nothing changed).
        """
        units = returned.quantity or 0
        most_minor_before, most_units_before = added_minor - returned.amount_minor, accepted_units - units
        if most_minor_before < 0 or most_units_before < 0:
            raise ValueError("a return larger than its accept is refused before it is written")
        guard = {
            "Update": {
                "TableName": self._table,
                "Key": serialize({"pk": keys.event("accept", returned.decision_id, returned.offer_id)}),
                "UpdateExpression": "ADD returned_minor :amount, returned_units :units",
                "ConditionExpression": "attribute_exists(pk) AND retailer_id = :retailer"
                " AND (attribute_not_exists(returned_minor) OR returned_minor <= :most_minor)"
                " AND (attribute_not_exists(returned_units) OR returned_units <= :most_units)",
                "ExpressionAttributeValues": serialize(
                    {
                        ":amount": returned.amount_minor,
                        ":units": units,
                        ":retailer": returned.retailer_id,
                        ":most_minor": most_minor_before,
                        ":most_units": most_units_before,
                    }
                ),
            }
        }
        key = keys.add_on_return(returned.retailer_id, returned.return_id)
        record = self._put_new(self._item(key, "return", returned.recorded_at, returned.to_item()))
        codes = self._transact([record, guard])
        if not codes:
            return "recorded"
        return "duplicate" if codes[0] == "ConditionalCheckFailed" else "exceeds"

    def get(self, pk: str) -> dict[str, Any] | None:
        """One record by its key, or None."""
        response = self._ddb.get_item(TableName=self._table, Key=serialize({"pk": pk}), ConsistentRead=True)
        return deserialize(response["Item"]) if "Item" in response else None

    def advance_conversion(
        self, partner_id: str, conversion_id: str, status: str, *, invoice_number: str | None = None
    ) -> bool:
        """Move a conversion forward in its lifecycle: `locked` (from pending) or `invoiced` (from
        pending or locked, with the invoice's number). A conditional update of its status marker
        only — its money is never touched — so a re-run changes nothing: False when the conversion
        is already there (or further), or unknown."""
        earlier = {"locked": ["pending"], "invoiced": ["pending", "locked"]}[status]
        names = {"#status": "status"}
        values: dict[str, Any] = {":status": status, **{f":from{n}": s for n, s in enumerate(earlier)}}
        update = "SET #status = :status"
        if invoice_number is not None:
            update += ", invoice_number = :number"
            values[":number"] = invoice_number
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=serialize({"pk": keys.conversion(partner_id, conversion_id)}),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk) AND #status IN "
                f"({', '.join(f':from{n}' for n in range(len(earlier)))})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=serialize(values),
            )
        except Exception as error:
            if is_conditional_failure(error):
                return False
            raise
        return True

    def read_shard(self, day: str, shard: int) -> Iterator[dict[str, Any]]:
        """Every record of one day's shard, in time order, page by page."""
        return query_pages(
            self._ddb,
            TableName=self._table,
            IndexName="by_day",
            KeyConditionExpression="day_shard = :d",
            ExpressionAttributeValues={":d": {"S": f"{day}#{shard:02d}"}},
        )

    def read_day(self, day: str) -> Iterator[dict[str, Any]]:
        """Every record of one day, shard after shard."""
        for shard in range(self.shards):
            yield from self.read_shard(day, shard)
