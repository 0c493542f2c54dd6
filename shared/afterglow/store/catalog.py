"""Catalog table: retailers, partners, offers and API-key hashes.

Single-table layout: `pk` = `<TYPE>#<id>`, `sk` = `PROFILE` (or `KEY`); GSI `by_type`
(`type_pk` = entity type, `type_sk` = id) lists one entity type with cursor pagination; GSI
`by_owner` (`owner_pk` = retailer or partner id, `owner_sk` = `OFFER#<id>` or `KEY#<key id>`)
lists what one retailer or partner owns.
"""

from typing import Any

from afterglow.store.catalog_snapshots import CatalogSnapshots
from afterglow.store.dynamo import (
    back_off_if,
    decode_cursor,
    deserialize,
    encode_cursor,
    is_conditional_failure,
    query_page,
    query_pages,
    serialize,
)

VERSION_KEY = {"pk": "CATALOG", "sk": "VERSION"}
PLATFORM_OWNER = "PLATFORM"  # the owner of platform keys in the `by_owner` index
# What a page's LastEvaluatedKey holds: the table's key and the index's.
BY_TYPE_START_KEY = frozenset({"pk", "sk", "type_pk", "type_sk"})
BY_OWNER_START_KEY = frozenset({"pk", "sk", "owner_pk", "owner_sk"})


# What a whole-item write of an entity carries along without owning it. A partner's webhook
# secrets change through `swap_webhook_secrets`, without a new version (rotating them must not
# conflict with profile edits nor reload the catalog); so a put that read the partner before a
# rotation must not land after it: it would restore a removed secret or drop an added one.
CARRIED_ATTRIBUTES: dict[str, tuple[str, ...]] = {"PARTNER": ("webhook_secrets",)}


def _if_unchanged(entity: str, body: dict[str, Any], expected_version: int) -> dict[str, Any]:
    """The condition of a whole-item put: the item exists at `expected_version`, and each carried
    attribute is still what `body` (read from the table) says it is."""
    conditions = ["attribute_exists(pk) AND version = :expected"]
    names: dict[str, str] = {}
    values: dict[str, Any] = {":expected": {"N": str(expected_version)}}
    for n, attribute in enumerate(CARRIED_ATTRIBUTES.get(entity, ())):
        names[f"#carried{n}"] = attribute
        if body.get(attribute) is None:
            conditions.append(f"attribute_not_exists(#carried{n})")
        else:
            conditions.append(f"#carried{n} = :carried{n}")
            values[f":carried{n}"] = serialize({"value": body[attribute]})["value"]
    condition: dict[str, Any] = {
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeValues": values,
    }
    if names:
        condition["ExpressionAttributeNames"] = names
    return condition


class AlreadyExists(Exception):
    """A create found an item with the same key."""


class VersionConflict(Exception):
    """An update lost a race: the item changed since it was read."""


class CatalogStore(CatalogSnapshots):
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    # --- generic entity access ---------------------------------------------------------------

    def _entity_item(self, entity: str, entity_id: str, body: dict[str, Any]) -> dict[str, Any]:
        owner = (
            {"owner_pk": body["partner_id"], "owner_sk": f"OFFER#{entity_id}"} if entity == "OFFER" else {}
        )
        return {
            "pk": f"{entity}#{entity_id}",
            "sk": "PROFILE",
            "type_pk": entity,
            "type_sk": entity_id,
            **owner,
            **body,
        }

    @staticmethod
    def _key_item(key: dict[str, Any]) -> dict[str, Any]:
        owner = key.get("retailer_id") or key.get("partner_id") or PLATFORM_OWNER
        return {
            "pk": f"KEY#{key['key_hash']}",
            "sk": "KEY",
            "owner_pk": owner,
            "owner_sk": f"KEY#{key['key_id']}",
            **key,
        }

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": serialize(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def create(
        self, entity: str, entity_id: str, body: dict[str, Any], *, keys: list[dict[str, Any]] | None = None
    ) -> None:
        """Create an entity and its key hashes in one transaction; nothing is written if any exists.

        The same transaction bumps the catalog version, so warm functions see the change at once.
        """
        writes = [self._put_new(self._entity_item(entity, entity_id, body))]
        writes += [self._put_new(self._key_item(key)) for key in keys or []]
        writes.append(self._bump_version())
        try:
            self._ddb.transact_write_items(TransactItems=writes)
        except self._ddb.exceptions.TransactionCanceledException as error:
            raise AlreadyExists(f"{entity} {entity_id}") from error

    def get(self, entity: str, entity_id: str) -> dict[str, Any] | None:
        """One entity's stored body, or None."""
        response = self._ddb.get_item(
            TableName=self._table, Key=serialize({"pk": f"{entity}#{entity_id}", "sk": "PROFILE"})
        )
        return deserialize(response["Item"]) if "Item" in response else None

    def page(self, entity: str, *, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """One page of entities of a type, in id order."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_type",
            "KeyConditionExpression": "type_pk = :t",
            "ExpressionAttributeValues": {":t": {"S": entity}},
            "Limit": limit,
        }
        items, last_key = query_page(self._ddb, kwargs, decode_cursor(cursor), key_names=BY_TYPE_START_KEY)
        return items, encode_cursor(last_key)

    def page_owned(
        self, owner: str, kind: str, *, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of what a retailer or partner owns of a kind (`OFFER` or `KEY`), in id order."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_owner",
            "KeyConditionExpression": "owner_pk = :o AND begins_with(owner_sk, :kind)",
            "ExpressionAttributeValues": {":o": {"S": owner}, ":kind": {"S": f"{kind}#"}},
            "Limit": limit,
        }
        items, last_key = query_page(self._ddb, kwargs, decode_cursor(cursor), key_names=BY_OWNER_START_KEY)
        return items, encode_cursor(last_key)

    def all_of(self, entity: str) -> list[dict[str, Any]]:
        """Every entity of a type (for the in-memory catalog of a warm `decide`)."""
        return list(
            query_pages(
                self._ddb,
                TableName=self._table,
                IndexName="by_type",
                KeyConditionExpression="type_pk = :t",
                ExpressionAttributeValues={":t": {"S": entity}},
            )
        )

    def replace(self, entity: str, entity_id: str, body: dict[str, Any], *, expected_version: int) -> None:
        """Replace an entity if nobody changed it since `expected_version` (optimistic concurrency)
        and the attributes it carries without owning are still as `body` has them (see
        `CARRIED_ATTRIBUTES`); `VersionConflict` otherwise. The stored version becomes
        expected_version + 1."""
        item = self._entity_item(entity, entity_id, {**body, "version": expected_version + 1})
        write = {
            "Put": {
                "TableName": self._table,
                "Item": serialize(item),
                **_if_unchanged(entity, body, expected_version),
            }
        }
        try:
            self._ddb.transact_write_items(TransactItems=[write, self._bump_version()])
        except self._ddb.exceptions.TransactionCanceledException as error:
            raise VersionConflict(f"{entity} {entity_id} changed since version {expected_version}") from error

    def swap_webhook_secrets(self, partner_id: str, expected: list[str], secrets: list[str]) -> bool:
        """Replace a partner's webhook secrets if they are still `expected` (False otherwise).
        Secrets are not part of the partner's profile version nor of the catalog snapshot, so
        rotating them neither bumps the partner's version nor makes functions reload the catalog;
        a profile write that read the partner before a rotation is refused instead (see
        `CARRIED_ATTRIBUTES`) and applied again on top of it."""
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=serialize({"pk": f"PARTNER#{partner_id}", "sk": "PROFILE"}),
                UpdateExpression="SET webhook_secrets = :new",
                ConditionExpression="attribute_exists(pk) AND webhook_secrets = :old",
                ExpressionAttributeValues=serialize({":new": secrets, ":old": expected}),
            )
        except Exception as error:
            if is_conditional_failure(error):
                return False
            raise
        return True

    # --- catalog version --------------------------------------------------------------------------

    def _bump_version(self) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": serialize(VERSION_KEY),
                "UpdateExpression": "ADD catalog_version :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }

    def version(self) -> int:
        """The catalog's change counter (0 before the first change): one cheap read per check."""
        response = self._ddb.get_item(
            TableName=self._table,
            Key=serialize(VERSION_KEY),
            ProjectionExpression="catalog_version",
            ConsistentRead=True,
        )
        return int(response.get("Item", {}).get("catalog_version", {}).get("N", 0))

    # --- keys --------------------------------------------------------------------------------

    def find_key(self, key_hash: str, *, consistent: bool = False) -> dict[str, Any] | None:
        """The key record for a key hash, or None; `consistent` reads what the last write left."""
        response = self._ddb.get_item(
            TableName=self._table,
            Key=serialize({"pk": f"KEY#{key_hash}", "sk": "KEY"}),
            ConsistentRead=consistent,
        )
        return deserialize(response["Item"]) if "Item" in response else None

    def put_key(self, key: dict[str, Any]) -> None:
        """Store a new key hash; a collision (impossible for random keys) is refused."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=serialize(self._key_item(key)),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except Exception as error:
            if is_conditional_failure(error):
                raise AlreadyExists("key") from error
            raise

    def find_owned_key(self, owner: str, key_id: str) -> dict[str, Any] | None:
        """The key record with this id among an owner's keys (`PLATFORM` for platform keys)."""
        response = self._ddb.query(
            TableName=self._table,
            IndexName="by_owner",
            KeyConditionExpression="owner_pk = :o AND owner_sk = :k",
            ExpressionAttributeValues={":o": {"S": owner}, ":k": {"S": f"KEY#{key_id}"}},
        )
        items = response.get("Items", [])
        return deserialize(items[0]) if items else None

    def revoke_key(self, key_hash: str, revoked_at: str) -> dict[str, Any]:
        """Mark a key revoked (once: a second revocation keeps the first time); the record after."""
        try:
            response = self._ddb.update_item(
                TableName=self._table,
                Key=serialize({"pk": f"KEY#{key_hash}", "sk": "KEY"}),
                UpdateExpression="SET #status = :revoked, revoked_at = :at",
                ConditionExpression="attribute_exists(pk) AND #status = :active",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=serialize(
                    {":revoked": "revoked", ":at": revoked_at, ":active": "active"}
                ),
                ReturnValues="ALL_NEW",
            )
        except Exception as error:
            if not is_conditional_failure(error):
                raise
            found = self.find_key(key_hash, consistent=True)
            if found is None:
                raise
            return found
        return deserialize(response["Attributes"])

    # --- bulk import ---------------------------------------------------------------------------

    def get_many(
        self, entity: str, entity_ids: list[str], *, attributes: list[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """The stored bodies of many entities of one type, by id, read with strongly consistent
        BatchGetItem (100 keys a call); ids that do not exist are absent. `attributes` limits what
        is read back (the key is always included)."""
        projection: dict[str, Any] = {}
        if attributes:
            names = {f"#a{i}": name for i, name in enumerate(["pk", *attributes])}
            projection = {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        found: dict[str, dict[str, Any]] = {}
        unique_ids = list(dict.fromkeys(entity_ids))
        for start in range(0, len(unique_ids), 100):
            keys = [
                serialize({"pk": f"{entity}#{i}", "sk": "PROFILE"}) for i in unique_ids[start : start + 100]
            ]
            request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True, **projection}}
            while request:
                response = self._ddb.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    body = deserialize(item)
                    found[str(body["pk"]).removeprefix(f"{entity}#")] = body
                request = response.get("UnprocessedKeys") or {}
                back_off_if(request)
        return found

    def put_new_entities(self, entities: list[tuple[str, str, dict[str, Any]]]) -> int:
        """Write entities that a strongly consistent read just found absent, as
        `(entity, entity_id, body)`, with BatchWriteItem (25 a call); returns the calls made.

        BatchWriteItem cannot be conditional: callers use it only for ids that no one else mints
        (the admin API mints random ids, an import file names its own)."""
        requests = [
            {"PutRequest": {"Item": serialize(self._entity_item(entity, entity_id, body))}}
            for entity, entity_id, body in entities
        ]
        return self._batch_write(requests, per_call=25)

    def put_if_version(
        self, entity: str, entity_id: str, body: dict[str, Any], *, expected_version: int
    ) -> bool:
        """Replace an entity if it is still at `expected_version` (stored at expected_version + 1)
        and its carried attributes are as `body` has them; False if it changed meanwhile. Unlike
        `replace`, the catalog version is not bumped: the caller bumps once for a whole batch
        (`bump_version`)."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=serialize(
                    self._entity_item(entity, entity_id, {**body, "version": expected_version + 1})
                ),
                **_if_unchanged(entity, body, expected_version),
            )
        except Exception as error:
            if is_conditional_failure(error):
                return False
            raise
        return True

    def bump_version(self) -> int:
        """Announce a batch of changes to warm functions: the catalog version + 1 (returned)."""
        update = self._bump_version()["Update"]
        response = self._ddb.update_item(**update, ReturnValues="UPDATED_NEW")
        return int(response["Attributes"]["catalog_version"]["N"])

    def scan_entities(self, entities: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Every entity of the given types, by type, read from the table itself with strongly
        consistent reads: unlike the `by_type` index, which can lag a write by a moment, this sees
        every change up to the moment it runs (what a snapshot must be built from)."""
        found: dict[str, list[dict[str, Any]]] = {entity: [] for entity in entities}
        names = {f":t{i}": {"S": entity} for i, entity in enumerate(entities)}
        paginator = self._ddb.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self._table,
            ConsistentRead=True,
            FilterExpression=f"sk = :profile AND type_pk IN ({', '.join(names)})",
            ExpressionAttributeValues={":profile": {"S": "PROFILE"}, **names},
        ):
            for item in page["Items"]:
                body = deserialize(item)
                found[str(body["type_pk"])].append(body)
        return found

    def _batch_write(self, requests: list[dict[str, Any]], *, per_call: int = 10) -> int:
        """BatchWriteItem until nothing is left unprocessed; returns the calls made. At most 25
        requests and 16 MB a call: snapshot chunks are ~350 KB, hence 10 of them by default."""
        calls = 0
        for start in range(0, len(requests), per_call):
            pending: dict[str, Any] = {self._table: requests[start : start + per_call]}
            while pending:
                pending = self._ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                calls += 1
                back_off_if(pending)
        return calls
