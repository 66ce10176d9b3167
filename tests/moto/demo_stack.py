"""Creates a BOSS-like stack in a running moto server and injects throttling, for trying
`remediator plan` / `run` by hand (the integration tests build the same stack in Rust).

    tests/moto/server.sh start
    .moto/venv/bin/python tests/moto/demo_stack.py            # domain local.boss
    .moto/venv/bin/python tests/moto/demo_stack.py --domain x.boss --endpoint http://127.0.0.1:5011

moto is reached at http://127.0.0.1:$MOTO_PORT (MOTO_PORT defaults to 5010, as in
tests/moto/server.sh) unless --endpoint says otherwise.

moto never throttles, so throttling is written as CloudWatch data into `AWS/DynamoDB` with the
metric names and dimensions DynamoDB uses: the last three minutes show TileIndex and its GSI
writing at their provisioned 10 WCU/s with 120 throttle events a minute, and idIndex (on
demand) with 300.

It also creates the three watched Lambda functions (moto keeps them without running them) and
the SNS alert topic `<dom>-alerts` named in policies/local.toml, with an SQS queue
`<dom>-alerts-inbox` subscribed to it, so pause and alert messages can be read back:

    aws --endpoint-url http://127.0.0.1:$MOTO_PORT sqs receive-message --queue-url \
        http://127.0.0.1:$MOTO_PORT/123456789012/local-boss-alerts-inbox

With `--stranded N`, ingest job 7 gets N chunk messages in `<dom>-ingest-7` and an empty
tile-index queue `<dom>-7-index`: a stranded job for `remediator redrive --job 7`.

For the performer pause it writes steady Lambda minutes into `AWS/Lambda` for the functions: `Duration`
averaging 4000 ms (tileIngestLambda), 800 ms (tileUploadLambda) and 300 ms (multiLambda), and
600 `Invocations` a minute, for the last 17 minutes and the current one (all the controller
reads back). A `remediator run --once` within the next three minutes learns each baseline from
them (it takes 15 minutes). Then, to see the performer pause:

    .moto/venv/bin/python tests/moto/demo_stack.py --drift

writes tileUploadLambda's last 5 minutes and the current one at 2.5× (2000 ms) and nothing else:
the next `plan` shows the PAUSE it would send, and `run --once` sends it. (Written before the
baselines are learned, these minutes would be learned into them.)

A rerun starts over: it deletes what an earlier run made (the five tables, the functions, the
topic, the inbox and job 7's queues) and the controller's state table `remediator.<domain>`
(so `remediator init` is needed again before `run`), then makes them afresh, with TileIndex
back at 10/10. moto keeps every datapoint ever put and CloudWatch has no call to delete one, so
each minute is set to its value rather than added to: a minute that holds other datapoints gets
one more that brings its Sum (or, for `Duration`, its Average) to the value, which may be
negative (the controller reads only those statistics). A rerun in the same minutes therefore
writes nothing, the throttling never doubles, and `--drift`'s minutes are steady again.
"""

import argparse
import datetime
import io
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile

import boto3
import botocore.exceptions

MOTO_PORT = os.environ.get("MOTO_PORT") or "5010"

# TileIndex (provisioned), then the on-demand tables.
TABLES = ["tileindex", "idIndex", "s3index", "idCount", "bossmeta"]
# (short name, timeout s, memory MB, steady average duration ms), as BOSS configures them.
FUNCTIONS = [
    ("tileIngestLambda", 510, 3008, 4000.0),
    ("tileUploadLambda", 120, 1024, 800.0),
    ("multiLambda", 120, 1024, 300.0),
]
STEADY_MINUTES = 17  # and the current one: all the controller reads back
INVOCATIONS_PER_MINUTE = 600.0
HIGH_FUNCTION = "tileUploadLambda"
HIGH_MINUTES = 5  # and the current one
HIGH_RATIO = 2.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domain", default="local.boss")
    parser.add_argument(
        "--endpoint",
        default=f"http://127.0.0.1:{MOTO_PORT}",
        help="moto's URL (default http://127.0.0.1:$MOTO_PORT, MOTO_PORT defaulting to 5010)",
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--stranded",
        type=int,
        default=0,
        metavar="N",
        help="also strand N chunk messages in ingest job 7 (uploads finished), for `redrive`",
    )
    what.add_argument(
        "--drift",
        action="store_true",
        help="only raise tileUploadLambda's recent Duration minutes (2.5×), for the performer pause",
    )
    args = parser.parse_args()
    if not answers(args.endpoint):
        sys.exit(not_answering(args.endpoint))
    try:
        if args.drift:
            drift(args.endpoint, args.domain)
        else:
            stack(args.endpoint, args.domain, args.stranded)
    except botocore.exceptions.EndpointConnectionError:
        sys.exit(not_answering(args.endpoint))


def answers(endpoint: str) -> bool:
    """Whether moto answers on `endpoint`, as tests/moto/server.sh asks it."""
    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}/moto-api/", timeout=2):
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def not_answering(endpoint: str) -> str:
    url = urllib.parse.urlsplit(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    start = "tests/moto/server.sh start" if port == 5010 else f"MOTO_PORT={port} tests/moto/server.sh start"
    return f"demo_stack.py: moto is not answering on port {port} ({endpoint}): start it with `{start}`"


def clients(endpoint: str) -> dict:
    kw = dict(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return {name: boto3.client(name, **kw) for name in ("dynamodb", "cloudwatch", "iam", "lambda", "sns", "sqs")}


def stack(endpoint: str, domain: str, stranded: int) -> None:
    c = clients(endpoint)
    ddb, cw = c["dynamodb"], c["cloudwatch"]
    dom = domain.replace(".", "-")

    def table(short: str) -> str:
        return f"{short}.{domain}"

    gone = reset(c, domain, dom)
    if gone:
        print(f"rerun: deleted {gone}; making the stack afresh")
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
    for short in TABLES[1:]:
        ddb.create_table(
            TableName=table(short),
            AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )

    now = minute_now()
    minutes = [now - datetime.timedelta(minutes=m) for m in (3, 2, 1)]

    def put(short: str, index, metric: str, value: float) -> None:
        dims = [{"Name": "TableName", "Value": table(short)}]
        if index:
            dims.append({"Name": "GlobalSecondaryIndexName", "Value": index})
        set_to(cw, "AWS/DynamoDB", metric, dims, "Sum", {t: value for t in minutes})

    for index in (None, "task_id_index"):
        put("tileindex", index, "ConsumedWriteCapacityUnits", 600.0)
        put("tileindex", index, "WriteThrottleEvents", 120.0)
        put("tileindex", index, "ConsumedReadCapacityUnits", 60.0)
    put("idIndex", None, "ConsumedWriteCapacityUnits", 6000.0)
    put("idIndex", None, "WriteThrottleEvents", 300.0)
    functions(c["iam"], c["lambda"], dom)
    steady = [now - datetime.timedelta(minutes=m) for m in range(STEADY_MINUTES, -1, -1)]
    for short, _, _, ms in FUNCTIONS:
        lambda_minutes(cw, f"{short}-{dom}", steady, ms)
    print(f"alerts: {alerts(c['sns'], c['sqs'], dom)}")
    print(
        f"stack {domain} ready at {endpoint}; throttling injected for {minutes[0]:%H:%M}-{now:%H:%M} UTC, "
        f"steady Lambda durations for {steady[0]:%H:%M}-{now + datetime.timedelta(minutes=1):%H:%M}"
    )
    if stranded:
        print(f"stranded: {strand(c['sqs'], dom, stranded)}")


def reset(c: dict, domain: str, dom: str) -> str:
    """Deletes what an earlier run made, and the controller's state table; says what it deleted
    ("" when there was nothing)."""
    ddb, lam, sns, sqs = c["dynamodb"], c["lambda"], c["sns"], c["sqs"]
    gone = []
    existing = {name for page in ddb.get_paginator("list_tables").paginate() for name in page["TableNames"]}
    tables = [f"{short}.{domain}" for short in TABLES if f"{short}.{domain}" in existing]
    for name in tables:
        ddb.delete_table(TableName=name)
    if tables:
        gone.append(f"{len(tables)} tables")
    listed = function_names(lam)
    names = [f"{short}-{dom}" for short, *_ in FUNCTIONS if f"{short}-{dom}" in listed]
    for name in names:
        lam.delete_function(FunctionName=name)
    if names:
        gone.append(f"{len(names)} functions")
    for page in sns.get_paginator("list_topics").paginate():
        for t in page["Topics"]:
            if t["TopicArn"].rsplit(":", 1)[-1] == f"{dom}-alerts":
                sns.delete_topic(TopicArn=t["TopicArn"])
                gone.append(f"topic {dom}-alerts")
    for queue in [f"{dom}-alerts-inbox", f"{dom}-ingest-7", f"{dom}-7-index"]:
        try:
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            continue
        sqs.delete_queue(QueueUrl=url)
        gone.append(f"queue {queue}")
    state = f"remediator.{domain}"
    if state in existing:
        ddb.delete_table(TableName=state)
        gone.append(f"the controller's state table {state} (`remediator init` makes it again)")
    return ", ".join(gone)


def minute_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)


def set_to(cw, namespace: str, metric: str, dims: list, stat: str, targets: dict) -> int:
    """Sets each minute's `stat` ("Sum" or "Average") to its target with at most one datapoint:
    none when it is already there; returns how many datapoints were written."""

    def query(name: str, statistic: str) -> dict:
        return {
            "Id": name,
            "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dims},
                "Period": 60,
                "Stat": statistic,
            },
        }

    first, last = min(targets), max(targets)
    out = cw.get_metric_data(
        MetricDataQueries=[query("n", "SampleCount"), query("s", "Sum")],
        StartTime=first,
        EndTime=last + datetime.timedelta(minutes=1),
    )
    held = {r["Id"]: dict(zip(r["Timestamps"], r["Values"])) for r in out["MetricDataResults"]}
    data = []
    for t, target in sorted(targets.items()):
        n, total = held["n"].get(t, 0.0), held["s"].get(t, 0.0)
        current = total if stat == "Sum" else total / max(n, 1.0)
        if n > 0 and abs(current - target) < 1e-6:
            continue
        value = target - total if stat == "Sum" else target * (n + 1) - total
        data.append({"MetricName": metric, "Dimensions": dims, "Timestamp": t, "Value": value})
    if data:
        cw.put_metric_data(Namespace=namespace, MetricData=data)
    return len(data)


def drift(endpoint: str, domain: str) -> None:
    """tileUploadLambda's recent minutes at HIGH_RATIO × its steady duration; nothing else."""
    c = clients(endpoint)
    dom = domain.replace(".", "-")
    short, _, _, ms = next(f for f in FUNCTIONS if f[0] == HIGH_FUNCTION)
    function = f"{short}-{dom}"
    if function not in function_names(c["lambda"]):
        sys.exit(f"demo_stack.py: no {function} at {endpoint}: run demo_stack.py without --drift first")
    now = minute_now()
    minutes = [now - datetime.timedelta(minutes=m) for m in range(HIGH_MINUTES, -1, -1)]
    end = now + datetime.timedelta(minutes=1)
    written = lambda_minutes(c["cloudwatch"], function, minutes, ms * HIGH_RATIO)
    print(
        f"drift: {function} averaging {ms * HIGH_RATIO:.0f} ms ({HIGH_RATIO}× its steady {ms:.0f} ms) "
        f"for {minutes[0]:%H:%M}-{end:%H:%M} UTC ({written} datapoints written)"
    )


def lambda_minutes(cw, function: str, minutes: list, ms: float) -> int:
    """`Duration` averaging `ms` and `Invocations` in each minute; returns the datapoints written."""
    dims = [{"Name": "FunctionName", "Value": function}]
    return set_to(cw, "AWS/Lambda", "Duration", dims, "Average", {t: ms for t in minutes}) + set_to(
        cw, "AWS/Lambda", "Invocations", dims, "Sum", {t: INVOCATIONS_PER_MINUTE for t in minutes}
    )


def function_names(lam) -> set:
    return {f["FunctionName"] for page in lam.get_paginator("list_functions").paginate() for f in page["Functions"]}


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
    for short, timeout, memory, _ in FUNCTIONS:
        lam.create_function(
            FunctionName=f"{short}-{dom}",
            Runtime="python3.11",
            Role=arn,
            Handler="handler.handler",
            Code={"ZipFile": code.getvalue()},
            Timeout=timeout,
            MemorySize=memory,
        )


def alerts(sns, sqs, dom: str) -> str:
    """The alert topic and an inbox queue subscribed to it; returns the inbox URL."""
    topic = sns.create_topic(Name=f"{dom}-alerts")["TopicArn"]
    inbox = sqs.create_queue(QueueName=f"{dom}-alerts-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return f"topic {topic}, inbox {inbox}"


def strand(sqs, dom: str, count: int) -> str:
    """Job 7's ingest queue with `count` chunk messages; its tile-index queue empty."""
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
