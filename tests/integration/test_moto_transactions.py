"""The local stack's TransactWriteItems (afterglow_dev.local.moto_transactions) against moto's own:
the same answers, the same all-or-nothing, a stream without cancelled writes, item-level cost."""

import copy

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from afterglow_dev.local import moto_transactions


def _table(ddb, name="t", *, stream=True):
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        **({"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}} if stream else {}),
    )


def _key(pk, sk="a"):
    return {"pk": {"S": pk}, "sk": {"S": sk}}


SCENARIOS = {
    "all apply": [
        {"Put": {"TableName": "t", "Item": {**_key("new"), "n": {"N": "1"}}}},
        {"Update": {"TableName": "t", "Key": _key("old"), "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Delete": {"TableName": "t", "Key": _key("gone")}},
        {"ConditionCheck": {"TableName": "t", "Key": _key("kept"),
                            "ConditionExpression": "attribute_exists(pk)"}},
    ],
    "a late condition fails": [
        {"Put": {"TableName": "t", "Item": {**_key("new"), "n": {"N": "1"}}}},
        {"Update": {"TableName": "t", "Key": _key("old"), "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Delete": {"TableName": "t", "Key": _key("gone")}},
        {"Put": {"TableName": "t", "Item": _key("kept"), "ConditionExpression": "attribute_not_exists(pk)",
                 "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
    ],
    "one item twice": [
        {"Put": {"TableName": "t", "Item": _key("new")}},
        {"Update": {"TableName": "t", "Key": _key("new"), "UpdateExpression": "SET x = :x",
                    "ExpressionAttributeValues": {":x": {"S": "x"}}}},
    ],
    "a bad update": [
        {"Put": {"TableName": "t", "Item": _key("new")}},
        {"Update": {"TableName": "t", "Key": _key("old"), "UpdateExpression": "ADD n :text",
                    "ExpressionAttributeValues": {":text": {"S": "not a number"}}}},
    ],
    "too many": [{"Put": {"TableName": "t", "Item": _key(f"p{n}")}} for n in range(101)],
}  # fmt: skip


def _run(implementation, items):
    """Apply `items` to a fresh table under one implementation: (error, items after, stream)."""
    implementation()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        _table(ddb)
        for pk in ("old", "gone", "kept"):
            ddb.put_item(TableName="t", Item={**_key(pk), "n": {"N": "5"}})
        arn = ddb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
        streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        error = None
        try:
            ddb.transact_write_items(TransactItems=items)
        except ClientError as failure:
            response = failure.response
            error = (
                response["Error"]["Code"],
                response["Error"]["Message"],
                response.get("CancellationReasons"),
            )
        after = sorted(ddb.scan(TableName="t")["Items"], key=lambda item: item["pk"]["S"])
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
        stream = [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records]
    return error, after, stream


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_transaction_answers_and_ends_exactly_as_motos_own(scenario):
    try:
        ours = _run(moto_transactions.install, SCENARIOS[scenario])
        theirs = _run(moto_transactions.uninstall, SCENARIOS[scenario])
    finally:
        moto_transactions.install()
    assert ours == theirs


def test_a_cancelled_transaction_leaves_no_item_and_no_stream_record_behind():
    error, after, stream = _run(moto_transactions.install, SCENARIOS["a late condition fails"])
    assert error[0] == "TransactionCanceledException"
    assert [reason["Code"] for reason in error[2]] == ["None", "None", "None", "ConditionalCheckFailed"]
    assert [item["pk"]["S"] for item in after] == ["gone", "kept", "old"]
    assert {item["pk"]["S"]: item["n"]["N"] for item in after}["old"] == "5"
    assert [event for event, _ in stream] == ["INSERT", "INSERT", "INSERT"]  # the seed puts only


def test_a_transaction_copies_the_items_it_writes_never_a_table(monkeypatch):
    # Given a table of 2,000 items, and a record of what gets deep-copied
    moto_transactions.install()
    copied = []
    real_deepcopy = copy.deepcopy

    def recording_deepcopy(value, *args):
        copied.append(type(value).__name__)
        return real_deepcopy(value, *args)

    monkeypatch.setattr(copy, "deepcopy", recording_deepcopy)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        _table(ddb, stream=False)
        for n in range(2_000):
            ddb.put_item(TableName="t", Item=_key(f"p{n}"))
        copied.clear()
        # When a transaction writes two items
        writes = [
            {"Put": {"TableName": "t", "Item": _key("x")}},
            {"Delete": {"TableName": "t", "Key": _key("p1")}},
        ]
        ddb.transact_write_items(TransactItems=writes)
    # Then it remembered those two items (one did not exist yet), and no table
    assert "Table" not in copied
    assert copied.count("Item") == 1
