"""The aggregator: ledger stream records folded into learning counters, each record exactly once.

A delivered batch of stream records (one shard, in order) is folded as a whole, so each counter
item is written once per batch however many records touch it (a hot offer is not written per
record). The fold's writes are applied in parts of at most `MAX_ITEMS_PER_PART` items, each part
in one transaction with a marker of its own (`LearningStore.apply_part`), after a plan marker
names the batch: its first record and its last sequence number.

A redelivery (a crash after some parts, a retry of the whole batch, a longer batch from the same
first record) finds the plan, folds exactly the records it covers again — the same records, the
same fold, the same parts — and skips the parts whose markers exist; records past the plan start a
batch of their own. Lambda redelivers from a batch's first record (what this returns on a
failure), so a plan is always found by the record it starts with.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from afterglow.feedback import LEARNED_KINDS, FeedbackFold
from afterglow.observability import logger, metrics
from afterglow.services.catalog_cache import catalog_cache
from afterglow.store import Stores
from afterglow.store.dynamo import deserialize
from afterglow.store.learning import MAX_ITEMS_PER_TRANSACTION, WRITE_SHARDS

MAX_ITEMS_PER_PART = MAX_ITEMS_PER_TRANSACTION - 1  # and its marker


@dataclass(frozen=True)
class StreamRecord:
    """One ledger stream record: its event id and sequence number, and the record (None when it
    is nothing learning counts: an update, a delivery log line, a survey answer …)."""

    event_id: str
    sequence: int
    record: dict[str, Any] | None


def stream_records(event: Mapping[str, Any]) -> list[StreamRecord]:
    """The records of a Lambda DynamoDB-stream event, in order."""
    records = []
    for raw in event.get("Records", []):
        image = raw.get("dynamodb", {}).get("NewImage")
        record = deserialize(image) if raw.get("eventName") == "INSERT" and image else None
        if record is not None and record.get("kind") not in LEARNED_KINDS:
            record = None
        records.append(StreamRecord(str(raw["eventID"]), int(raw["dynamodb"]["SequenceNumber"]), record))
    return records


def aggregate(stores: Stores, records: Sequence[StreamRecord], now: datetime | None = None) -> list[int]:
    """Fold these records into the counters, each once; returns the sequence numbers to retry from
    (empty when all is done), as Lambda's ReportBatchItemFailures takes them."""
    at = now or datetime.now(UTC)
    index = catalog_cache.get(stores.catalog)
    segments_of = {retailer_id: retailer.segments for retailer_id, retailer in index.retailers.items()}
    start = 0
    while start < len(records):
        first = records[start]
        try:
            last = stores.learning.plan_batch(first.event_id, records[-1].sequence, at)
            batch = [item for item in records[start:] if item.sequence <= last]
            if batch[-1].sequence != last:
                # Delivered shorter than planned (Lambda redelivers at least as much): try again.
                logger.warning("batch shorter than its plan", extra={"first": first.sequence, "last": last})
                return [first.sequence]
            _apply(stores, first.event_id, batch, segments_of, at)
        except Exception:
            logger.exception("aggregation failed; Lambda retries from the batch's first record")
            metrics.add_metric(name="AggregationRetried", unit="Count", value=1)
            return [first.sequence]
        metrics.add_metric(name="LedgerRecordsAggregated", unit="Count", value=len(batch))
        start += len(batch)
    return []


def _apply(
    stores: Stores,
    batch_id: str,
    batch: Sequence[StreamRecord],
    segments_of: Mapping[str, Iterable[str]],
    at: datetime,
) -> None:
    fold = FeedbackFold()
    for item in batch:
        if item.record is not None:
            fold.add(item.record, segments_of)
    writes = stores.learning.counter_writes(fold, shard=_write_shard(batch_id))
    for part, start in enumerate(range(0, len(writes), MAX_ITEMS_PER_PART)):
        applied = stores.learning.apply_part(batch_id, part, writes[start : start + MAX_ITEMS_PER_PART], at)
        if not applied:
            metrics.add_metric(name="AggregationPartsRedelivered", unit="Count", value=1)


def _write_shard(batch_id: str) -> int:
    """Which of an offer's write-sharded items a batch adds to (spreads a hot offer's writes)."""
    return int.from_bytes(hashlib.sha256(batch_id.encode()).digest()[:2], "big") % WRITE_SHARDS
