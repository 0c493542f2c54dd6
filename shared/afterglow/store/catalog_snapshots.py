"""The catalog snapshot's storage: the Catalog table holds it (which `decide` may already read)
as binary chunks under `SNAPSHOT#<version>#<snapshot id>`, each well below DynamoDB's 400 KB item
limit. A pointer item (pk CATALOG, sk SNAPSHOT), written only after every chunk, names the
published one, so a reader never sees half a snapshot. Mixed into `CatalogStore`.
"""

from collections.abc import Callable
from typing import Any

from afterglow.store.dynamo import back_off_if, deserialize, is_conditional_failure, serialize

SNAPSHOT_POINTER_KEY = {"pk": "CATALOG", "sk": "SNAPSHOT"}
SNAPSHOT_CHUNK_BYTES = 350_000


class CatalogSnapshots:
    """Snapshot pointer and chunks, on the catalog store's client and table."""

    _ddb: Any
    _table: str
    _batch_write: Callable[..., int]  # CatalogStore's: BatchWriteItem until nothing is unprocessed

    def snapshot_pointer(self) -> dict[str, Any] | None:
        """Which snapshot is published (version, key, chunks), or None before the first one."""
        response = self._ddb.get_item(
            TableName=self._table, Key=serialize(SNAPSHOT_POINTER_KEY), ConsistentRead=True
        )
        return deserialize(response["Item"]) if "Item" in response else None

    def write_snapshot(self, version: int, snapshot_id: str, blob: bytes) -> bool:
        """Store a snapshot of catalog `version` and publish it, unless one of the same or a later
        version is already published (then nothing stays written and the answer is False).
        The snapshot published before the previous one is deleted: readers still loading the
        previous one keep their chunks."""
        previous = self.snapshot_pointer() or {}
        if int(previous.get("snapshot_version", -1)) >= version:
            return False
        key = f"SNAPSHOT#{version:012d}#{snapshot_id}"
        chunks = [blob[i : i + SNAPSHOT_CHUNK_BYTES] for i in range(0, len(blob), SNAPSHOT_CHUNK_BYTES)]
        self._write_chunks(key, chunks)
        pointer = {
            **SNAPSHOT_POINTER_KEY,
            "snapshot_version": version,
            "snapshot_key": key,
            "chunks": len(chunks),
            "bytes": len(blob),
            "previous_key": previous.get("snapshot_key"),
            "previous_chunks": previous.get("chunks"),
        }
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=serialize(pointer),
                ConditionExpression="attribute_not_exists(pk) OR snapshot_version < :version",
                ExpressionAttributeValues={":version": {"N": str(version)}},
            )
        except Exception as error:
            if not is_conditional_failure(error):
                raise
            # A newer snapshot won the race; ours is garbage unless it is the very same one.
            if (self.snapshot_pointer() or {}).get("snapshot_key") != key:
                self._delete_chunks(key, len(chunks))
            return False
        if previous.get("previous_key") and previous["previous_key"] != key:
            self._delete_chunks(str(previous["previous_key"]), int(previous.get("previous_chunks") or 0))
        return True

    def read_snapshot(self, version: int | None = None) -> tuple[int, bytes] | None:
        """The published snapshot as (version, bytes); None if there is none, if it is not of
        `version` (when given), or if a chunk is missing."""
        pointer = self.snapshot_pointer()
        if pointer is None or (version is not None and int(pointer["snapshot_version"]) != version):
            return None
        key, count = str(pointer["snapshot_key"]), int(pointer["chunks"])
        chunks: dict[str, bytes] = {}
        for start in range(0, count, 100):
            keys = [
                {"pk": {"S": key}, "sk": {"S": f"CHUNK#{i:04d}"}}
                for i in range(start, min(count, start + 100))
            ]
            request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self._ddb.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    chunks[item["sk"]["S"]] = item["data"]["B"]
                request = response.get("UnprocessedKeys") or {}
                back_off_if(request)
        if len(chunks) != count:
            return None
        return int(pointer["snapshot_version"]), b"".join(chunks[f"CHUNK#{i:04d}"] for i in range(count))

    def _write_chunks(self, key: str, chunks: list[bytes]) -> None:
        requests = [
            {"PutRequest": {"Item": {"pk": {"S": key}, "sk": {"S": f"CHUNK#{i:04d}"}, "data": {"B": chunk}}}}
            for i, chunk in enumerate(chunks)
        ]
        self._batch_write(requests)

    def _delete_chunks(self, key: str, count: int) -> None:
        self._batch_write(
            [
                {"DeleteRequest": {"Key": {"pk": {"S": key}, "sk": {"S": f"CHUNK#{i:04d}"}}}}
                for i in range(count)
            ]
        )
