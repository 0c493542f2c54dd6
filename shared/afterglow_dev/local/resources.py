"""Create the template's tables, buckets and queues on moto with boto3, keeping the settings
(TTL, PITR, GSIs, streams, encryption, public access block, versioning) that moto's CloudFormation
drops."""

from typing import Any

from afterglow_dev.local.template import Template


def physical_name(stack: str, logical_id: str) -> str:
    """The local name of a resource: lowercase so that it is also a valid bucket name."""
    return f"{stack}-{logical_id}".lower()


def _create_table(ddb: Any, name: str, props: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("SSESpecification", {}).get("SSEEnabled"):
        kwargs["SSESpecification"] = {"Enabled": True}
    if "StreamSpecification" in props:
        view = props["StreamSpecification"]["StreamViewType"]
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    ddb.create_table(**kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )


def _create_bucket(s3: Any, name: str, props: dict[str, Any]) -> None:
    s3.create_bucket(Bucket=name)
    if "BucketEncryption" in props:
        # CloudFormation says ServerSideEncryptionByDefault where the S3 API says Apply…
        rules = [
            {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def create_data_resources(template: Template, stack: str, clients: dict[str, Any]) -> dict[str, str]:
    """Create every table, bucket and queue of the template; returns logical id → local name."""
    names: dict[str, str] = {}
    for logical_id, resource in template.data_resources().items():
        name = physical_name(stack, logical_id)
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::DynamoDB::Table":
            _create_table(clients["dynamodb"], name, props)
        elif kind == "AWS::S3::Bucket":
            _create_bucket(clients["s3"], name, props)
        elif kind == "AWS::SQS::Queue":
            clients["sqs"].create_queue(QueueName=name)
        names[logical_id] = name
    return names
