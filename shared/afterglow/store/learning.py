"""Learning table: per offer × context-feature counters, updated only with atomic ADDs.

One item per offer (`pk` = `OFFER#<offer_id>`, `sk` = `COUNTERS`), one number attribute per
counter × row, named `<counter>|<feature>=<value>` (`*=*` is the offer as a whole): a piece of
feedback is then a single UpdateItem, however many context features it touches. Counters:
`shown`, `engaged`, `converted`, `revenue_minor`. Payouts owed are also kept per currency and
period, as `spend@<currency>@<YYYY-MM-DD or YYYY-MM>`, for partner budgets.
"""

from collections.abc import Mapping
from typing import Any

from afterglow.store.dynamo import deserialize, serialize

OFFER_LEVEL = "*=*"
COUNTERS_SK = "COUNTERS"
SPEND_PREFIX = "spend@"


def feature_keys(context: Mapping[str, str]) -> list[str]:
    """The counter rows one piece of feedback updates: the offer, and the offer × each feature."""
    return [OFFER_LEVEL, *(f"{feature}={value}" for feature, value in sorted(context.items()) if value)]


class LearningStore:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def add_feedback(
        self,
        offer_id: str,
        context: Mapping[str, str],
        *,
        spend: Mapping[str, int] | None = None,
        **counters: int,
    ) -> None:
        """Atomically add counters (e.g. shown=1) to every row of this offer × context, and payouts
        owed (`spend`, by `<currency>@<period>`) to the offer, in one call."""
        self.add_counters(offer_id, context, counters, spend)

    def add_counters(
        self,
        offer_id: str,
        context: Mapping[str, str],
        counters: Mapping[str, int],
        spend: Mapping[str, int] | None = None,
    ) -> None:
        """`add_feedback` with the counters named at run time."""
        additions = {
            f"{name}|{row}": value
            for name, value in counters.items()
            if value
            for row in feature_keys(context)
        }
        additions.update({f"{SPEND_PREFIX}{key}": value for key, value in (spend or {}).items() if value})
        if not additions:
            return
        names = {f"#a{i}": attribute for i, attribute in enumerate(additions)}
        values = {f":a{i}": {"N": str(value)} for i, value in enumerate(additions.values())}
        self._ddb.update_item(
            TableName=self._table,
            Key=serialize({"pk": f"OFFER#{offer_id}", "sk": COUNTERS_SK}),
            UpdateExpression="ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(additions))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def counters(self, offer_id: str) -> list[dict[str, Any]]:
        """One offer's counters as rows: `{"sk": "<feature>=<value>", "shown": n, ...}`."""
        response = self._ddb.get_item(
            TableName=self._table, Key=serialize({"pk": f"OFFER#{offer_id}", "sk": COUNTERS_SK})
        )
        rows: dict[str, dict[str, Any]] = {}
        for attribute, value in deserialize(response.get("Item", {})).items():
            counter, separator, row = attribute.partition("|")
            if separator:
                rows.setdefault(row, {"sk": row})[counter] = value
        return list(rows.values())

    def all_counters(self) -> list[dict[str, Any]]:
        """Every offer's counters as rows (`offer_id`, `sk`, counters): a Scan, for the policy cache."""
        return self.scan()[0]

    def scan(self) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:
        """Every offer's counter rows (see `all_counters`) and its spend by `<currency>@<period>`,
        in one Scan."""
        rows: list[dict[str, Any]] = []
        spend: dict[str, dict[str, int]] = {}
        paginator = self._ddb.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._table,
            FilterExpression="sk = :counters",
            ExpressionAttributeValues={":counters": {"S": COUNTERS_SK}},
        )
        for page in pages:
            for raw in page["Items"]:
                item = deserialize(raw)
                offer_id = str(item["pk"]).removeprefix("OFFER#")
                grouped: dict[str, dict[str, Any]] = {}
                for attribute, value in item.items():
                    if attribute.startswith(SPEND_PREFIX):
                        spend.setdefault(offer_id, {})[attribute.removeprefix(SPEND_PREFIX)] = int(value)
                        continue
                    counter, separator, row = attribute.partition("|")
                    if separator:
                        grouped.setdefault(row, {"offer_id": offer_id, "sk": row})[counter] = value
                rows.extend(grouped.values())
        return rows, spend
