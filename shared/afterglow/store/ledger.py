"""Ledger table: append-only, write-once records of decisions, clicks and conversions.

Each record's `pk` is its natural idempotency key (retailer+order+placement, click id, partner +
partner's conversion id), written with `attribute_not_exists(pk)` so a retry never writes twice.
Records are also indexed by day and shard (GSI `by_day`: `day_shard` = `YYYY-MM-DD#NN`) so one
day reads back in parallel shards without a hot partition.
"""

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from afterglow.store.dynamo import deserialize, is_conditional_failure, query_pages, serialize

RETENTION_DAYS = 400  # a bit over a year: statements and disputes look back that far


class LedgerStore:
    def __init__(self, ddb: Any, table: str, *, shards: int) -> None:
        self._ddb = ddb
        self._table = table
        self.shards = shards

    def _shard(self, record_key: str) -> int:
        return int.from_bytes(hashlib.sha256(record_key.encode()).digest()[:4], "big") % self.shards

    def _item(self, pk: str, kind: str, at: datetime, body: dict[str, Any]) -> dict[str, Any]:
        day = at.strftime("%Y-%m-%d")
        return {
            "pk": pk,
            "kind": kind,
            "at": at.isoformat(),
            "day_shard": f"{day}#{self._shard(pk):02d}",
            "at_pk": f"{at.isoformat()}#{pk}",
            "expires_at": int(at.timestamp()) + RETENTION_DAYS * 86_400,
            **body,
        }

    def record_once(self, pk: str, kind: str, at: datetime, body: dict[str, Any]) -> dict[str, Any] | None:
        """Write a record if its key is new. Returns None when written, else the record already there."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=serialize(self._item(pk, kind, at, body)),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as error:
            if not is_conditional_failure(error):
                raise
            existing = getattr(error, "response", {}).get("Item")
            return deserialize(existing) if existing else self.get(pk) or {}
        return None

    def get(self, pk: str) -> dict[str, Any] | None:
        """One record by its key, or None."""
        response = self._ddb.get_item(TableName=self._table, Key=serialize({"pk": pk}), ConsistentRead=True)
        return deserialize(response["Item"]) if "Item" in response else None

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
