"""Catalog table: retailers, partners, offers and API-key hashes.

Single-table layout: `pk` = `<TYPE>#<id>`, `sk` = `PROFILE` (or `KEY`); GSI `by_type`
(`type_pk` = entity type, `type_sk` = id) lists one entity type with cursor pagination.
"""

from typing import Any

from afterglow.store.dynamo import (
    decode_cursor,
    deserialize,
    encode_cursor,
    is_conditional_failure,
    query_pages,
    serialize,
)

VERSION_KEY = {"pk": "CATALOG", "sk": "VERSION"}


class AlreadyExists(Exception):
    """A create found an item with the same key."""


class VersionConflict(Exception):
    """An update lost a race: the item changed since it was read."""


class CatalogStore:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    # --- generic entity access ---------------------------------------------------------------

    def _entity_item(self, entity: str, entity_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "pk": f"{entity}#{entity_id}",
            "sk": "PROFILE",
            "type_pk": entity,
            "type_sk": entity_id,
            **body,
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
        writes += [self._put_new({"pk": f"KEY#{key['key_hash']}", "sk": "KEY", **key}) for key in keys or []]
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
        start = decode_cursor(cursor)
        if start:
            kwargs["ExclusiveStartKey"] = start
        try:
            response = self._ddb.query(**kwargs)
        except self._ddb.exceptions.ClientError as error:
            if start and error.response["Error"]["Code"] == "ValidationException":
                raise ValueError("cursor is not one this API returned") from error
            raise
        return [deserialize(item) for item in response["Items"]], encode_cursor(
            response.get("LastEvaluatedKey")
        )

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
        """Replace an entity if nobody changed it since `expected_version` (optimistic concurrency);
        `VersionConflict` otherwise. The stored version becomes expected_version + 1."""
        item = self._entity_item(entity, entity_id, {**body, "version": expected_version + 1})
        write = {
            "Put": {
                "TableName": self._table,
                "Item": serialize(item),
                "ConditionExpression": "attribute_exists(pk) AND version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
            }
        }
        try:
            self._ddb.transact_write_items(TransactItems=[write, self._bump_version()])
        except self._ddb.exceptions.TransactionCanceledException as error:
            raise VersionConflict(f"{entity} {entity_id} changed since version {expected_version}") from error

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

    def find_key(self, key_hash: str) -> dict[str, Any] | None:
        """The key record for a key hash, or None."""
        response = self._ddb.get_item(
            TableName=self._table, Key=serialize({"pk": f"KEY#{key_hash}", "sk": "KEY"})
        )
        return deserialize(response["Item"]) if "Item" in response else None

    def put_key(self, key: dict[str, Any]) -> None:
        """Store a new key hash; a collision (impossible for random keys) is refused."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=serialize({"pk": f"KEY#{key['key_hash']}", "sk": "KEY", **key}),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except Exception as error:
            if is_conditional_failure(error):
                raise AlreadyExists("key") from error
            raise
