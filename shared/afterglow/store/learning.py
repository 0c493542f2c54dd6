"""Learning table: per offer × context-feature counters, updated only with atomic ADDs.

One item per offer (`pk` = `OFFER#<offer_id>`, `sk` = `COUNTERS`), one number attribute per
counter × row, named `<counter>|<feature>=<value>` (`*=*` is the offer as a whole): a piece of
feedback is then a single UpdateItem, however many context features it touches. Counters:
`shown`, `engaged`, `converted`, `revenue_minor`. Payouts owed are also kept per currency and
period, as `spend@<currency>@<YYYY-MM-DD or YYYY-MM>`, for partner budgets.

The item is bounded: the context rows it holds are listed in a string set (`context_rows`), and a
row is added only while the set has room (`MAX_CONTEXT_ROWS`); past that, feedback in a new row
counts at the offer level only. Whatever a client sends, the item stays far below DynamoDB's
400 KB limit.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from afterglow.store.dynamo import deserialize, is_conditional_failure, serialize

OFFER_LEVEL = "*=*"
COUNTERS_SK = "COUNTERS"
SPEND_PREFIX = "spend@"
ROWS_ATTRIBUTE = "context_rows"
# Context rows kept per offer. A row costs at most four counters of ~60 bytes and its name in the
# set: 256 rows stay under ~80 KB, a fifth of DynamoDB's item limit.
MAX_CONTEXT_ROWS = 256
MAX_ROW_CHARS = 160  # a feature=value longer than this is not a context anyone declared


def feature_keys(context: Mapping[str, str]) -> list[str]:
    """The counter rows one piece of feedback updates: the offer, and the offer × each feature."""
    return [OFFER_LEVEL, *context_rows(context)]


def context_rows(context: Mapping[str, str]) -> list[str]:
    """The offer × feature rows of a context (empty and over-long values are not counted)."""
    rows = (f"{feature}={value}" for feature, value in sorted(context.items()) if value)
    return [row for row in rows if len(row) <= MAX_ROW_CHARS]


@dataclass(frozen=True)
class CounterUpdate:
    """One piece of feedback as TransactWriteItems `Update`s of its offer's item.

    `capped` adds to every row of the context, on condition that the rows exist or the offer has
    room for them; `fallback` (for when that condition fails) adds to the offer level only.
    """

    capped: dict[str, Any]
    fallback: dict[str, Any]


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
        update = self.counter_update(offer_id, context, counters, spend)
        if update is None:
            return
        try:
            self._ddb.update_item(**update.capped["Update"])
        except Exception as error:
            if not is_conditional_failure(error):
                raise
            self._ddb.update_item(**update.fallback["Update"])

    def counter_update(
        self,
        offer_id: str,
        context: Mapping[str, str],
        counters: Mapping[str, int],
        spend: Mapping[str, int] | None = None,
    ) -> CounterUpdate | None:
        """The writes that add `counters` to this offer × context (None when there is nothing to add),
        to run alone (`add_counters`) or in one transaction with the ledger record they count."""
        rows = context_rows(context)
        capped = self._update(offer_id, [OFFER_LEVEL, *rows], counters, spend, rows)
        fallback = self._update(offer_id, [OFFER_LEVEL], counters, spend, [])
        if capped is None or fallback is None:
            return None
        return CounterUpdate(capped=capped, fallback=fallback)

    def _update(
        self,
        offer_id: str,
        rows: list[str],
        counters: Mapping[str, int],
        spend: Mapping[str, int] | None,
        new_rows: list[str],
    ) -> dict[str, Any] | None:
        additions: dict[str, Any] = {
            f"{name}|{row}": {"N": str(value)} for name, value in counters.items() if value for row in rows
        }
        additions.update(
            {f"{SPEND_PREFIX}{key}": {"N": str(value)} for key, value in (spend or {}).items() if value}
        )
        if not additions:
            return None
        names = {f"#a{i}": attribute for i, attribute in enumerate(additions)}
        values = {f":a{i}": value for i, value in enumerate(additions.values())}
        adds = [f"#a{i} :a{i}" for i in range(len(additions))]
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": serialize({"pk": f"OFFER#{offer_id}", "sk": COUNTERS_SK}),
        }
        if new_rows:
            names["#rows"] = ROWS_ATTRIBUTE
            values[":rows"] = {"SS": new_rows}
            values[":room"] = {"N": str(MAX_CONTEXT_ROWS - len(new_rows))}
            known = []
            for i, row in enumerate(new_rows):
                values[f":r{i}"] = {"S": row}
                known.append(f"contains(#rows, :r{i})")
            adds.append("#rows :rows")
            update["ConditionExpression"] = (
                f"attribute_not_exists(#rows) OR size(#rows) <= :room OR ({' AND '.join(known)})"
            )
        update.update(
            UpdateExpression="ADD " + ", ".join(adds),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        return {"Update": update}

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

    def item_size(self, offer_id: str) -> int:
        """The stored size of one offer's counter item in bytes, as DynamoDB measures it (names +
        values, close enough to compare with its 400 KB limit)."""
        response = self._ddb.get_item(
            TableName=self._table, Key=serialize({"pk": f"OFFER#{offer_id}", "sk": COUNTERS_SK})
        )
        size = 0
        for name, value in response.get("Item", {}).items():
            size += len(name.encode())
            for kind, content in value.items():
                items = content if kind in ("SS", "NS") else [content]
                size += sum(len(str(part).encode()) for part in items)
        return size

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
