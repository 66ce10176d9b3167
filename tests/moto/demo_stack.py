"""Creates a BOSS-like stack in a running moto server and injects throttling, for trying
`remediator plan` / `run` by hand (the integration tests build the same stack in Rust).

    tests/moto/server.sh start
    .moto/venv/bin/python tests/moto/demo_stack.py            # domain local.boss
    .moto/venv/bin/python tests/moto/demo_stack.py --domain x.boss --endpoint http://127.0.0.1:5010

moto never throttles, so throttling is written as CloudWatch data into `AWS/DynamoDB` with the
metric names and dimensions DynamoDB uses: the last three minutes show TileIndex and its GSI
writing at their provisioned 10 WCU/s with 120 throttle events a minute, and idIndex (on
demand) with 300. Run it again to refresh the data; tables that exist are kept.

It also creates the three watched Lambda functions (moto keeps them without running them) and
the SNS alert topic `<dom>-alerts` named in policies/local.toml, with an SQS queue
`<dom>-alerts-inbox` subscribed to it, so pause and alert messages can be read back:

    aws --endpoint-url http://127.0.0.1:5010 sqs receive-message --queue-url \
        http://127.0.0.1:5010/123456789012/local-boss-alerts-inbox

With `--stranded N`, ingest job 7 gets N chunk messages in `<dom>-ingest-7` and an empty
tile-index queue `<dom>-7-index`: a stranded job for `remediator redrive --job 7`.
"""

import argparse
import datetime
import io
import json
import zipfile

import boto3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domain", default="local.boss")
    parser.add_argument("--endpoint", default="http://127.0.0.1:5010")
    parser.add_argument(
        "--stranded",
        type=int,
        default=0,
        metavar="N",
        help="also strand N chunk messages in ingest job 7 (uploads finished), for `redrive`",
    )
    args = parser.parse_args()
    kw = dict(
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ddb = boto3.client("dynamodb", **kw)
    cw = boto3.client("cloudwatch", **kw)
    existing = {
        name for page in ddb.get_paginator("list_tables").paginate() for name in page["TableNames"]
    }

    def table(short: str) -> str:
        return f"{short}.{args.domain}"

    if table("tileindex") not in existing:
        ddb.create_table(
            TableName=table("tileindex"),
            AttributeDefinitions=[
                {"AttributeName": "chunk_key", "AttributeType": "S"},
                {"AttributeName": "task_id", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "chunk_key", "KeyType": "HASH"}],
            ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 10},
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "task_id_index",
                    "KeySchema": [{"AttributeName": "task_id", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                    "ProvisionedThroughput": {"ReadCapacityUnits": 10, "WriteCapacityUnits": 10},
                }
            ],
        )
    for short in ["idIndex", "s3index", "idCount", "bossmeta"]:
        if table(short) not in existing:
            ddb.create_table(
                TableName=table(short),
                AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )

    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    minutes = [now - datetime.timedelta(minutes=m) for m in (3, 2, 1)]

    def put(short: str, index, metric: str, value: float) -> None:
        dims = [{"Name": "TableName", "Value": table(short)}]
        if index:
            dims.append({"Name": "GlobalSecondaryIndexName", "Value": index})
        cw.put_metric_data(
            Namespace="AWS/DynamoDB",
            MetricData=[
                {"MetricName": metric, "Dimensions": dims, "Timestamp": t, "Value": value}
                for t in minutes
            ],
        )

    for index in (None, "task_id_index"):
        put("tileindex", index, "ConsumedWriteCapacityUnits", 600.0)
        put("tileindex", index, "WriteThrottleEvents", 120.0)
        put("tileindex", index, "ConsumedReadCapacityUnits", 60.0)
    put("idIndex", None, "ConsumedWriteCapacityUnits", 6000.0)
    put("idIndex", None, "WriteThrottleEvents", 300.0)
    dom = args.domain.replace(".", "-")
    functions(boto3.client("iam", **kw), boto3.client("lambda", **kw), dom)
    print(f"alerts: {alerts(boto3.client('sns', **kw), boto3.client('sqs', **kw), dom)}")
    print(f"stack {args.domain} ready at {args.endpoint}; throttling injected for {minutes[0]:%H:%M}-{now:%H:%M} UTC")
    if args.stranded:
        print(f"stranded: {strand(boto3.client('sqs', **kw), args.domain, args.stranded)}")


def functions(iam, lam, dom: str) -> None:
    """tileIngestLambda, tileUploadLambda and multiLambda, as BOSS names them."""
    role = f"{dom}-lambda-role"
    try:
        arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({}))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        arn = iam.get_role(RoleName=role)["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return None\n")
    existing = {
        f["FunctionName"] for page in lam.get_paginator("list_functions").paginate() for f in page["Functions"]
    }
    for short, timeout in [("tileIngestLambda", 510), ("tileUploadLambda", 120), ("multiLambda", 120)]:
        name = f"{short}-{dom}"
        if name not in existing:
            lam.create_function(
                FunctionName=name,
                Runtime="python3.11",
                Role=arn,
                Handler="handler.handler",
                Code={"ZipFile": code.getvalue()},
                Timeout=timeout,
                MemorySize=3008 if short == "tileIngestLambda" else 1024,
            )


def alerts(sns, sqs, dom: str) -> str:
    """The alert topic and an inbox queue subscribed to it; returns the inbox URL."""
    topic = sns.create_topic(Name=f"{dom}-alerts")["TopicArn"]
    inbox = sqs.create_queue(QueueName=f"{dom}-alerts-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return f"topic {topic}, inbox {inbox}"


def strand(sqs, domain: str, count: int) -> str:
    """Job 7's ingest queue with `count` chunk messages; its tile-index queue empty."""
    dom = domain.replace(".", "-")
    sqs.create_queue(QueueName=f"{dom}-7-index")
    url = sqs.create_queue(QueueName=f"{dom}-ingest-7", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    for start in range(0, count, 10):
        entries = [
            {
                "Id": str(i),
                "MessageBody": f'{{"chunk_key": "{i:032x}&16&1&2&3&0&{i}&0&0&0", "ingest_job": 7}}',
            }
            for i in range(start, min(start + 10, count))
        ]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    return url


if __name__ == "__main__":
    main()
