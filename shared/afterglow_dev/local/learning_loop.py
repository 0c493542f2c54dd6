"""The learning loop locally, as AWS runs it: the ledger's stream feeds the aggregator, a timer runs
the trainer. Both are the template's own functions (their DynamoDB-stream and Schedule events),
invoked with the events Lambda would send.

`LearningLoop.run_once()` drains the stream and trains once (tests call it to see an event reach
the published model); `afterglow local` runs it on a short timer in a thread.
"""

import threading
from pathlib import Path
from typing import Any

import boto3

from afterglow_dev.local.gateway import FakeLambdaContext, load_function_module
from afterglow_dev.local.template import Template

ROOT = Path(__file__).resolve().parents[3]


def read_stream(table: str) -> list[dict[str, Any]]:
    """Every record of a table's stream so far, in order (shard after shard), as Lambda gets them."""
    ddb, streams = boto3.client("dynamodb"), boto3.client("dynamodbstreams")
    stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        reader = _ShardReader(streams, stream_arn, shard["ShardId"])
        for _ in range(100_000):  # bounded: a shard holds what this process wrote
            batch = reader.read(1_000)
            if not batch:
                break
            records += [{**record, "eventSourceARN": stream_arn} for record in batch]
    return records


class _ShardReader:
    """One stream shard, read from its start, redelivered from a failed record as Lambda does."""

    def __init__(self, streams: Any, stream_arn: str, shard_id: str) -> None:
        self._streams, self._arn, self._shard = streams, stream_arn, shard_id
        self._iterator: str | None = self._new_iterator("TRIM_HORIZON")

    def _new_iterator(self, kind: str, sequence: str | None = None) -> str | None:
        extra = {"SequenceNumber": sequence} if sequence else {}
        answer = self._streams.get_shard_iterator(
            StreamArn=self._arn, ShardId=self._shard, ShardIteratorType=kind, **extra
        )
        iterator = answer.get("ShardIterator")
        return str(iterator) if iterator else None

    def read(self, limit: int) -> list[dict[str, Any]]:
        if self._iterator is None:
            return []
        answer = self._streams.get_records(ShardIterator=self._iterator, Limit=limit)
        self._iterator = answer.get("NextShardIterator")
        return list(answer.get("Records", []))

    def rewind_to(self, sequence: str) -> None:
        self._iterator = self._new_iterator("AT_SEQUENCE_NUMBER", sequence)


class LearningLoop:
    """The stream consumers and scheduled functions of template.yaml, run in this process."""

    def __init__(self, template: Template, physical_names: dict[str, str]) -> None:
        self._ddb = boto3.client("dynamodb")
        self._streams = boto3.client("dynamodbstreams")
        self._consumers = [
            (load_function_module(ROOT, spec), physical_names[table], batch)
            for spec, table, batch in template.stream_consumers()
        ]
        self._scheduled = [load_function_module(ROOT, spec) for spec in template.scheduled_functions()]
        self._readers: dict[str, _ShardReader] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Deliver every stream record written so far to its consumer, then run each scheduled
        function once; returns how many stream records were delivered."""
        with self._lock:
            delivered = sum(self._drain(module, table, batch) for module, table, batch in self._consumers)
            for module in self._scheduled:
                module.lambda_handler({"detail-type": "Scheduled Event"}, FakeLambdaContext("scheduled"))
            return delivered

    def _drain(self, module: Any, table: str, batch_size: int) -> int:
        stream_arn = self._ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        shards = self._streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        delivered = 0
        for shard in shards:
            reader = self._readers.get(shard["ShardId"])
            if reader is None:
                reader = self._readers[shard["ShardId"]] = _ShardReader(
                    self._streams, stream_arn, shard["ShardId"]
                )
            for _ in range(10_000):  # bounded: a shard holds what this process wrote
                records = reader.read(batch_size)
                if not records:
                    break
                event = {"Records": [{**record, "eventSourceARN": stream_arn} for record in records]}
                answer = module.lambda_handler(event, FakeLambdaContext("aggregate"))
                failures = [item["itemIdentifier"] for item in answer.get("batchItemFailures", [])]
                if failures:  # as Lambda does: retry from the failed record (next round)
                    reader.rewind_to(min(failures, key=int))
                    break
                delivered += len(records)
        return delivered

    def start(self, every_seconds: float = 2.0) -> None:
        """Run the loop in a daemon thread until `stop()`."""

        def loop() -> None:
            while not self._stop.wait(every_seconds):
                try:
                    self.run_once()
                except Exception as error:  # keep the local stack serving; say what failed
                    print(f"learning loop: {type(error).__name__}: {error}", flush=True)

        self._thread = threading.Thread(target=loop, name="learning-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
