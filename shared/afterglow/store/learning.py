"""Learning table: per offer × context-feature counters, updated only with atomic ADDs.

`pk` = `OFFER#<offer_id>`, `sk` = `<feature>=<value>` (`*=*` for the offer as a whole). Counters:
`shown`, `engaged`, `converted`, `revenue_minor`. Reading one offer's rows is one query; the
decision path reads a summary of all of them from its cache.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from afterglow.store.dynamo import query_pages, serialize

OFFER_LEVEL = "*=*"


def feature_keys(context: Mapping[str, str]) -> list[str]:
    """The counter rows one piece of feedback updates: the offer, and the offer × each feature."""
    return [OFFER_LEVEL, *(f"{feature}={value}" for feature, value in sorted(context.items()) if value)]


class LearningStore:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def add_feedback(self, offer_id: str, context: Mapping[str, str], **counters: int) -> None:
        """Atomically add counters (e.g. shown=1) to every row of this offer × context, in one call."""
        increments = {name: value for name, value in counters.items() if value}
        if not increments:
            return
        expression = "ADD " + ", ".join(f"#{name} :{name}" for name in increments)
        updates = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": serialize({"pk": f"OFFER#{offer_id}", "sk": row}),
                    "UpdateExpression": expression,
                    "ExpressionAttributeNames": {f"#{name}": name for name in increments},
                    "ExpressionAttributeValues": {
                        f":{name}": {"N": str(value)} for name, value in increments.items()
                    },
                }
            }
            for row in feature_keys(context)
        ]
        self._ddb.transact_write_items(TransactItems=updates)

    def counters(self, offer_id: str) -> Iterator[dict[str, Any]]:
        """Every counter row of one offer."""
        return query_pages(
            self._ddb,
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"OFFER#{offer_id}"}},
        )
