"""Thin helpers over the low-level DynamoDB client (lighter and faster than the resource API)."""

import base64
import json
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from afterglow.errors import StoreUnavailable

# Standard retry mode: exponential backoff with jitter on throttling and transient errors.
AWS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def client(service: str, *, deadline_s: float | None = None) -> Any:
    """A boto3 client; the endpoint comes from AWS_ENDPOINT_URL when set (local stack, tests).

    With `deadline_s` (the storefront's decision path), a call gives up within about that long:
    one retry at most and timeouts within the deadline, so a hung store degrades the decision in
    time instead of holding the confirmation page for the default timeouts × retries (~25 s).
    """
    config = AWS_CONFIG
    if deadline_s is not None:
        config = Config(
            retries={"mode": "standard", "total_max_attempts": 2},
            connect_timeout=min(0.5, deadline_s / 2),
            read_timeout=deadline_s / 2,
        )
    return Unavailable(boto3.client(service, config=config))  # type: ignore[call-overload]


# What the store itself reads from an AWS error (a condition that failed, a transaction a condition
# refused, a refused request, a missing object): passed on as they are, for the store to turn into
# an answer or a domain error. Anything else — throttling after retries, timeouts, 5xx, a
# connection that fails, a transaction cancelled only by throttling or a conflict — is the store
# being unavailable, a domain error (503, retry later).
_THE_STORES_OWN = frozenset(
    {"ConditionalCheckFailedException", "TransactionCanceledException", "ValidationException", "NoSuchKey"}
)


def _unavailable(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons") or []
        return not any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)
    return code not in _THE_STORES_OWN


class Unavailable:
    """A boto3 client whose failures after retries become `StoreUnavailable`: AWS errors are
    translated here, once, for every store (services and handlers never see botocore)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name in ("exceptions", "meta") or not callable(attribute):
            return attribute
        if name == "get_paginator":
            return lambda operation: _Pages(attribute(operation))
        return lambda *args, **kwargs: translated(attribute, *args, **kwargs)


class _Pages:
    def __init__(self, paginator: Any) -> None:
        self._paginator = paginator

    def paginate(self, **kwargs: Any) -> Iterator[Any]:
        pages = iter(self._paginator.paginate(**kwargs))
        while True:
            try:
                page = translated(next, pages)
            except StopIteration:
                return
            yield page


def translated(call: Any, *args: Any, **kwargs: Any) -> Any:
    """`call(*args, **kwargs)`, with an unavailable AWS raised as `StoreUnavailable`."""
    try:
        return call(*args, **kwargs)
    except ClientError as error:
        if not _unavailable(error):
            raise
        code = error.response.get("Error", {}).get("Code", "")
        raise StoreUnavailable(f"{code or 'AWS error'} after retries; retry later") from error
    except BotoCoreError as error:
        raise StoreUnavailable(f"{type(error).__name__}; retry later") from error


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        # Floats here are scores and thresholds: six decimals are plenty, and DynamoDB's numbers
        # cannot hold what a float can (2.2e-311 underflows, found by fuzzing).
        return Decimal(str(round(value, 6)))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_from_dynamo(v) for v in value]
    return value


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    """Plain Python (ints, floats, str, lists, dicts) to DynamoDB attribute values; None dropped."""
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in item.items() if v is not None}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values back to plain Python."""
    return {k: _from_dynamo(_deserializer.deserialize(v)) for k, v in item.items()}


def encode_cursor(last_key: Mapping[str, Any] | None) -> str | None:
    """An opaque pagination cursor for DynamoDB's LastEvaluatedKey."""
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The LastEvaluatedKey behind a cursor; ValueError for anything this API did not hand out."""
    if not cursor:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as error:
        raise ValueError("cursor is not one this API returned") from error
    if not isinstance(decoded, dict):
        raise ValueError("cursor is not one this API returned")
    return decoded


def is_conditional_failure(error: Exception) -> bool:
    """True when a conditional write found the item already there."""
    response = getattr(error, "response", None) or {}
    return bool(response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def query_pages(ddb: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a query, page by page (bounded memory)."""
    paginator = ddb.get_paginator("query")
    for page in paginator.paginate(**kwargs):
        for item in page["Items"]:
            yield deserialize(item)


def _is_start_key(start: Mapping[str, Any], key_names: frozenset[str]) -> bool:
    """A LastEvaluatedKey of this query: exactly its key attributes, each a string (every key of
    our tables is one)."""
    return set(start) == key_names and all(
        isinstance(value, dict) and list(value) == ["S"] and isinstance(value["S"], str)
        for value in start.values()
    )


def query_page(
    ddb: Any, query: dict[str, Any], start: Mapping[str, Any] | None, *, key_names: frozenset[str]
) -> tuple[list[dict[str, Any]], Any]:
    """One page of a query from `start` (a decoded cursor), whose LastEvaluatedKey has the
    attributes `key_names` (the table's key and the index's); ValueError for a start key this
    query never handed out, whether we or DynamoDB find it out. Returns the items and the
    LastEvaluatedKey."""
    if start:
        # Checked here: botocore refuses a malformed one with a ParamValidationError, which is a
        # BotoCoreError and would read as AWS being unavailable.
        if not _is_start_key(start, key_names):
            raise ValueError("cursor is not one this API returned")
        query = {**query, "ExclusiveStartKey": start}
    try:
        response = ddb.query(**query)
    except ddb.exceptions.ClientError as error:
        if start and error.response["Error"]["Code"] == "ValidationException":
            raise ValueError("cursor is not one this API returned") from error
        raise
    return [deserialize(item) for item in response["Items"]], response.get("LastEvaluatedKey")


def back_off_if(unprocessed: dict[str, Any]) -> None:
    """A short pause before resending what a throttled batch call left unprocessed."""
    if unprocessed:
        time.sleep(0.05)
