"""The local stack's fast DynamoDB answers (afterglow_dev.local.moto_speedups) against moto's own
serializer: for every operation the fast path takes, the same JSON document."""

import json

import boto3
import pytest
from moto import mock_aws

from afterglow_dev.local import moto_speedups

ITEM = {
    "pk": {"S": "a"},
    "sk": {"S": "1"},
    "g": {"S": "x"},
    "n": {"N": "1.50"},
    "b": {"B": b"\x00\xffbin"},
    "m": {
        "M": {"l": {"L": [{"S": "q"}, {"N": "2"}, {"NULL": True}, {"BOOL": False}]}, "ss": {"SS": ["a", "b"]}}
    },
    "ns": {"NS": ["1", "2"]},
    "bs": {"BS": [b"a", b"\x01"]},
}


def _key(pk, sk="1"):
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _every_fast_operation(ddb, streams):
    """Each operation of the fast path, answered with items, pages, nothing or old values."""
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g")],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    ddb.put_item(TableName="t", Item=ITEM)
    ddb.put_item(
        TableName="t", Item={**ITEM, "n": {"N": "3"}}, ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL"
    )
    ddb.get_item(TableName="t", Key=_key("a"), ConsistentRead=True)
    ddb.get_item(TableName="t", Key=_key("nobody"))
    ddb.update_item(
        TableName="t",
        Key=_key("a"),
        UpdateExpression="ADD c :one SET #m.x = :v",
        ExpressionAttributeNames={"#m": "m"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":v": {"S": "y"}},
        ReturnValues="ALL_NEW",
    )
    for n in range(30):
        ddb.put_item(
            TableName="t", Item={**_key("page", f"{n:03d}"), "g": {"S": "x"}, "pad": {"S": "x" * 900}}
        )
    ddb.query(
        TableName="t",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "page"}},
        Limit=5,
    )
    ddb.query(
        TableName="t",
        IndexName="by_g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "x"}},
        Limit=3,
        ProjectionExpression="pk",
    )
    ddb.scan(TableName="t", Limit=4)
    ddb.batch_get_item(RequestItems={"t": {"Keys": [_key("a"), _key("nobody")], "ConsistentRead": True}})
    ddb.batch_write_item(
        RequestItems={
            "t": [{"PutRequest": {"Item": _key("w")}}, {"DeleteRequest": {"Key": _key("page", "001")}}]
        }
    )
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "t", "Item": _key("tx"), "ConditionExpression": "attribute_not_exists(pk)"}}
        ]
    )
    ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": _key("a")}}])
    ddb.delete_item(TableName="t", Key=_key("w"), ReturnValues="ALL_OLD")
    arn = ddb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    page = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=5)
    streams.get_records(ShardIterator=page["NextShardIterator"])


def test_every_fast_answer_is_the_document_motos_serializer_writes(monkeypatch):
    # Given both serializers run on every answer, the fast one's document kept beside moto's
    compared: list[tuple[str, object, object]] = []

    def both(self, action_result):
        fast = moto_speedups.fast_body(self, action_result)
        theirs = moto_speedups._ORIGINAL_SERIALIZED(self, action_result)
        if fast is not None:
            compared.append((self._get_action(), json.loads(fast), json.loads(theirs[2])))
        return theirs

    moto_speedups.install()
    monkeypatch.setattr(moto_speedups.BaseResponse, "serialized", both)
    # When every operation of the fast path is called
    with mock_aws():
        _every_fast_operation(
            boto3.client("dynamodb", "us-east-1"), boto3.client("dynamodbstreams", "us-east-1")
        )
    # Then each answer is the same document, binary values and timestamps included
    assert {operation for operation, _, _ in compared} == set().union(*moto_speedups.FAST_OPERATIONS.values())
    assert [(op, ours) for op, ours, theirs in compared if ours != theirs] == []


def test_errors_and_control_plane_answers_still_come_through():
    moto_speedups.install()
    with mock_aws():
        ddb = boto3.client("dynamodb", "us-east-1")
        with pytest.raises(ddb.exceptions.ResourceNotFoundException):
            ddb.get_item(TableName="missing", Key=_key("a"))
        assert ddb.list_tables()["TableNames"] == []
