"""The learning loop locally, as AWS runs it: the ledger's stream feeds the aggregator, a timer runs
the trainer. Both are the template's own functions (their DynamoDB-stream and Schedule events),
invoked with the events Lambda would send.

`LearningLoop.run_once()` drains the stream and trains once (tests call it to see an event reach
the published model); `afterglow local` runs it on a short timer in a process of its own
(`LearningLoopProcess`), as AWS runs these functions apart from the HTTP ones: the stack's process
serves every AWS call, and reading and folding the stream would take its time from them.
"""

import contextlib
import multiprocessing
import os
import signal
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import boto3

from afterglow_dev.local.gateway import FakeLambdaContext, load_function_module
from afterglow_dev.local.template import Template

ROOT = Path(__file__).resolve().parents[3]
STOP_GRACE_S = 2.0


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


def _run_loop(
    connection: Connection,
    template_path: str,
    physical_names: dict[str, str],
    environment: dict[str, str],
    every_seconds: float,
) -> None:
    """The loop's process: the stack's environment, then a round every `every_seconds` until told
    to stop or the stack's process is gone (the pipe closes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the stack stops us, not the terminal's Ctrl-C
    os.environ.update(environment)
    loop = LearningLoop(Template(Path(template_path)), physical_names)
    while not connection.poll(every_seconds):
        try:
            loop.run_once()
        except Exception as error:  # keep the local stack serving; say what failed
            print(f"learning loop: {type(error).__name__}: {error}", flush=True)


class LearningLoopProcess:
    """`LearningLoop` on a timer in a process of its own (spawned: the stack's process has threads)."""

    def __init__(
        self, template_path: Path, physical_names: dict[str, str], environment: dict[str, str]
    ) -> None:
        self._args = (str(template_path), dict(physical_names), dict(environment))
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None

    def start(self, every_seconds: float = 2.0) -> None:
        parent_end, child_end = self._context.Pipe()
        self._process = self._context.Process(
            target=_run_loop,
            args=(child_end, *self._args, every_seconds),
            name="afterglow-learning",
            daemon=True,
        )
        self._process.start()
        child_end.close()
        self._connection = parent_end

    def stop(self) -> None:
        """Stop after the round in progress, or end it: an aggregation cut short is redelivered and
        applied exactly once (`afterglow.services.aggregation`), so nothing is lost or doubled."""
        if self._process is None or self._connection is None:
            return
        with contextlib.suppress(OSError):
            self._connection.send(None)
        self._process.join(STOP_GRACE_S)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        self._connection.close()
