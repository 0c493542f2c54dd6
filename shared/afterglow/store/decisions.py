"""The decision path's two round trips: one read before choosing, one transaction after.

1. `read_state`: BatchGetItem of the catalog version (Catalog table), the customer's exposure
   counts (Learning table) and the published learning model's pointer (Counters table) — one call.
2. `record_decision`: TransactWriteItems of the decision (Ledger, write-once) and the exposure
   counts (Learning, atomic ADD) — one call; a page reload cancels both, so it neither counts an
   exposure twice nor records a second decision.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from afterglow.store import keys
from afterglow.store.catalog import VERSION_KEY
from afterglow.store.dynamo import deserialize, serialize
from afterglow.store.learning import MODEL_KEY
from afterglow.store.ledger import LedgerStore

EXPOSURE_RETENTION = timedelta(days=30)  # a frequency cap counts offers made in the last 30 days
EXPOSURE_PREFIX = "seen_"


@dataclass(frozen=True)
class DecisionKey:
    """What names a decision: retailer, order, placement and the digest of the request's content."""

    retailer_id: str
    order_id: str
    placement: str
    content_digest: str

    def pk(self) -> str:
        return keys.decision(self.retailer_id, self.order_id, self.placement, self.content_digest)


@dataclass(frozen=True)
class DecisionState:
    catalog_version: int
    exposures: dict[str, int]  # offer id -> times offered to this customer
    model: dict[str, Any] | None = None  # the learning model's pointer (version, object key), if any


def exposure_key(retailer_id: str, customer_hash: str) -> dict[str, str]:
    return {"pk": f"CUSTOMER#{retailer_id}#{customer_hash}", "sk": "EXPOSURES"}


class DecisionStore:
    def __init__(
        self, ddb: Any, *, catalog_table: str, learning_table: str, counters_table: str, ledger: LedgerStore
    ) -> None:
        self._ddb = ddb
        self._catalog_table = catalog_table
        self._learning_table = learning_table
        self._counters_table = counters_table
        self._ledger = ledger

    def read_state(self, retailer_id: str, customer_hash: str) -> DecisionState:
        """Catalog version, the customer's exposures and the model pointer, in one BatchGetItem."""
        request: dict[str, Any] = {
            self._catalog_table: {"Keys": [serialize(VERSION_KEY)], "ConsistentRead": True},
            self._learning_table: {"Keys": [serialize(exposure_key(retailer_id, customer_hash))]},
            self._counters_table: {"Keys": [serialize(MODEL_KEY)]},
        }
        response = self._ddb.batch_get_item(RequestItems=request)
        if response.get("UnprocessedKeys"):  # throttled: one more try for what is left
            retry = self._ddb.batch_get_item(RequestItems=response["UnprocessedKeys"])
            for table, items in retry.get("Responses", {}).items():
                response["Responses"].setdefault(table, []).extend(items)
        found = response.get("Responses", {})
        version_items = [deserialize(item) for item in found.get(self._catalog_table, [])]
        exposure_items = [deserialize(item) for item in found.get(self._learning_table, [])]
        model_items = [deserialize(item) for item in found.get(self._counters_table, [])]
        version = int(version_items[0].get("catalog_version", 0)) if version_items else 0
        exposures = {
            name.removeprefix(EXPOSURE_PREFIX): int(count)
            for item in exposure_items
            for name, count in item.items()
            if name.startswith(EXPOSURE_PREFIX)
        }
        return DecisionState(version, exposures, model_items[0] if model_items else None)

    def record_decision(
        self,
        key: DecisionKey,
        at: datetime,
        body: dict[str, Any],
        *,
        retailer_id: str,
        customer_hash: str,
        offer_ids: list[str],
    ) -> dict[str, Any] | None:
        """Write the decision once and count its offers against the customer; None when written,
        else the decision recorded earlier for the same key (a reload)."""
        writes: list[dict[str, Any]] = [self._ledger.put_new_request(key.pk(), "decision", at, body)]
        if offer_ids:
            names = {f"#o{i}": f"{EXPOSURE_PREFIX}{offer_id}" for i, offer_id in enumerate(offer_ids)}
            adds = ", ".join(f"{name} :one" for name in names)
            writes.append(
                {
                    "Update": {
                        "TableName": self._learning_table,
                        "Key": serialize(exposure_key(retailer_id, customer_hash)),
                        "UpdateExpression": f"ADD {adds} SET expires_at = :expires",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": {
                            ":one": {"N": "1"},
                            ":expires": {"N": str(int((at + EXPOSURE_RETENTION).timestamp()))},
                        },
                    }
                }
            )
        if not self._ledger.transact_once(writes):
            return self._ledger.get(key.pk()) or {}
        return None

    def recorded_decision(self, key: DecisionKey) -> dict[str, Any] | None:
        """The decision recorded under `key`, if any (after a write whose outcome is unknown)."""
        return self._ledger.get(key.pk())
