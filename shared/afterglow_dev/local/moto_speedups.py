"""moto's DynamoDB responses at the cost of `json.dumps`, for the local stack and the tests.

Measured on the local stack under load: ~40% of the moto process went into serialising responses.
moto 5 writes every response through a generic serializer that walks the operation's output shape
member by member; for DynamoDB's data-plane answers (items, pages of items, stream records) the
result moto builds is already the wire document — attribute values as `{"S": …}`, `{"M": …}`,
`{"L": …}` — so dumping it as JSON gives the same document (binary values base64, timestamps as
epoch seconds, as moto's own DynamoDB JSON encoder writes them). Errors and every control-plane
operation (tables, streams' descriptions) keep moto's serializer, and a test compares the two on
every operation the fast path takes.

Two smaller costs go as well: the request's operation name was worked out four times per request
(a URL-router match each time), and the handler class's method names listed with `inspect` on
every request.

Written against moto 5's `BaseResponse`, so it could be offered upstream. `install()` applies it
to this process (the local stack and the test suite call it).
"""

import base64
import functools
import json
from datetime import datetime
from typing import Any

from moto.core import responses as moto_responses
from moto.core.responses import ActionResult, BaseResponse
from moto.core.serialize import TimestampSerializer
from moto.core.utils import get_service_model

JSON_1_0 = "application/x-amz-json-1.0"
# Operations whose moto result is the wire document (answers of other operations are shaped by
# moto's serializer from model objects).
FAST_OPERATIONS = {
    "dynamodb": frozenset(
        {
            "GetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "BatchGetItem",
            "BatchWriteItem",
            "Query",
            "Scan",
            "TransactGetItems",
            "TransactWriteItems",
        }
    ),
    "dynamodbstreams": frozenset({"GetRecords", "GetShardIterator"}),
}

_ORIGINAL_SERIALIZED = BaseResponse.serialized
_ORIGINAL_GET_ACTION = BaseResponse._get_action
_ORIGINAL_METHOD_NAMES = moto_responses.method_names_from_class  # type: ignore[attr-defined]


class _WireEncoder(json.JSONEncoder):
    """What moto's serializer writes for the values a DynamoDB result holds besides JSON types:
    binary attribute values in base64, timestamps as epoch seconds truncated to milliseconds."""

    def default(self, o: Any) -> Any:
        if isinstance(o, bytes):
            return base64.b64encode(o).decode()
        if isinstance(o, datetime):
            return TimestampSerializer._timestamp_unixtimestamp(o)
        return super().default(o)


@functools.cache
def _output_members(service: str, operation: str) -> frozenset[str]:
    shape = get_service_model(service).operation_model(operation).output_shape
    return frozenset(shape.members) if shape is not None else frozenset()


def fast_body(response: BaseResponse, action_result: ActionResult) -> str | None:
    """The response body as JSON when the fast path applies to this answer, else None."""
    service = response.boto3_service_name
    operations = FAST_OPERATIONS.get(service)
    result = action_result.result
    if operations is None or not isinstance(result, dict):
        return None
    operation = response._get_action()
    if operation not in operations:
        return None
    members = _output_members(service, operation)  # as the serializer: only the output's members
    return json.dumps({k: v for k, v in result.items() if k in members and v is not None}, cls=_WireEncoder)


def serialized(self: BaseResponse, action_result: ActionResult) -> Any:
    """`BaseResponse.serialized`, with the data plane of DynamoDB (and its streams) dumped as is."""
    body = fast_body(self, action_result)
    if body is None:
        return _ORIGINAL_SERIALIZED(self, action_result)
    headers: dict[str, Any] = {"Content-Type": JSON_1_0}
    headers.update(self.response_headers)
    headers.update({"status": 200})
    return 200, headers, body


def _get_action(self: BaseResponse) -> str:
    """The operation of this response's request, worked out once (an instance serves one request)."""
    found: str | None = self.__dict__.get("_afterglow_action")
    if found is None:
        found = _ORIGINAL_GET_ACTION(self)
        if found is not None:
            self.__dict__["_afterglow_action"] = found
    return found  # type: ignore[return-value]


def install() -> None:
    """Use the fast paths in this process's moto (idempotent)."""
    BaseResponse.serialized = serialized  # type: ignore[method-assign]
    BaseResponse._get_action = _get_action  # type: ignore[method-assign]
    moto_responses.method_names_from_class = functools.cache(_ORIGINAL_METHOD_NAMES)  # type: ignore[attr-defined]


def uninstall() -> None:
    """Back to moto's own (the test compares the two)."""
    BaseResponse.serialized = _ORIGINAL_SERIALIZED  # type: ignore[method-assign]
    BaseResponse._get_action = _ORIGINAL_GET_ACTION  # type: ignore[method-assign]
    moto_responses.method_names_from_class = _ORIGINAL_METHOD_NAMES  # type: ignore[attr-defined]
