"""Learning state derived from the ledger: counters, budget spend, and the published model.

Counters table (written only by the aggregator, read only by the trainer):
- `ARM#<offer_id>#<w>` / `<retailer_id>`: one offer's counters at one retailer, write-sharded over
  `WRITE_SHARDS` items so a hot offer spreads its writes. One number attribute per counter × row,
  named `<c>|<feature>=<value>` with a one-letter counter code. Rows come from declared
  vocabularies (`afterglow.feedback`), so an item is bounded by construction: at most 1 + 31
  categories + 66 product types + 6 order values + 23 countries + 1 gift + 21 segment rows, 6
  counters each (`MAX_COUNTER_ITEM_BYTES`), whatever the traffic.
- `SPEND#<period>` / `<partner_id>#<currency>`: payouts owed per day and month (budgets).
- `MODEL` / `CURRENT`: the version and object key of the published learning model (S3).

A batch of stream records is planned (`AGGREGATED#<first record's event id>` / `PLAN`: its last
sequence number) and its writes applied in parts, each part in one transaction with its own marker
(`… / PART#<n>`), in the learning table with a TTL: a redelivered batch refolds exactly the planned
records and skips the parts already applied (`afterglow.services.aggregation`).
"""

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Final

from afterglow.errors import StoreUnavailable
from afterglow.feedback import FeedbackFold, Row, model_value
from afterglow.store.dynamo import deserialize, serialize

WRITE_SHARDS: Final = 8
COUNTER_CODES: Final = {
    "shown": "s",
    "viewed": "v",
    "engaged": "e",
    "converted": "c",
    "revenue_minor": "r",
    "revenue_sq": "q",
}
COUNTER_NAMES: Final = {code: name for name, code in COUNTER_CODES.items()}
MAX_COUNTER_ITEM_BYTES: Final = 26_000  # stated bound; tests/integration/test_learning_pipeline.py holds it
MARKER_TTL_SECONDS: Final = 3 * 86_400  # past the stream's 24 h retention, a chunk cannot come back
MAX_ITEMS_PER_TRANSACTION: Final = 100
MODEL_KEY: Final = {"pk": "MODEL", "sk": "CURRENT"}
OFFER_LEVEL: Final = "*=*"  # the offer as a whole, in `counters()` rows


def _counter_key(offer_id: str, scope: str, shard: int) -> dict[str, str]:
    return {"pk": f"ARM#{offer_id}#{shard}", "sk": scope}


def _marker_key(batch_id: str, part: int | None = None) -> dict[str, str]:
    return {"pk": f"AGGREGATED#{batch_id}", "sk": "PLAN" if part is None else f"PART#{part:04d}"}


def _expiry(at: datetime) -> int:
    return int(at.timestamp()) + MARKER_TTL_SECONDS


class LearningStore:
    """Counters, chunk markers, spend and the model pointer (DynamoDB), the model itself (S3)."""

    def __init__(
        self, ddb: Any, *, counters_table: str, markers_table: str, s3: Any, model_bucket: str
    ) -> None:
        self._ddb = ddb
        self._table = counters_table
        self._markers_table = markers_table
        self._s3 = s3
        self._bucket = model_bucket

    # -- aggregation ---------------------------------------------------------------------------

    def counter_writes(self, fold: FeedbackFold, *, shard: int) -> list[dict[str, Any]]:
        """The counter and spend ADDs of a fold, one `Update` per item (for `apply_part`)."""
        writes = [
            self._add(_counter_key(offer_id, scope, shard), _counter_attributes(rows))
            for (offer_id, scope), rows in sorted(fold.counters.items())
        ]
        by_period: dict[tuple[str, str], int] = {}
        for (partner_id, currency, period), amount in sorted(fold.spend.items()):
            by_period[(period, f"{partner_id}#{currency}")] = amount
        writes += [
            self._add({"pk": f"SPEND#{period}", "sk": sk}, {"spend_minor": amount})
            for (period, sk), amount in by_period.items()
        ]
        return [write for write in writes if write]

    def _add(self, key: Mapping[str, str], amounts: Mapping[str, int]) -> dict[str, Any]:
        additions = {name: amount for name, amount in amounts.items() if amount}
        if not additions:
            return {}
        names = {f"#a{i}": name for i, name in enumerate(additions)}
        values = {f":a{i}": {"N": str(amount)} for i, amount in enumerate(additions.values())}
        return {
            "Update": {
                "TableName": self._table,
                "Key": serialize(key),
                "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(additions))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def plan_batch(self, batch_id: str, last_sequence: int, at: datetime) -> int:
        """The last sequence number of the batch that starts with record `batch_id`: the one planned
        before if it was (a redelivery), else `last_sequence`, planned now."""
        plan = {**_marker_key(batch_id), "last_sequence": last_sequence, "expires_at": _expiry(at)}
        try:
            self._ddb.put_item(
                TableName=self._markers_table,
                Item=serialize(plan),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            found = self._ddb.get_item(
                TableName=self._markers_table, Key=serialize(_marker_key(batch_id)), ConsistentRead=True
            )
            return int(deserialize(found["Item"])["last_sequence"])
        return last_sequence

    def apply_part(self, batch_id: str, part: int, writes: list[dict[str, Any]], at: datetime) -> bool:
        """Apply one part of a batch's writes (≤ 99) with its marker, in one transaction; False when
        that part was applied before (its marker exists)."""
        marker = {**_marker_key(batch_id, part), "expires_at": _expiry(at)}
        put_marker = {
            "Put": {
                "TableName": self._markers_table,
                "Item": serialize(marker),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        try:
            self._ddb.transact_write_items(TransactItems=[put_marker, *writes])
        except self._ddb.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            if reasons[:1] and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            codes = ", ".join(reason.get("Code", "None") for reason in reasons)
            raise StoreUnavailable(f"transaction cancelled ({codes}); retry") from error
        return True

    # -- reading -------------------------------------------------------------------------------

    def counter_items(self) -> Iterator[tuple[str, str, dict[Row, dict[str, int]]]]:
        """Every offer's counters as (offer id, scope, row → counters): one Scan, for the trainer."""
        paginator = self._ddb.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._table,
            FilterExpression="begins_with(pk, :arm)",
            ExpressionAttributeValues={":arm": {"S": "ARM#"}},
        )
        for page in pages:
            for raw in page["Items"]:
                item = deserialize(raw)
                offer_id = str(item["pk"]).removeprefix("ARM#").rsplit("#", 1)[0]
                yield offer_id, str(item["sk"]), _rows_of(item)

    def counters(self, offer_id: str) -> list[dict[str, Any]]:
        """One offer's counters, summed over its write shards and retailers, as rows
        `{"sk": "<feature>=<value>", <counter>: n}`; segment rows are named
        `segment=<retailer id>/<segment>`."""
        keys = [serialize({"pk": f"ARM#{offer_id}#{shard}"}) for shard in range(WRITE_SHARDS)]
        rows: dict[str, dict[str, Any]] = {}
        for key in keys:
            response = self._ddb.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": key["pk"]},
                ConsistentRead=True,
            )
            for raw in response["Items"]:
                item = deserialize(raw)
                scope = str(item["sk"])
                for (feature, value), counters in _rows_of(item).items():
                    shown_value = model_value(scope, feature, value)
                    row = rows.setdefault(f"{feature}={shown_value}", {"sk": f"{feature}={shown_value}"})
                    for counter, amount in counters.items():
                        row[counter] = row.get(counter, 0) + amount
        return list(rows.values())

    def item_sizes(self) -> list[int]:
        """The size in bytes of every counter item, as DynamoDB counts it (names + values)."""
        sizes = []
        for page in self._ddb.get_paginator("scan").paginate(TableName=self._table):
            for raw in page["Items"]:
                if raw["pk"]["S"].startswith("ARM#"):
                    sizes.append(_item_bytes(raw))
        return sizes

    def spend(self, periods: list[str]) -> dict[tuple[str, str, str], int]:
        """Payouts owed per (partner, currency, period) for these periods (a Query each)."""
        owed: dict[tuple[str, str, str], int] = {}
        for period in periods:
            response = self._ddb.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"SPEND#{period}"}},
                ConsistentRead=True,
            )
            for raw in response["Items"]:
                item = deserialize(raw)
                partner_id, _, currency = str(item["sk"]).partition("#")
                owed[(partner_id, currency, period)] = int(item.get("spend_minor", 0))
        return owed

    # -- the published model -------------------------------------------------------------------

    def model_pointer_key(self) -> tuple[str, dict[str, Any]]:
        """The table and key of the model pointer (decide reads it with its other state)."""
        return self._table, serialize(MODEL_KEY)

    def model_pointer(self) -> dict[str, Any] | None:
        """The published model's version, key and digest, or None before the first."""
        found = self._ddb.get_item(TableName=self._table, Key=serialize(MODEL_KEY), ConsistentRead=True)
        return deserialize(found["Item"]) if "Item" in found else None

    def publish_model(self, version: int, digest: str, blob: bytes, at: datetime) -> bool:
        """Store a model and point at it, unless someone published this version first."""
        key = f"models/learning/v{version:012d}-{digest[:16]}.json.gz"
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=blob, ContentType="application/json")
        pointer = {**MODEL_KEY, "version": version, "object_key": key, "digest": digest, "at": at.isoformat()}
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=serialize(pointer),
                ConditionExpression="attribute_not_exists(pk) OR version < :version",
                ExpressionAttributeValues={":version": {"N": str(version)}},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def read_model(self, object_key: str) -> bytes:
        """A published model's bytes."""
        body: bytes = self._s3.get_object(Bucket=self._bucket, Key=object_key)["Body"].read()
        return body


def _counter_attributes(rows: Mapping[Row, Mapping[str, int]]) -> dict[str, int]:
    return {
        f"{COUNTER_CODES[counter]}|{feature}={value}": amount
        for (feature, value), counters in rows.items()
        for counter, amount in counters.items()
    }


def _rows_of(item: Mapping[str, Any]) -> dict[Row, dict[str, int]]:
    rows: dict[Row, dict[str, int]] = {}
    for attribute, value in item.items():
        code, separator, row = attribute.partition("|")
        if separator and code in COUNTER_NAMES:
            feature, _, row_value = row.partition("=")
            rows.setdefault((feature, row_value), {})[COUNTER_NAMES[code]] = int(value)
    return rows


def _item_bytes(raw: Mapping[str, Any]) -> int:
    size = 0
    for name, value in raw.items():
        size += len(name.encode())
        for kind, content in value.items():
            parts = content if kind in ("SS", "NS") else [content]
            size += sum(len(str(part).encode()) for part in parts)
    return size
